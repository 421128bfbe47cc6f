package dev.baton;

import dev.baton.internal.master.MasterServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * The registry every node joins: it assigns ranks and server ids and pushes membership changes to every
 * node as versioned events. Embedded ({@code Master.start(0)}) or as a daemon ({@code bin/baton master}).
 *
 * <p>Keeps its state in memory. Thread-safe; {@link #close()} is idempotent and disconnects every node.
 */
public final class Master implements AutoCloseable {

    private final MasterServer server;

    private Master(MasterServer server) {
        this.server = server;
    }

    /** The default lease: a node silent (no ping) for this long is removed from the membership. */
    public static final Duration DEFAULT_LEASE_TIMEOUT = Duration.ofSeconds(3);

    /** Starts a master on 127.0.0.1:{@code port} (0 picks a free port). */
    public static Master start(int port) {
        return start(new InetSocketAddress("127.0.0.1", port));
    }

    /** Starts a master listening on {@code bind}, with the default lease timeout. */
    public static Master start(InetSocketAddress bind) {
        return start(bind, DEFAULT_LEASE_TIMEOUT);
    }

    /**
     * Starts a master listening on {@code bind}. A node holds its membership by a lease over its master
     * connection: it pings every third of {@code leaseTimeout}; a node the master hears nothing from for
     * {@code leaseTimeout} (crashed, frozen, cut off) is removed, and every node is told.
     */
    public static Master start(InetSocketAddress bind, Duration leaseTimeout) {
        if (leaseTimeout.toMillis() < 300) {
            throw new IllegalArgumentException("leaseTimeout must be at least 300 ms, was " + leaseTimeout);
        }
        try {
            return new Master(MasterServer.start(bind, leaseTimeout.toMillis()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start master on " + bind + ": " + e.getMessage(), e);
        }
    }

    /** The address nodes connect to. */
    public InetSocketAddress address() {
        return server.address();
    }

    /** The current membership as the master sees it. */
    public Membership membership() {
        return server.membership();
    }

    @Override
    public void close() {
        server.close();
    }
}
