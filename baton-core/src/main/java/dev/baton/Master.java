package dev.baton;

import dev.baton.internal.master.MasterServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;

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

    /** Starts a master on 127.0.0.1:{@code port} (0 picks a free port). */
    public static Master start(int port) {
        return start(new InetSocketAddress("127.0.0.1", port));
    }

    /** Starts a master listening on {@code bind}. */
    public static Master start(InetSocketAddress bind) {
        try {
            return new Master(MasterServer.start(bind));
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
