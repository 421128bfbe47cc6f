package dev.baton.internal.rpc;

import dev.baton.BatonException;
import dev.baton.Caller;
import dev.baton.CallObserver;
import dev.baton.CallOptions;
import dev.baton.Message;
import dev.baton.Metadata;
import dev.baton.Server;
import dev.baton.ServerCall;
import dev.baton.Status;
import dev.baton.spi.FrameType;
import dev.baton.spi.MessageAccess;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.TransportConnection;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * One request on the server's side. For a remote caller it is also the response frame (queued on the
 * connection the request came in on); for an in-process caller the answer completes the caller's
 * {@link PendingCall} directly, with no copy.
 *
 * <h2>The slot</h2>
 * A request holds a slot from its arrival: it counts against its connection's
 * {@code maxConcurrentRequestsPerConnection}, sits in the connection's serving table (so a CANCEL finds it) and
 * in the node's drain count. The slot is let go once ({@link #releaseSlot}): when the request is answered (the
 * answer then only has to be written), when a one-way request's handler returns, or, for a request never
 * answered, when it is cancelled (CANCEL, its connection closed) or its deadline passes, as soon as no handler
 * thread runs it. So a handler that never answers (an inline handler that returns
 * without replying, an async stage never completed) cannot hold its connection's capacity beyond its deadline;
 * a blocking handler that never returns keeps its slot (its thread and request are held anyway), which the limit
 * bounds. An answer given after the slot was let go is dropped: the caller has already given up.
 *
 * <h2>Refusals</h2>
 * {@link #refuse} answers a request the runtime turned away before any handler saw it (no such method, a limit
 * reached, a closed server): the status is retry-safe and the response carries
 * {@link FrameType#FLAG_REFUSED}, so the caller knows the request did not run and may send it elsewhere. Failures
 * of a handler, or given by one, are never marked so.
 *
 * <h2>Reuse</h2>
 * {@link #refs} counts the answer (released once the answer left, or could not) and the dispatcher (released
 * when the hand-off to the handler returns; an executor, an async stage or a dealer queue that keeps the call
 * longer takes its own reference). The last release recycles the object, so a handler may keep using its call
 * until it returns, and the call's table entry (and wheel entry) is gone before the object is reused.
 */
final class ServerCallImpl extends OutboundFrame implements ServerCall {

    private static final System.Logger LOG = System.getLogger(ServerCallImpl.class.getName());
    private static final MessageAccess MESSAGES = MessageAccess.get();
    private static final AtomicIntegerFieldUpdater<ServerCallImpl> ANSWERED =
            AtomicIntegerFieldUpdater.newUpdater(ServerCallImpl.class, "answered");
    private static final AtomicIntegerFieldUpdater<ServerCallImpl> REFS =
            AtomicIntegerFieldUpdater.newUpdater(ServerCallImpl.class, "refs");
    private static final AtomicIntegerFieldUpdater<ServerCallImpl> SLOT =
            AtomicIntegerFieldUpdater.newUpdater(ServerCallImpl.class, "slot");
    private static final AtomicIntegerFieldUpdater<ServerCallImpl> OBSERVED =
            AtomicIntegerFieldUpdater.newUpdater(ServerCallImpl.class, "observed");

    private final ServingHost host;
    /** This call's place in the deadline wheel, once it outlives its dispatch. */
    private final DeadlineTimer.Entry deadline = new Deadline();
    private ConnState conn;              // remote caller; null in process
    private PendingCall local;           // in-process caller (referenced until recycled); null for remote
    private Message request;             // lent
    private Metadata requestMetadata;    // null for none
    private volatile Metadata responseMetadata;
    /** The interceptors' observers, or null (the usual case); told once ({@link #observed}). */
    private CallObservers observers;
    private volatile int observed;
    /** The scope of the calls its handler makes, once it asked for {@link #childOptions()}. */
    private volatile ServerCallScope scope;
    private int reqServiceId;
    private int reqServerId;
    private int reqMethod;
    private long reqId;
    private int sourceRank;
    /** The compression the caller asked the response to go with (0: none); set after {@link #init} for remote calls. */
    private int responseEncoding;
    /** The request opens a stream (flag STREAM); set after {@link #init} for remote calls. */
    private boolean opensStream;
    private boolean oneWay;
    private ServerImpl server;
    private volatile boolean cancelled;
    private volatile boolean handlerRunning;
    private volatile int answered;
    private volatile int refs;
    private volatile int slot;
    private int poolStripe;

    ServerCallImpl(ServingHost host) {
        this.host = host;
    }

    /**
     * Sets the call up for one request; it starts with the answer's and the dispatcher's references, and with
     * its slot held when {@code holdsSlot} (a refusal of a request over the limit holds none).
     */
    ServerCallImpl init(ConnState conn, PendingCall local, Message request, Metadata metadata, int serviceId,
                        int serverId, int method, long requestId, int sourceRank, boolean oneWay, long deadlineNanos,
                        boolean holdsSlot) {
        this.conn = conn;
        this.local = local;
        this.request = metadata == null ? request : MESSAGES.withMetadata(request, metadata);
        this.requestMetadata = metadata;
        this.observers = null;
        if (responseMetadata != null || observed != 0 || scope != null) {
            responseMetadata = null;    // written only when set: each volatile write is a fence, per call
            observed = 0;
            scope = null;
        }
        this.reqServiceId = serviceId;
        this.reqServerId = serverId;
        this.reqMethod = method;
        this.reqId = requestId;
        this.sourceRank = sourceRank;
        this.oneWay = oneWay;
        this.deadline.deadlineNanos = deadlineNanos;
        this.server = null;
        this.cancelled = false;
        this.handlerRunning = false;
        this.slot = holdsSlot ? 1 : 0;
        this.responseEncoding = 0;
        this.opensStream = false;
        this.refs = 2;
        this.answered = 0;      // last: a volatile write that publishes the rest
        return this;
    }

    /** The request opened a stream ({@link ServerStreamImpl}). */
    void opensStream(boolean opens) {
        this.opensStream = opens;
    }

    /** True when this request opens a stream: flagged so on the wire, or made by an in-process stream's caller. */
    boolean opensStream() {
        PendingCall caller = local;
        return opensStream || (caller != null && caller.stream != null);
    }

    /** The in-process caller's side of the stream this request opens, or null. */
    ClientStreamImpl localStream() {
        PendingCall caller = local;
        return caller == null ? null : caller.stream;
    }

    /** The connection the request came on; null in process. */
    ConnState connState() {
        return conn;
    }

    /** Asks for the response to be compressed with encoding {@code id}, as the request's header asked. */
    void compressResponse(int id) {
        this.responseEncoding = id;
    }

    /** The pool stripe of the thread that took this record: it goes back there. Set before {@link #init}. */
    void poolStripe(int stripe) {
        this.poolStripe = stripe;
    }

    int poolStripe() {
        return poolStripe;
    }

    /** Takes a reference; only while one is held (or under the serving table's lock, where the call still is). */
    void retain() {
        REFS.getAndIncrement(this);
    }

    /** Drops a reference; the last one recycles the call (and releases the in-process caller's call). */
    void release() {
        int left = REFS.decrementAndGet(this);
        if (left == 0) {
            PendingCall caller = local;
            conn = null;
            local = null;
            request = null;
            requestMetadata = null;
            observers = null;
            server = null;
            setPayload(null);
            setMetadata(null);
            host.recycle(this);
            if (caller != null) {
                caller.release();
            }
        } else if (left < 0) {
            throw new IllegalStateException("call " + reqId + " released more often than retained");
        }
    }

    int serviceIdRequested() {
        return reqServiceId;
    }

    int serverIdRequested() {
        return reqServerId;
    }

    void routedTo(ServerImpl server) {
        this.server = server;
    }

    // ================================================================== ServerCall

    @Override
    public Message request() {
        return request;
    }

    @Override
    public Metadata metadata() {
        Metadata m = requestMetadata;
        return m == null ? Metadata.EMPTY : m;
    }

    @Override
    public void responseMetadata(Metadata metadata) {
        Objects.requireNonNull(metadata, "metadata");
        if (isAnswered()) {
            throw new IllegalStateException("call " + reqId + " was already answered: set its metadata before");
        }
        responseMetadata = metadata.isEmpty() ? null : metadata;
    }

    @Override
    public CallOptions childOptions() {
        ServerCallScope s = scope;
        if (s == null) {
            synchronized (this) {
                s = scope;
                if (s == null) {
                    scope = s = new ServerCallScope(deadline.deadlineNanos);
                }
            }
            if (cancelled) {
                s.cancel(Status.of(Status.Code.CANCELLED, "the call being served was cancelled"));
            }
            PendingCall caller = local;
            if (caller != null) {
                caller.servedUnder(s);
            }
        }
        return CallOptions.DEFAULT.withScope(s);
    }

    /** Adds an interceptor's observer; on the dispatching thread, before the handler sees the call. */
    void observe(CallObserver o) {
        if (observers == null) {
            observers = new CallObservers();
        }
        observers.add(o);
    }

    /** Tells the observers, once, how the call ended. */
    private void ended(Status status) {
        CallObservers o = observers;
        if (o != null && OBSERVED.compareAndSet(this, 0, 1)) {
            o.end(status, responseMetadata);
        }
    }

    @Override
    public int method() {
        return reqMethod;
    }

    @Override
    public long requestId() {
        return reqId;
    }

    @Override
    public int sourceRank() {
        return sourceRank;
    }

    @Override
    public Caller caller() {
        return conn == null ? host.localCaller() : conn.caller();
    }

    @Override
    public Server server() {
        return server;
    }

    @Override
    public boolean isOneWay() {
        return oneWay;
    }

    @Override
    public long deadlineNanos() {
        return deadline.deadlineNanos;
    }

    @Override
    public boolean isCancelled() {
        long d = deadline.deadlineNanos;
        return cancelled || (local != null && local.isDone()) || (d != Long.MAX_VALUE && System.nanoTime() - d > 0);
    }

    boolean isAnswered() {
        return answered != 0;
    }

    private void claim() {
        if (!ANSWERED.compareAndSet(this, 0, 1)) {
            throw new IllegalStateException("call " + reqId + " was already answered");
        }
    }

    @Override
    public void reply(Message response) {
        reply(MESSAGES.data(response));
    }

    @Override
    public void reply(ByteBuffer response) {
        claim();
        ended(Status.OK);
        if (local != null) {
            if (!oneWay) {
                Message answer = MESSAGES.lend(response, null);  // the caller's side decides whether to own it
                Metadata m = responseMetadata;
                local.complete(m == null ? answer : MESSAGES.withMetadata(answer, m));
            }
            finished();
            return;
        }
        if (oneWay || cancelled) {
            finished();     // nobody waits for it
            return;
        }
        int max = host.maxMessageSize();
        var peer = conn.connection.remoteIdentity();
        if (peer != null) {
            max = Math.min(max, peer.maxMessageSize());
        }
        Metadata m = metadataFor(peer);
        int metadataSize = m == null ? 0 : m.encodedSize();
        if (response.remaining() + (long) metadataSize > max) {
            sendError(Status.of(Status.Code.MESSAGE_TOO_LARGE, "response of " + response.remaining()
                    + " bytes" + (metadataSize == 0 ? "" : " and " + metadataSize + " of metadata")
                    + " exceeds the maximum message size " + max), 0);
            return;
        }
        setHeader(FrameType.RESPONSE, 0, 0, reqId, reqServiceId, reqServerId, reqMethod, 0);
        setEncoding(responseEncoding);
        setPayload(response);
        setMetadata(m);
        send();
    }

    @Override
    public void fail(Status status) {
        claim();
        answerFailure(status.retrySafe() ? status.withRetrySafe(false) : status, false);
    }

    /** Fails the call for its handler (it threw, or its stage failed); loses silently if it was answered. */
    void failFromHandler(Status status) {
        if (ANSWERED.compareAndSet(this, 0, 1)) {
            answerFailure(status.retrySafe() ? status.withRetrySafe(false) : status, false);
        }
    }

    /**
     * Refuses the request before any handler saw it: retry-safe, marked {@link FrameType#FLAG_REFUSED} on the
     * wire. Loses silently if the call was already answered.
     */
    @Override
    public void refuse(Status status) {
        if (ANSWERED.compareAndSet(this, 0, 1)) {
            answerFailure(status.withRetrySafe(true), true);
        }
    }

    private void answerFailure(Status status, boolean refused) {
        ended(status);
        if (local != null) {
            Metadata m = responseMetadata;
            if (m != null) {
                status = status.withMetadata(m);       // what the wire would carry, for the in-process caller
            }
            if (!oneWay) {
                if (refused) {
                    local.onRefused(status);
                } else {
                    local.fail(status);
                }
            }
            finished();
        } else if (oneWay || cancelled) {
            finished();
        } else {
            sendError(status, refused ? FrameType.FLAG_REFUSED : 0);
        }
    }

    private void sendError(Status status, int flags) {
        String why = status.description() == null ? "" : status.description();
        setHeader(FrameType.RESPONSE, flags, status.code().value(), reqId, reqServiceId, reqServerId, reqMethod, 0);
        setPayload(StandardCharsets.UTF_8.encode(why));
        setMetadata(metadataFor(conn.connection.remoteIdentity()));
        send();
    }

    /**
     * The response metadata to put on the wire: none for a caller of protocol version 2, which cannot read it (and
     * sent none, so no interceptor of its own expects any).
     */
    private Metadata metadataFor(PeerIdentity peer) {
        Metadata m = responseMetadata;
        return m != null && peer != null && peer.speaksMetadata() ? m : null;
    }

    private void send() {
        // The request is done: its slot goes now, not once the answer is written. A Baton caller frees its own
        // place when the answer arrives, which is later, so it never sends a request this side has no slot for.
        releaseSlot();
        int r = conn.connection.offer(this);
        if (r == TransportConnection.BACK_PRESSURED) {
            // Answers are never refused for the queue limits; never drop one silently.
            LOG.log(System.Logger.Level.ERROR, "response to request {0} could not be queued; the caller will time out", reqId);
        }
        if (r != TransportConnection.OFFERED) {
            finished();     // the connection is gone: the caller learns of it from its own side
        }
    }

    @Override
    public void onWritten() {
        finished();
    }

    @Override
    public void onDropped(BatonException cause) {
        finished();
    }

    /**
     * Releases the request, the slot, the wheel entry and the answer's reference. Runs once, after the answer
     * left (or could not, or was not sent).
     */
    private void finished() {
        MESSAGES.release(request);
        host.timer().remove(deadline);
        releaseSlot();
        release();
    }

    // ================================================================== the slot

    /**
     * The dispatch returned and the call is not answered yet: watch its deadline, so its slot goes when it
     * passes. The dispatcher holds its reference.
     */
    void watchDeadline() {
        if (deadline.deadlineNanos == Long.MAX_VALUE || slot == 0) {
            return;
        }
        host.timer().add(deadline);
        if (isAnswered()) {
            host.timer().remove(deadline);      // answered meanwhile: its finish may have missed the add
        }
    }

    /** A blocking handler is about to run (set before the task is handed to the executor). */
    void handlerStarting() {
        handlerRunning = true;
    }

    /**
     * The handler returned (a blocking handler's thread, an inline handler, an async stage completing): a one-way
     * request is done, and a call cancelled meanwhile and still unanswered lets go of its slot now.
     */
    void handlerReturned() {
        handlerRunning = false;
        if (cancelled || oneWay) {
            releaseSlot();
        }
    }

    /**
     * The caller gave up (CANCEL), the connection closed, or the deadline passed: the handler can see it
     * ({@link #isCancelled()}), its answer will be dropped, and the slot goes as soon as no handler thread runs.
     */
    void cancel() {
        cancelled = true;
        ServerCallScope s = scope;
        if (s != null || (observers != null && !isAnswered())) {
            long d = deadline.deadlineNanos;
            Status why = d != Long.MAX_VALUE && System.nanoTime() - d >= 0
                    ? Status.of(Status.Code.DEADLINE_EXCEEDED, "the deadline of the call being served passed")
                    : Status.of(Status.Code.CANCELLED, "the call being served was cancelled, or its connection closed");
            if (s != null) {
                s.cancel(why);
            }
            if (observers != null && !isAnswered()) {
                ended(why);
            }
        }
        if (!handlerRunning) {
            releaseSlot();
        }
    }

    /** Lets go of the slot, once. */
    private void releaseSlot() {
        if (SLOT.compareAndSet(this, 1, 0)) {
            ConnState c = conn;
            if (c != null) {
                c.serving.remove(reqId, this);
                c.inProgress.decrementAndGet();
            }
            host.servingEnded();
        }
    }

    /** A queued call a dealer found cancelled: nobody waits for its answer, so it ends without one. */
    void abandon() {
        if (ANSWERED.compareAndSet(this, 0, 1)) {
            finished();
        }
    }

    /** The call's entry in the deadline wheel. */
    private final class Deadline extends DeadlineTimer.Entry {
        @Override
        void retain() {
            ServerCallImpl.this.retain();
        }

        @Override
        void release() {
            ServerCallImpl.this.release();
        }

        @Override
        void expire() {
            if (!isAnswered()) {
                cancel();
            }
        }
    }
}
