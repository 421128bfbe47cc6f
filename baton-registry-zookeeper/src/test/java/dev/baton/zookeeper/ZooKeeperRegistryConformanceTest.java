package dev.baton.zookeeper;

import dev.baton.testkit.registry.RegistryConformanceTest;
import dev.baton.testkit.registry.RegistryUnderTest;

/** The registry conformance suite, against a real ZooKeeper server. */
class ZooKeeperRegistryConformanceTest extends RegistryConformanceTest {

    @Override
    protected RegistryUnderTest startRegistry() {
        return new ZooKeeperUnderTest();
    }
}
