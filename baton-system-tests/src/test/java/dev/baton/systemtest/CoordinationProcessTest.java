package dev.baton.systemtest;

import dev.baton.testkit.ChildJvm;
import dev.baton.zookeeper.LocalZooKeeper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.baton.systemtest.SystemTests.awaitAddress;

/** The coordination scenarios ({@link CoordinationScenarios}) through each registry, every party a process. */
class CoordinationProcessTest {

    private static final AtomicInteger CLUSTERS = new AtomicInteger();

    @Nested
    class ThroughTheMaster extends CoordinationScenarios {
        @Override
        String startRegistry(SystemTests.ChildGroup children) throws Exception {
            return awaitAddress(children.add(ChildJvm.start("master", MasterMain.class)));
        }
    }

    @Nested
    class ThroughZooKeeper extends CoordinationScenarios {
        private LocalZooKeeper zookeeper;

        @Override
        String startRegistry(SystemTests.ChildGroup children) throws Exception {
            zookeeper = new LocalZooKeeper(1, Duration.ofMillis(200));
            zookeeper.startAll();
            return SystemTests.ZOOKEEPER + zookeeper.connectString() + "/baton/coordination-"
                    + CLUSTERS.incrementAndGet();
        }

        @AfterEach
        void stopZooKeeper() throws Exception {
            if (zookeeper != null) {
                zookeeper.close();
            }
        }
    }
}
