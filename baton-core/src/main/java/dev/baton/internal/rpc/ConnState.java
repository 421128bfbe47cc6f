package dev.baton.internal.rpc;

import dev.baton.Caller;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.TransportConnection;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the runtime keeps per connection, attached to it: our calls sent on it that await a response (by
 * request id), the peer's requests being served here (for CANCEL and the concurrency limit), and whether the
 * connection is going away.
 *
 * <p>Both directions have a limit. Requests the peer may have in progress here are counted in
 * {@link #inProgress} ({@code maxConcurrentRequestsPerConnection}); calls we may have awaiting a response on it
 * are bounded by the limit the peer told in its handshake: a call goes into the pending table only while the
 * table holds fewer ({@link #addPendingWithin}, under the table's own lock, so it costs no extra atomic), so we
 * never send the peer a two-way request it would have to refuse, and a caller beyond the limit waits here
 * ({@link #awaitPendingRoom}) instead.
 *
 * <p>Thread-safe. The tables are {@link LongMap}s, whose monitors callers may hold to combine a lookup with
 * taking a reference.
 */
final class ConnState {

    final TransportConnection connection;
    private final LongMap<PendingCall> pending = new LongMap<>();
    private final Object roomMonitor = new Object();
    private volatile int roomWaiters;
    final LongMap<ServerCallImpl> serving = new LongMap<>();
    /** Streams this node opened on the connection, by request id, until they end. */
    final LongMap<ClientStreamImpl> clientStreams = new LongMap<>();
    /** The peer's streams served here, by its request id, until their handlers end them. */
    final LongMap<ServerStreamImpl> servedStreams = new LongMap<>();
    /** The peer's requests that hold a slot here (see {@link ServerCallImpl}). */
    final AtomicInteger inProgress = new AtomicInteger();
    /** The peer whose FrontEnd owns (or adopted) this connection; null for an inbound one it did not adopt. */
    private volatile Peer peer;
    private volatile boolean goingAway;
    /** The lane of its peer this connection serves ({@link ThreadLanes}), or -1 (one lane, or not a peer's). */
    private volatile int lane = -1;
    /** Set once a close-when-idle check runs for this connection (GOAWAY, the peer left). */
    private final AtomicBoolean closeScheduled = new AtomicBoolean();
    /** Who calls on this connection, made on first use (by an authorizer or a handler asking). */
    private volatile Caller caller;

    ConnState(TransportConnection connection, Peer peer) {
        this.connection = connection;
        this.peer = peer;
    }

    static ConnState of(TransportConnection c) {
        return (ConnState) c.attachment();
    }

    Peer peer() {
        return peer;
    }

    /** The process at the other end, as its handshake proved and said; the same instance for every call. */
    Caller caller() {
        Caller c = caller;
        if (c == null) {
            PeerIdentity id = connection.remoteIdentity();
            c = new Caller(id.nodeId(), id.rank(), NodeRuntime.role(id.role()), connection.remoteAddress(),
                    connection.peerPrincipal(), id.provedClusterSecret(), false);
            caller = c;
        }
        return c;
    }

    void adoptedBy(Peer p) {
        this.peer = p;
    }

    int lane() {
        return lane;
    }

    void lane(int lane) {
        this.lane = lane;
    }

    boolean goingAway() {
        return goingAway;
    }

    /** The peer said GOAWAY (or left): send it nothing new. */
    void markGoingAway() {
        goingAway = true;
    }

    /** True the first time: the caller schedules the close-when-idle check. */
    boolean scheduleClose() {
        return closeScheduled.compareAndSet(false, true);
    }

    /** True when neither side waits on this connection: no call of ours is pending, no request of theirs served. */
    boolean idle() {
        return pending.isEmpty() && inProgress.get() == 0;
    }

    // ------------------------------------------------------------------ our calls awaiting responses

    /**
     * Puts a two-way call in the pending table if the peer's limit leaves room ({@code limit} 0: none known, always
     * room); false when the peer already has that many of our calls.
     */
    boolean addPendingWithin(PendingCall call, int limit) {
        return pending.putIfBelow(call.requestId(), call, limit);
    }

    /** A call left the table: a caller waiting for room may go on. */
    private void releasePending() {
        if (roomWaiters > 0) {
            synchronized (roomMonitor) {
                roomMonitor.notifyAll();
            }
        }
    }

    /** Removes {@code call} if the table still holds it, giving its place back; true when this removed it. */
    boolean removePending(PendingCall call) {
        if (pending.remove(call.requestId(), call)) {
            releasePending();
            return true;
        }
        return false;
    }

    /**
     * Takes the call a response answers out of the table, with a reference of the caller's: it is still in the
     * table, so its owner has not released it yet. Null for an id no call waits on (a late response).
     */
    PendingCall takeForResponse(long requestId) {
        PendingCall call;
        synchronized (pending) {
            call = pending.remove(requestId);
            if (call != null) {
                call.retain();
            }
        }
        if (call != null) {
            releasePending();
        }
        return call;
    }

    /** After a close: takes out every call that was written (it may have run), each with a reference. */
    List<PendingCall> takeWritten() {
        List<PendingCall> lost = new ArrayList<>();
        synchronized (pending) {
            for (PendingCall call : pending.values()) {
                if (call.written() && pending.remove(call.requestId(), call)) {
                    call.retain();
                    lost.add(call);
                }
            }
        }
        for (int i = 0; i < lost.size(); i++) {
            releasePending();
        }
        return lost;
    }

    /** The handshake completed: callers waiting for it go on. */
    void opened() {
        if (roomWaiters > 0) {
            synchronized (roomMonitor) {
                roomMonitor.notifyAll();
            }
        }
    }

    /**
     * Waits until the handshake completed (the peer told its limits), the deadline passed or the connection
     * closed; true when it is open.
     */
    boolean awaitOpen(long deadlineNanos) throws InterruptedException {
        synchronized (roomMonitor) {
            roomWaiters++;
            try {
                while (connection.remoteIdentity() == null) {
                    long waitNs = deadlineNanos - System.nanoTime();
                    if (waitNs <= 0 || !connection.isOpen()) {
                        return false;
                    }
                    long sliceNs = Math.min(waitNs, 10_000_000L);
                    roomMonitor.wait(Math.max(1, sliceNs / 1_000_000L), (int) (sliceNs % 1_000_000L));
                }
                return connection.isOpen();
            } finally {
                roomWaiters--;
            }
        }
    }

    /** Waits until the peer's limit leaves room for one more call, the deadline passes or the connection closes. */
    boolean awaitPendingRoom(int limit, long deadlineNanos) throws InterruptedException {
        synchronized (roomMonitor) {
            roomWaiters++;
            try {
                while (pending.size() >= limit) {
                    long waitNs = deadlineNanos - System.nanoTime();
                    if (waitNs <= 0 || !connection.isOpen()) {
                        return false;
                    }
                    // Bounded slices: a close is noticed without a notify from the transport.
                    long sliceNs = Math.min(waitNs, 10_000_000L);
                    roomMonitor.wait(Math.max(1, sliceNs / 1_000_000L), (int) (sliceNs % 1_000_000L));
                }
                return true;
            } finally {
                roomWaiters--;
            }
        }
    }

    // ------------------------------------------------------------------ their requests served here

    /** A CANCEL for {@code requestId}: the call, if still served, is cancelled (its slot freed when it can be). */
    void cancelServed(long requestId) {
        ServerCallImpl sc;
        synchronized (serving) {     // a call leaves the table before it is recycled
            sc = serving.get(requestId);
            if (sc != null) {
                sc.retain();
            }
        }
        if (sc != null) {
            try {
                sc.cancel();
            } finally {
                sc.release();
            }
        }
    }

    /** After a close: every request still served here is cancelled. */
    void cancelAllServed() {
        List<ServerCallImpl> all;
        synchronized (serving) {
            all = serving.values();
            for (ServerCallImpl sc : all) {
                sc.retain();
            }
        }
        for (ServerCallImpl sc : all) {
            try {
                sc.cancel();
            } finally {
                sc.release();
            }
        }
    }
}
