package dev.baton.zookeeper;

import dev.baton.testkit.registry.RegistryConformanceTest;
import dev.baton.testkit.registry.RegistryUnderTest;

/** The registry conformance suite against a standalone ZooKeeper server in this JVM. */
class ZooKeeperRegistryConformanceTest extends RegistryConformanceTest {

    @Override
    protected RegistryUnderTest startRegistry() {
        return new ZooKeeperUnderTest();
    }
}
