package dev.baton.zookeeper;

import dev.baton.testkit.registry.RegistryConformanceTest;
import dev.baton.testkit.registry.RegistryUnderTest;
import org.junit.jupiter.api.AfterAll;

import java.io.IOException;

/**
 * The registry conformance suite against a three-member ZooKeeper ensemble in this JVM (Curator's
 * {@code TestingCluster}): each node is connected to all three members, and a restart stops and starts them all.
 * The tests share one ensemble, each under a root of its own ({@link ZooKeeperUnderTest#shared}).
 */
class ZooKeeperEnsembleConformanceTest extends RegistryConformanceTest {

    @AfterAll
    static void stopTheServers() throws IOException {
        ZooKeeperUnderTest.closeShared();
    }

    @Override
    protected RegistryUnderTest startRegistry() {
        return ZooKeeperUnderTest.shared(true);
    }
}
