package dev.baton.zookeeper;

import dev.baton.testkit.registry.RegistryConformanceTest;
import dev.baton.testkit.registry.RegistryUnderTest;
import org.junit.jupiter.api.AfterAll;

import java.io.IOException;

/**
 * The registry conformance suite against a standalone ZooKeeper server in this JVM, which the tests share, each under
 * a root of its own ({@link ZooKeeperUnderTest#shared}).
 */
class ZooKeeperRegistryConformanceTest extends RegistryConformanceTest {

    @AfterAll
    static void stopTheServers() throws IOException {
        ZooKeeperUnderTest.closeShared();
    }

    @Override
    protected RegistryUnderTest startRegistry() {
        return ZooKeeperUnderTest.shared(false);
    }
}
