package dev.baton.internal.rpc;

import dev.baton.BatonException;
import dev.baton.NodeInfo;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;

import java.util.ArrayList;
import java.util.List;

/**
 * prpc's FrontEnd: the way to one remote node, over one or more lanes ({@code NodeOptions.lanes}), each a connection
 * of its own. A lane connects on first use by a thread that calls on it ({@link ThreadLanes}), reconnects with
 * exponential backoff (100 ms doubling to 5 s) after failures, and a lane without a connection adopts one the remote
 * node opened to us, so connections carry calls in both directions.
 *
 * <p>The peer as a whole: it is available while any lane is (a thread whose lane backs off calls on another open
 * lane); a GOAWAY that says the node is leaving, on any lane, stops new calls on every lane ({@link #leave}); a GOAWAY
 * for one connection only releases that lane, which connects again on its next call.
 *
 * <p>Thread-safe: a lane's connection is read without a lock on the hot path; connecting and every change take the
 * peer's lock.
 */
final class Peer {

    private static final long MIN_BACKOFF_NS = 100_000_000L;
    private static final long MAX_BACKOFF_NS = 5_000_000_000L;

    /** One connection's place: the connection, or how long to wait before connecting again. */
    private static final class Lane {
        final int index;
        volatile TransportConnection connection;
        volatile long retryAtNanos;
        int failures;

        Lane(int index) {
            this.index = index;
        }

        /** Under the peer's lock. */
        void use(TransportConnection c, int lanes) {
            connection = c;
            if (lanes > 1) {
                ConnState.of(c).lane(index);
            }
        }
    }

    final int rank;
    /** The node incarnation this peer reaches; a new process with the same rank gets a new Peer. */
    final long nodeId;
    private final Transport transport;
    private final ThreadLanes threadLanes;
    private final Lane[] lanes;
    private volatile BatonException lastFailure;
    private volatile NodeInfo node;
    private volatile boolean closed;
    /** The peer said GOAWAY (leaving) on some lane: no new call on any. */
    private volatile boolean leaving;

    Peer(NodeInfo node, Transport transport, int lanes, ThreadLanes threadLanes) {
        this.rank = node.rank();
        this.nodeId = node.nodeId();
        this.node = node;
        this.transport = transport;
        this.threadLanes = threadLanes;
        this.lanes = new Lane[lanes];
        for (int i = 0; i < lanes; i++) {
            this.lanes[i] = new Lane(i);
        }
    }

    /** Why the last connection to this peer closed, if one did: what a caller refused while backing off is told. */
    BatonException lastFailure() {
        return lastFailure;
    }

    /** The node this peer reaches, as the membership last described it. */
    NodeInfo node() {
        return node;
    }

    /** The same node incarnation, joined again (perhaps at a new address). */
    void node(NodeInfo node) {
        this.node = node;
    }

    /**
     * The calling thread's lane's open connection, connecting if allowed; while that lane cannot (backing off),
     * another lane's open connection; null while every lane backs off, or closed, leaving, or with no address.
     */
    TransportConnection connection() {
        Lane own = lanes[threadLanes.laneOf(lanes.length)];
        TransportConnection c = own.connection;
        if (usable(c) && !leaving) {
            return c;
        }
        synchronized (this) {
            c = connect(own);
            if (c != null || lanes.length == 1 || leaving) {
                return c;
            }
            for (Lane l : lanes) {
                if (usable(l.connection)) {
                    return l.connection;
                }
            }
            return null;
        }
    }

    /** Under the lock. */
    private TransportConnection connect(Lane l) {
        TransportConnection c = l.connection;
        if (leaving) {
            return null;
        }
        if (usable(c)) {
            return c;
        }
        if (c != null && c.isOpen()) {
            return null;    // the peer said GOAWAY on it: it is leaving, send it nothing new
        }
        if (closed || node.address() == null || System.nanoTime() - l.retryAtNanos < 0) {
            return null;
        }
        c = transport.connect(node, conn -> new ConnState(conn, this));
        l.use(c, lanes.length);
        return c;
    }

    private static boolean usable(TransportConnection c) {
        return c != null && c.isOpen() && !((ConnState) c.attachment()).goingAway();
    }

    /** False while every lane backs off after a failure, or leaving (load balancing skips the peer). */
    boolean available() {
        if (closed || leaving) {
            return false;
        }
        long now = 0;       // the clock is read only when a lane has no usable connection (not on the hot path)
        for (Lane l : lanes) {
            TransportConnection c = l.connection;
            if (usable(c)) {
                return true;
            }
            if (c == null || !c.isOpen()) {
                if (now == 0) {
                    now = System.nanoTime();
                }
                if (now - l.retryAtNanos >= 0) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Uses an inbound connection from this peer on a lane that has none. */
    synchronized boolean adopt(TransportConnection inbound) {
        if (closed) {
            return false;
        }
        for (Lane l : lanes) {
            TransportConnection c = l.connection;
            if (c == null || !c.isOpen()) {
                l.use(inbound, lanes.length);
                l.failures = 0;
                l.retryAtNanos = 0;
                return true;
            }
        }
        return false;
    }

    private Lane laneOf(TransportConnection c) {
        for (Lane l : lanes) {
            if (l.connection == c) {
                return l;
            }
        }
        return null;
    }

    synchronized void onOpened(TransportConnection c) {
        Lane l = laneOf(c);
        if (l != null) {
            l.failures = 0;
            l.retryAtNanos = 0;
        }
    }

    synchronized void onClosed(TransportConnection c) {
        Lane l = laneOf(c);
        if (l == null) {
            return;
        }
        l.connection = null;
        BatonException cause = c.closeCause();
        if (cause != null) {
            lastFailure = cause;
        }
        long backoff = Math.min(MAX_BACKOFF_NS, MIN_BACKOFF_NS << Math.min(l.failures, 6));
        l.failures++;
        l.retryAtNanos = System.nanoTime() + backoff;
    }

    /**
     * The peer closes {@code c} without leaving (a GOAWAY for that connection only): the lane's next call connects
     * again, at once, while {@code c} drains.
     */
    synchronized void release(TransportConnection c) {
        Lane l = laneOf(c);
        if (l != null) {
            l.connection = null;
        }
    }

    /** No new connections; the current ones stay for the calls already on them. */
    synchronized void retire() {
        closed = true;
    }

    /** The peer said it is leaving (GOAWAY on one lane): no new connection, and no new call on any lane. */
    synchronized void leave() {
        closed = true;
        leaving = true;
    }

    /** The first open connection (else the first lane's, open or not; null if none): how the peer is reached. */
    TransportConnection current() {
        TransportConnection first = null;
        for (Lane l : lanes) {
            TransportConnection c = l.connection;
            if (c != null && c.isOpen()) {
                return c;
            }
            if (first == null) {
                first = c;
            }
        }
        return first;
    }

    /** Every lane's connection, open or not. */
    List<TransportConnection> connections() {
        List<TransportConnection> all = new ArrayList<>(lanes.length);
        for (Lane l : lanes) {
            TransportConnection c = l.connection;
            if (c != null) {
                all.add(c);
            }
        }
        return all;
    }

    void close() {
        List<TransportConnection> open;
        synchronized (this) {
            closed = true;
            open = connections();
            for (Lane l : lanes) {
                l.connection = null;
            }
        }
        for (TransportConnection c : open) {
            c.close();
        }
    }

    @Override
    public String toString() {
        return "Peer[rank " + rank + " at " + node.address() + (lanes.length > 1 ? ", " + lanes.length + " lanes" : "")
                + "]";
    }
}
