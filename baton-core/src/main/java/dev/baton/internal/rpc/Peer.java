package dev.baton.internal.rpc;

import dev.baton.NodeInfo;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;

/**
 * prpc's FrontEnd: the way to one remote node. Connects on first use, reconnects with exponential backoff
 * (100 ms doubling to 5 s) after failures, and adopts a connection the remote node opened to us, so one
 * connection carries calls in both directions.
 *
 * <p>Thread-safe: the connection is read without a lock on the hot path; connecting takes the peer's lock.
 */
final class Peer {

    private static final long MIN_BACKOFF_NS = 100_000_000L;
    private static final long MAX_BACKOFF_NS = 5_000_000_000L;

    final int rank;
    /** The node incarnation this peer reaches; a new process with the same rank gets a new Peer. */
    final long nodeId;
    private final Transport transport;
    private volatile NodeInfo node;
    private volatile TransportConnection connection;
    private volatile long retryAtNanos;
    private int failures;
    private volatile boolean closed;

    Peer(NodeInfo node, Transport transport) {
        this.rank = node.rank();
        this.nodeId = node.nodeId();
        this.node = node;
        this.transport = transport;
    }

    /** The same node incarnation, joined again (perhaps at a new address). */
    void node(NodeInfo node) {
        this.node = node;
    }

    /** The open connection, connecting if allowed; null while backing off, closed, or with no address. */
    TransportConnection connection() {
        TransportConnection c = connection;
        if (usable(c)) {
            return c;
        }
        synchronized (this) {
            c = connection;
            if (usable(c)) {
                return c;
            }
            if (c != null && c.isOpen()) {
                return null;    // the peer said GOAWAY: it is leaving, send it nothing new
            }
            if (closed || node.address() == null || System.nanoTime() - retryAtNanos < 0) {
                return null;
            }
            c = transport.connect(node, conn -> new ConnState(conn, this));
            connection = c;
            return c;
        }
    }

    private static boolean usable(TransportConnection c) {
        return c != null && c.isOpen() && !((ConnState) c.attachment()).goingAway();
    }

    /** False while backing off after a failure, or leaving (load balancing skips the peer). */
    boolean available() {
        TransportConnection c = connection;
        if (closed || (c != null && c.isOpen() && !usable(c))) {
            return false;
        }
        return usable(c) || System.nanoTime() - retryAtNanos >= 0;
    }

    /** Uses an inbound connection from this peer when we have none. */
    synchronized boolean adopt(TransportConnection inbound) {
        TransportConnection c = connection;
        if (closed || (c != null && c.isOpen())) {
            return false;
        }
        connection = inbound;
        failures = 0;
        retryAtNanos = 0;
        return true;
    }

    synchronized void onOpened(TransportConnection c) {
        if (c == connection) {
            failures = 0;
            retryAtNanos = 0;
        }
    }

    synchronized void onClosed(TransportConnection c) {
        if (c != connection) {
            return;
        }
        connection = null;
        long backoff = Math.min(MAX_BACKOFF_NS, MIN_BACKOFF_NS << Math.min(failures, 6));
        failures++;
        retryAtNanos = System.nanoTime() + backoff;
    }

    /**
     * The peer closes {@code c} without leaving (a GOAWAY for that connection only): the next call connects again,
     * at once, while {@code c} drains.
     */
    synchronized void release(TransportConnection c) {
        if (c == connection) {
            connection = null;
        }
    }

    /** No new connections; the current one stays for the calls already on it. */
    synchronized void retire() {
        closed = true;
    }

    /** The current connection, open or not (null if none). */
    TransportConnection current() {
        return connection;
    }

    void close() {
        TransportConnection c;
        synchronized (this) {
            closed = true;
            c = connection;
            connection = null;
        }
        if (c != null) {
            c.close();
        }
    }

    @Override
    public String toString() {
        return "Peer[rank " + rank + " at " + node.address() + "]";
    }
}
