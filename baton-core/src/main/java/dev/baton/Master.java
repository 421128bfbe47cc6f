package dev.baton;

import dev.baton.spi.BatonProvider;
import dev.baton.spi.RegistryFactory;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * The registry every node joins: it assigns ranks and server ids and pushes membership changes to every node as
 * versioned events, and serves coordination (barriers, locks, ids, key/values). Embedded
 * ({@code Master.start(0)}) or as a daemon ({@code bin/baton master}).
 *
 * <p>Keeps its state in memory. Thread-safe; {@link #close()} is idempotent and disconnects every node.
 */
public interface Master extends AutoCloseable {

    /** The default lease: a node silent (no ping) for this long is removed from the membership. */
    Duration DEFAULT_LEASE_TIMEOUT = Duration.ofSeconds(3);

    /** Starts a master on 127.0.0.1:{@code port} (0 picks a free port). */
    static Master start(int port) {
        return start(MasterOptions.builder().port(port).build());
    }

    /** Starts a master listening on {@code bind}, with the default lease timeout. */
    static Master start(InetSocketAddress bind) {
        return start(MasterOptions.builder().bind(bind).build());
    }

    /**
     * Starts a master listening on {@code bind}. A node holds its membership by a lease over its master connection:
     * it pings every third of {@code leaseTimeout}; a node the master hears nothing from for {@code leaseTimeout}
     * (crashed, frozen, cut off) is removed, and every node is told.
     */
    static Master start(InetSocketAddress bind, Duration leaseTimeout) {
        return start(MasterOptions.builder().bind(bind).leaseTimeout(leaseTimeout).build());
    }

    /** Starts a master as {@code options} say; throws {@link java.io.UncheckedIOException} if it cannot listen. */
    static Master start(MasterOptions options) {
        return BatonProvider.get().startMaster(options);
    }

    /**
     * The registry of a node that joins through the master at {@code master}: what {@link NodeOptions.Builder#master}
     * sets, for code that works with {@link RegistryFactory registry factories} (a registry conformance test, say).
     */
    static RegistryFactory registry(InetSocketAddress master) {
        return BatonProvider.get().masterRegistry(master);
    }

    /** The address nodes connect to. */
    InetSocketAddress address();

    /** The current membership as the master sees it. */
    Membership membership();

    /**
     * How long since the master last heard from each node, by rank: a node renews its lease (pings) every third
     * of the lease timeout, so an age near the timeout means the node is about to be removed. A node whose
     * connection cannot tell is left out.
     */
    java.util.SortedMap<Integer, Duration> leaseAges();

    /** What its coordination holds now: locks and their holders, barriers and who has arrived, id counters. */
    CoordinationState coordinationState();

    @Override
    void close();
}
