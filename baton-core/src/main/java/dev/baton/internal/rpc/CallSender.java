package dev.baton.internal.rpc;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.ClientInterceptor;
import dev.baton.ResponseListener;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.spi.CallRecorder;
import dev.baton.spi.CallScope;
import dev.baton.spi.FrameType;
import dev.baton.spi.ObjectPool;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;
import dev.baton.spi.TransportConnection;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;

/**
 * Sends calls: creates each {@link PendingCall}, has {@link CallRouter} pick its server, and hands it over, in
 * process ({@link InboundDispatcher#serveInProcess}) or as a frame on the peer's connection, waiting for room
 * when the connection pushes back. Re-routes calls whose attempt never ran. The {@link CallHost} its calls
 * talk to.
 *
 * <h2>Back-pressure</h2>
 * A connection pushes back in two ways: its send queue is full of requests ({@code BACK_PRESSURED}), or the peer
 * already has as many of our two-way calls as it serves at once (the limit its handshake told). Either way the
 * call waits for room up to its deadline, unless it is fail-fast, a re-route, or made on a transport thread:
 * those fail at once with RESOURCE_EXHAUSTED (retry-safe).
 */
final class CallSender implements CallHost {

    private static final System.Logger LOG = System.getLogger(CallSender.class.getName());

    private final NodeRuntime node;
    private final PeerTable peers;
    private final InboundDispatcher inbound;
    private final NodeCounters counters;
    private final DeadlineTimer timer;
    private final long defaultTimeoutNs;
    private final int maxMessageSize;
    private final Map<String, AtomicInteger> cursors = new ConcurrentHashMap<>();
    /** Told of every call's end, for metrics; null (the common case) costs one read. */
    private volatile CallRecorder recorder;
    private final ObjectPool<PendingCall> callPool = new ObjectPool<>(4096);
    /** Whether a rank may be called now; one instance (a method reference made per call would be garbage). */
    private final IntPredicate reachable;
    /** Failures the timer claimed this round, delivered together on the handler executor (timer thread only). */
    private PendingCall deliveries;

    /** Whether blocking callers spin (and poll their connection) before they park: {@code callerSpin} > 0. */
    private final boolean callerSpins;

    CallSender(NodeRuntime node, PeerTable peers, InboundDispatcher inbound, NodeCounters counters, DeadlineTimer timer) {
        this.node = node;
        this.callerSpins = node.options().callerSpin().toNanos() > 0;
        this.peers = peers;
        this.inbound = inbound;
        this.counters = counters;
        this.timer = timer;
        this.defaultTimeoutNs = node.options().defaultTimeout().toNanos();
        this.maxMessageSize = node.options().maxMessageSize();
        this.reachable = peers::available;
    }

    /** The round-robin cursor of {@code service}, shared by every client of it on this node. */
    AtomicInteger cursor(String service) {
        return cursors.computeIfAbsent(service, s -> new AtomicInteger());
    }

    long callsInFlight() {
        return counters.callsInFlight();
    }

    /**
     * Creates and routes a call. Errors known up front complete it at once. The caller holds the starter's
     * reference on the returned call and must {@link PendingCall#release} it when done looking at it.
     */
    PendingCall start(String service, AtomicInteger cursor, ClientInterceptor[] interceptors, int method,
                      ByteBuffer request, CallOptions opts, int mode, ResponseListener listener) {
        return start(service, cursor, interceptors, method, request, opts, mode, listener, null);
    }

    /** Like the other, for a call that opens {@code stream} (mode FUTURE) when it is not null. */
    PendingCall start(String service, AtomicInteger cursor, ClientInterceptor[] interceptors, int method,
                      ByteBuffer request, CallOptions opts, int mode, ResponseListener listener,
                      ClientStreamImpl stream) {
        long now = System.nanoTime();
        ClientInterception interception = null;
        if (interceptors.length != 0) {
            interception = ClientInterception.run(interceptors, service, method, opts);
            opts = interception.result();
        }
        long timeoutNs = opts.timeout() != null ? opts.timeout().toNanos() : defaultTimeoutNs;
        long deadline = now + timeoutNs;
        CallScope scope = opts.scope();
        if (scope != null && scope.deadlineNanos() - deadline < 0) {
            deadline = scope.deadlineNanos();       // the served call's deadline bounds this one
        }
        PendingCall call = mode == PendingCall.FUTURE ? null : callPool.poll();
        if (call == null) {
            call = new PendingCall(this);
        }
        call.init(service, opts, method, request, counters.callStarted(), now, deadline, mode, listener,
                callPool.homeStripe(), interception == null ? null : interception.observers());
        if (stream != null) {
            call.stream = stream;
            stream.flow().deadline(deadline);
        }
        if (node.isClosed()) {
            call.fail(Status.of(Status.Code.CLOSED, "node is closed").withRetrySafe(true));
            return call;
        }
        if (interception != null && interception.refusal() != null) {
            call.fail(interception.refusal());
            return call;
        }
        if (scope != null && !attach(call, scope, now)) {
            return call;
        }
        if (method < 0 || method > 0xFFFF) {
            call.fail(Status.of(Status.Code.INVALID_ARGUMENT, "method must be between 0 and 65535, was " + method));
            return call;
        }
        if (request.remaining() + (long) call.requestMetadataSize() > maxMessageSize) {
            call.fail(Status.of(Status.Code.MESSAGE_TOO_LARGE, "request of " + request.remaining()
                    + " bytes" + withMetadata(call) + " exceeds the maximum message size " + maxMessageSize)
                    .withRetrySafe(true));
            return call;
        }
        timer.add(call.deadline);
        ServerInfo target = choose(call, cursor, false);
        if (target == null) {
            call.fail(CallRouter.noRoute(peers.membership(), service, opts));
            return call;
        }
        if (mode == PendingCall.BLOCKING && callerSpins) {
            call.prePollThread = Thread.currentThread();
        }
        try {
            send(call, target, now);
        } catch (RuntimeException | Error e) {
            stopPrePolling(call);
            throw e;
        } finally {
            call.prePollThread = null;
        }
        return call;
    }

    /** Ends the polling the starting thread began for {@code call}, if it did. That thread only. */
    private static void stopPrePolling(PendingCall call) {
        TransportConnection c = call.prePolled;
        if (c != null) {
            call.prePolled = null;
            c.pollingStopped();
        }
    }

    /** Puts the call under the served call it is made for; false (the call failed) when that one already ended. */
    private static boolean attach(PendingCall call, CallScope scope, long now) {
        if (call.deadlineNanos() - now <= 0) {
            call.fail(Status.of(Status.Code.DEADLINE_EXCEEDED, "the deadline of the call being served had passed")
                    .withRetrySafe(true));
            return false;
        }
        Status cancelled = scope instanceof ServerCallScope s ? s.attach(call)
                : scope.isCancelled() ? Status.of(Status.Code.CANCELLED, "the call being served was cancelled") : null;
        if (cancelled != null) {
            call.fail(cancelled.withRetrySafe(true));       // never sent
            return false;
        }
        return true;
    }

    /** The server for the call's next attempt, or null; see {@link CallRouter}. */
    private ServerInfo choose(PendingCall call, AtomicInteger cursor, boolean strictAvoid) {
        return CallRouter.route(peers.membership(), call.service(), call.options(), call.lastRank(), strictAvoid,
                node.rank(), reachable, cursor);
    }

    /** Sends the attempt to {@code target}: in process, or over the peer's connection. */
    private void send(PendingCall call, ServerInfo target, long now) {
        call.target(target.rank());
        if (target.rank() == node.rank()) {
            counters.localCall();
            call.dispatchedLocally();
            inbound.serveInProcess(call, target, target.rank());
        } else {
            sendRemote(call, target, now);
        }
    }

    private void sendRemote(PendingCall call, ServerInfo target, long now) {
        Peer p = peers.peer(target.rank());
        TransportConnection c = p == null ? null : p.connection();
        if (c == null) {
            BatonException why = p == null ? null : p.lastFailure();
            reroute(call, Status.of(Status.Code.UNAVAILABLE, "rank " + target.rank() + " is unreachable (backing off"
                    + (why == null ? ")" : " after: " + why.getMessage() + ")")));
            return;
        }
        ConnState cs = ConnState.of(c);
        long left = call.deadlineNanos() - now;
        if (left <= 0) {
            call.fail(Status.of(Status.Code.DEADLINE_EXCEEDED, "the deadline passed before the call was sent"));
            return;
        }
        PeerIdentity id = c.remoteIdentity();
        if (id == null && mayWait(call)) {
            // A new connection: wait for its handshake, which tells the peer's limits, rather than queue requests
            // the peer may have to refuse. (A caller that must not wait queues them; the peer refuses the excess,
            // retry-safe.)
            id = awaitHandshake(call, cs, target.rank());
            if (id == null) {
                return;
            }
        }
        if (id != null && call.request().remaining() + (long) call.requestMetadataSize() > id.maxMessageSize()) {
            call.fail(Status.of(Status.Code.MESSAGE_TOO_LARGE, "request of " + call.request().remaining()
                    + " bytes" + withMetadata(call) + " exceeds rank " + target.rank() + "'s maximum message size "
                    + id.maxMessageSize()).withRetrySafe(true));
            return;
        }
        if (id != null && call.requestMetadataSize() != 0 && !id.speaksMetadata()) {
            call.fail(Status.of(Status.Code.UNIMPLEMENTED, "rank " + target.rank() + " speaks protocol version "
                    + id.protocolVersion() + ", which carries no metadata; the call has " + call.options().metadata())
                    .withRetrySafe(true));
            return;
        }
        if (call.stream != null && !openStreamOn(call, cs, id, target)) {
            return;
        }
        call.setHeader(FrameType.REQUEST, call.requestFlags(), 0, call.requestId(), target.serviceId(),
                target.serverId(), call.method(), left);
        call.setEncoding(call.options().compression().id());     // the transport compresses when it may
        call.setPayload(call.request());
        call.setMetadata(call.options().hasMetadata() ? call.options().metadata() : null);
        int limit = id == null ? 0 : id.maxConcurrentRequests();
        while (true) {
            call.setTimeoutNs(Math.max(1, left));
            int r;
            if (!call.oneWay()) {
                call.awaitOn(cs);       // before the call is in the table, where a fast response finds it
            }
            boolean atPeerLimit = !call.oneWay() && !cs.addPendingWithin(call, limit);
            if (atPeerLimit) {
                call.awaitOn(null);
                r = TransportConnection.BACK_PRESSURED;
            } else {
                call.sending();
                if (call.prePollThread == Thread.currentThread() && call.prePolled == null) {
                    // The caller will poll this connection for the response: say so before the request goes out,
                    // or a fast answer may find the connection unwatched and ring its sleeping loop for nothing.
                    call.prePolled = c;
                    c.pollingStarted();
                }
                r = c.offer(call);
                if (r == TransportConnection.OFFERED) {
                    if (call.isDone()) {
                        cs.removePending(call);     // completed meanwhile (deadline, cancel)
                    }
                    return;
                }
                cs.removePending(call);
                call.notSent();
                stopPrePolling(call);       // it may wait for room, or go elsewhere: not polling meanwhile
            }
            if (r == TransportConnection.CLOSED) {
                reroute(call, unavailable("connection to rank " + target.rank() + " closed", c));
                return;
            }
            if (!awaitRoom(call, c, cs, atPeerLimit ? limit : 0, target.rank())) {
                return;
            }
            left = call.deadlineNanos() - System.nanoTime();
        }
    }

    /**
     * Checks that the peer speaks streams and registers the call's stream on the connection before the opening
     * request goes out (the server's first messages may follow it at once); false when the call failed instead.
     */
    private static boolean openStreamOn(PendingCall call, ConnState cs, PeerIdentity id, ServerInfo target) {
        if (id == null) {
            call.fail(Status.of(Status.Code.UNAVAILABLE, "the connection to rank " + target.rank() + " is still in "
                    + "its handshake; a stream needs to know the peer's protocol version").withRetrySafe(true));
            return false;
        }
        if (id.protocolVersion() < ProtocolVersion.STREAMS) {
            call.fail(Status.of(Status.Code.UNIMPLEMENTED, "rank " + target.rank() + " speaks protocol version "
                    + id.protocolVersion() + ", which has no streams (version " + ProtocolVersion.STREAMS + " does)")
                    .withRetrySafe(true));
            return false;
        }
        call.stream.attachRemote(cs, call.requestId(), target.serviceId(), target.serverId(), call.method());
        return true;
    }

    private static String withMetadata(PendingCall call) {
        int m = call.requestMetadataSize();
        return m == 0 ? "" : " and " + m + " bytes of metadata";
    }

    /** Only the caller's own first attempt may wait: a re-route runs on whatever thread saw the failure. */
    private boolean mayWait(PendingCall call) {
        return !call.options().failFast() && call.attempts() == 0 && !node.inTransportThread();
    }

    /** Waits for a new connection's handshake; null when the call ended or moved instead. */
    private PeerIdentity awaitHandshake(PendingCall call, ConnState cs, int rank) {
        try {
            if (cs.awaitOpen(call.deadlineNanos())) {
                return cs.connection.remoteIdentity();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            call.fail(Status.of(Status.Code.CANCELLED, "interrupted while connecting").withRetrySafe(true));
            return null;
        }
        BatonException why = cs.connection.closeCause();
        if (why != null && why.code() == Status.Code.UNAUTHENTICATED) {
            // The cluster secret failed: every server of this cluster would refuse this node alike.
            call.fail(Status.of(Status.Code.UNAUTHENTICATED, "cannot connect to rank " + rank + ": "
                    + why.status().description()).withRetrySafe(true));
        } else if (call.deadlineNanos() - System.nanoTime() <= 0) {
            call.fail(Status.of(Status.Code.DEADLINE_EXCEEDED, "rank " + rank + " did not answer the handshake "
                    + "before the deadline").withRetrySafe(true));
        } else {
            reroute(call, unavailable("cannot connect to rank " + rank, cs.connection));
        }
        return null;
    }

    /** UNAVAILABLE for a connection that closed, with the reason it closed when the transport says. */
    private static Status unavailable(String what, TransportConnection c) {
        BatonException why = c.closeCause();
        return Status.of(Status.Code.UNAVAILABLE, why == null ? what : what + ": " + why.status().description());
    }

    /**
     * Waits for room on the connection after a push-back: for the peer's answers when {@code peerLimit} > 0 (that
     * many of our calls already await one), else in the send queue. False when the call ended instead (failed
     * fast, deadline, interrupted) or was re-routed (the connection closed).
     */
    private boolean awaitRoom(PendingCall call, TransportConnection c, ConnState cs, int peerLimit, int rank) {
        if (!mayWait(call)) {
            call.fail(Status.of(Status.Code.RESOURCE_EXHAUSTED, "rank " + rank + " is busy: " + (peerLimit > 0
                    ? peerLimit + " calls already await its answers, as many as it serves at once"
                    : "the send queue is full (" + c.queuedBytes() + " bytes queued)")).withRetrySafe(true));
            return false;
        }
        try {
            boolean room = peerLimit > 0 ? cs.awaitPendingRoom(peerLimit, call.deadlineNanos())
                    : c.awaitCapacity(call.payloadSize(), call.deadlineNanos());
            if (!room) {
                if (call.deadlineNanos() - System.nanoTime() <= 0) {
                    call.fail(Status.of(Status.Code.DEADLINE_EXCEEDED, "no room to send to rank " + rank
                            + " before the deadline"));
                } else {
                    reroute(call, unavailable("connection to rank " + rank + " closed", c));
                }
                return false;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            call.fail(Status.of(Status.Code.CANCELLED, "interrupted while waiting for send capacity").withRetrySafe(true));
            return false;
        }
        return !call.isDone();
    }

    // ================================================================== CallHost

    /**
     * A call whose attempt never ran (not written, or dropped), or an idempotent one whose connection broke after
     * it was written: send it to another server of the service if it named none, otherwise fail it.
     */
    @Override
    public void reroute(PendingCall call, Status cause) {
        if (!startAgain(call, cause, Status.Code.UNAVAILABLE)) {
            return;
        }
        ServerInfo target = choose(call, cursor(call.service()), false);
        if (target == null) {
            Status none = CallRouter.noRoute(peers.membership(), call.service(), call.options());
            call.fail(none.code() == Status.Code.UNAVAILABLE && cause.description() != null
                    ? Status.of(none.code(), none.description() + "; last: " + cause.description())
                            .withCause(cause.cause()).withRetrySafe(none.retrySafe())
                    : none);
        } else {
            send(call, target, System.nanoTime());
        }
    }

    /**
     * The server refused the call's attempt before any handler saw it: send it to another server of the service,
     * never back to the one that refused; fail with the refusal when there is none (or the call named its
     * server, or the method is missing: another server of the service would have none either).
     */
    @Override
    public void rerouteRefused(PendingCall call, Status refusal) {
        if (refusal.code() == Status.Code.NO_SUCH_METHOD) {
            call.fail(refusal);
            return;
        }
        if (!startAgain(call, refusal, refusal.code())) {
            return;
        }
        ServerInfo target = choose(call, cursor(call.service()), true);
        if (target == null) {
            call.fail(refusal);
        } else {
            send(call, target, System.nanoTime());
        }
    }

    /** Counts another attempt; false (the call failed with {@code giveUpCode}) when none may be made. */
    private boolean startAgain(PendingCall call, Status cause, Status.Code giveUpCode) {
        if (call.isDone()) {
            return false;
        }
        int attempts = call.nextAttempt();
        if (node.isClosed()) {
            call.fail(Status.of(Status.Code.CLOSED, "the node closed before '" + call.service() + "' answered")
                    .withRetrySafe(true));
            return false;
        }
        if (call.addressed() || attempts > 3 || call.deadlineNanos() - System.nanoTime() <= 0) {
            call.fail(Status.of(giveUpCode, cause.description()).withRetrySafe(true));
            return false;
        }
        counters.reroutes.increment();
        return true;
    }

    @Override
    public DeadlineTimer timer() {
        return timer;
    }

    @Override
    public void ended(PendingCall call, Status.Code failure) {
        counters.callEnded(failure);
        CallRecorder r = recorder;
        boolean sampled = NodeCounters.sampled(call.requestId());
        if (r != null || sampled) {
            long nanos = System.nanoTime() - call.startNanos();
            if (sampled) {
                counters.recordLatency(nanos);
            }
            if (r != null) {
                record(r, call, failure == null ? Status.Code.OK : failure, nanos);
            }
        }
    }

    private static void record(CallRecorder r, PendingCall call, Status.Code outcome, long nanos) {
        try {
            r.callEnded(call.service(), call.method(), outcome, nanos);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "the call recorder failed: {0}", e.toString());
        }
    }

    /** See {@link dev.baton.Node#callRecorder}. */
    void recorder(CallRecorder recorder) {
        this.recorder = recorder;
    }

    @Override
    public void recycle(PendingCall call) {
        callPool.offer(call, call.poolStripe());     // back where its next starter (this call's) looks
    }

    @Override
    public boolean closing() {
        return node.isClosed();
    }

    @Override
    public long defaultTimeoutMs() {
        return defaultTimeoutNs / 1_000_000L;
    }

    @Override
    public void deliverElsewhere(PendingCall call) {
        if (timer.isTimerThread()) {
            call.nextDelivery = deliveries;     // batched: one task per timer round, not one per call
            deliveries = call;
        } else {
            runElsewhere(call::deliverClaimedFailure);
        }
    }

    /** After each timer round: hands the round's deliveries to the handler executor as one task. Timer thread. */
    void flushDeliveries() {
        PendingCall batch = deliveries;
        if (batch == null) {
            return;
        }
        deliveries = null;
        runElsewhere(() -> {
            PendingCall c = batch;
            while (c != null) {
                PendingCall next = c.nextDelivery;
                c.nextDelivery = null;
                c.deliverClaimedFailure();
                c = next;
            }
        });
    }

    /** Runs {@code work} on the handler executor, or here when it refuses (the node is shutting down). */
    private void runElsewhere(Runnable work) {
        ExecutorService executor = node.handlerExecutor();
        try {
            executor.execute(work);
        } catch (RejectedExecutionException shuttingDown) {
            work.run();
        }
    }
}
