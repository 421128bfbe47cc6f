package dev.baton.spi;

import dev.baton.NodeInfo;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.function.Function;

/**
 * A way to move frames between nodes: TCP today, shared memory, TLS or RDMA tomorrow. A transport owns its
 * threads and connections. Created by a {@link TransportFactory} for one node.
 *
 * <p>Thread-safe. {@link #close()} closes every connection and stops every thread; it is idempotent.
 */
public interface Transport extends AutoCloseable {

    /** Starts accepting connections on {@code bind} (port 0 picks a free port); returns the bound address. */
    InetSocketAddress listen(InetSocketAddress bind) throws IOException;

    /**
     * Starts connecting to {@code remote} and returns at once. {@code attachment} is applied to the new
     * connection before any event for it can fire, and its result attached. Frames may be offered
     * immediately; they are sent once the handshake completes, or dropped with UNAVAILABLE if it fails.
     */
    TransportConnection connect(InetSocketAddress remote, Function<TransportConnection, Object> attachment);

    /**
     * Starts connecting to the member {@code node}, as {@link #connect(InetSocketAddress, Function)} does. The node
     * connects to its peers this way, so a transport that reaches some nodes by another path (shared memory for
     * a node with this {@link dev.baton.NodeInfo#hostId() host}) chooses it here; the default connects to the
     * node's address.
     */
    default TransportConnection connect(NodeInfo node, Function<TransportConnection, Object> attachment) {
        return connect(node.address(), attachment);
    }

    /**
     * How this transport reaches {@code connection}'s peer, for {@link dev.baton.NodeStats} and logs: "tcp",
     * "shm"... The default is the transport's kind for all its connections.
     */
    default String pathOf(TransportConnection connection) {
        return "tcp";
    }

    /** True when the calling thread is one of this transport's I/O threads (which must never block). */
    boolean inTransportThread();

    /** Counters since start. */
    TransportStats stats();

    @Override
    void close();
}
