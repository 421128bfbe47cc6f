package dev.baton.testkit.registry;

import dev.baton.spi.Registry;
import dev.baton.spi.RegistryFactory;

import java.time.Duration;

/**
 * One running registry, as {@link RegistryConformanceTest} drives it: the fixture a registry implementation
 * provides, holding exactly what differs from one registry to another. The suite makes one per test
 * ({@link RegistryConformanceTest#startRegistry()}) and closes it after the test.
 *
 * <p>For the master: a {@code Master} on a fixed address with a short lease; for ZooKeeper: a test server and
 * the factory of a registry on it.
 *
 * <h2>Threads</h2>
 * The suite calls these methods from the test thread only, one at a time.
 */
public interface RegistryUnderTest extends AutoCloseable {

    /**
     * Makes the registry of one node: the suite creates registries from it directly (to test at the
     * {@link Registry} level) and passes it to {@code NodeOptions.builder().registry(...)}. Every registry
     * it makes must also be accepted by {@link #cutOff}.
     */
    RegistryFactory factory();

    /**
     * Takes the registry away, as a crash would: every node loses its connection or session to it, and
     * nothing can join. What the registry remembers when it comes back is its own business (the master forgets
     * everything). Returns once it no longer serves.
     */
    void stop();

    /**
     * Brings the registry back after {@link #stop()}, where the nodes' registries look for it (the same
     * address). Returns once it serves again.
     */
    void start();

    /**
     * Cuts the node whose registry is {@code registry} (made by {@link #factory()}) off from the registry, as
     * a frozen process or a partition would: it stops renewing its session, and cannot reach the registry
     * until the returned handle is closed (it may then try to come back on its own). The node's data
     * connections to other nodes are not affected. Closing the handle is idempotent.
     */
    AutoCloseable cutOff(Registry registry);

    /**
     * The most time between {@link #cutOff} and the moment every other node has been told that the node left
     * (its servers removed, then the node): the session or lease timeout plus the time to notice and
     * propagate. Also bounds how long a lock of that node stays held.
     */
    Duration sessionExpiry();

    /** Stops the registry for good (whether started or stopped) and releases everything. Idempotent. */
    @Override
    void close();
}
