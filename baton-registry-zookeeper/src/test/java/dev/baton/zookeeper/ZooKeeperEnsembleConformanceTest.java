package dev.baton.zookeeper;

import dev.baton.testkit.registry.RegistryConformanceTest;
import dev.baton.testkit.registry.RegistryUnderTest;

/**
 * The registry conformance suite against a three-member ZooKeeper ensemble in this JVM (Curator's
 * {@code TestingCluster}): each node is connected to all three members, and a restart stops and starts them all.
 */
class ZooKeeperEnsembleConformanceTest extends RegistryConformanceTest {

    @Override
    protected RegistryUnderTest startRegistry() {
        return new ZooKeeperUnderTest(true);
    }
}
