package dev.baton.testkit.registry.master;

import dev.baton.testkit.registry.RegistryConformanceTest;
import dev.baton.testkit.registry.RegistryUnderTest;

/** The master passes the registry conformance suite. */
class MasterRegistryConformanceTest extends RegistryConformanceTest {

    @Override
    protected RegistryUnderTest startRegistry() {
        return new MasterUnderTest();
    }
}
