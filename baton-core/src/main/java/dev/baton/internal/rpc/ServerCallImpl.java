package dev.baton.internal.rpc;

import dev.baton.BatonException;
import dev.baton.Message;
import dev.baton.Server;
import dev.baton.ServerCall;
import dev.baton.Status;
import dev.baton.internal.buffer.MessageAccess;
import dev.baton.spi.FrameType;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.TransportConnection;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * One request on the server's side. For a remote caller it is also the response frame (queued on the
 * connection the request came in on); for an in-process caller the answer completes the caller's
 * {@link PendingCall} directly, with no copy.
 *
 * <p>Reused: {@link #refs} counts the answer (released once the answer left, or could not) and the dispatcher
 * (released when the hand-off to the handler returns; an executor, an async stage or a dealer queue that keeps
 * the call longer takes its own reference). The last release recycles the object, so a handler may keep
 * using its call until it returns, and the call's table entry is gone before the object is reused.
 */
final class ServerCallImpl extends OutboundFrame implements ServerCall {

    private static final System.Logger LOG = System.getLogger(ServerCallImpl.class.getName());
    private static final MessageAccess MESSAGES = MessageAccess.get();
    private static final AtomicIntegerFieldUpdater<ServerCallImpl> ANSWERED =
            AtomicIntegerFieldUpdater.newUpdater(ServerCallImpl.class, "answered");
    private static final AtomicIntegerFieldUpdater<ServerCallImpl> REFS =
            AtomicIntegerFieldUpdater.newUpdater(ServerCallImpl.class, "refs");

    private final NodeRuntime runtime;
    private ConnState conn;              // remote caller; null in process
    private PendingCall local;           // in-process caller (referenced until recycled); null for remote
    private Message request;             // lent
    private int reqServiceId;
    private int reqServerId;
    private int reqMethod;
    private long reqId;
    private int sourceRank;
    private boolean oneWay;
    private long deadlineNanos;
    ServerImpl server;
    volatile boolean cancelled;
    private volatile int answered;
    private volatile int refs;

    ServerCallImpl(NodeRuntime runtime) {
        this.runtime = runtime;
    }

    /** Sets the call up for one request; it starts with the answer's and the dispatcher's references. */
    ServerCallImpl init(ConnState conn, PendingCall local, Message request, int serviceId, int serverId, int method,
                        long requestId, int sourceRank, boolean oneWay, long deadlineNanos) {
        this.conn = conn;
        this.local = local;
        this.request = request;
        this.reqServiceId = serviceId;
        this.reqServerId = serverId;
        this.reqMethod = method;
        this.reqId = requestId;
        this.sourceRank = sourceRank;
        this.oneWay = oneWay;
        this.deadlineNanos = deadlineNanos;
        this.server = null;
        this.cancelled = false;
        this.refs = 2;
        this.answered = 0;      // last: a volatile write that publishes the rest
        return this;
    }

    /** Takes a reference; only while one is held. */
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
            server = null;
            setPayload(null);
            runtime.recycle(this);
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

    @Override
    public Message request() {
        return request;
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
    public Server server() {
        return server;
    }

    @Override
    public boolean isOneWay() {
        return oneWay;
    }

    @Override
    public long deadlineNanos() {
        return deadlineNanos;
    }

    @Override
    public boolean isCancelled() {
        return cancelled || (local != null && local.isDone())
                || (deadlineNanos != Long.MAX_VALUE && System.nanoTime() - deadlineNanos > 0);
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
        if (local != null) {
            if (!oneWay) {
                local.complete(MESSAGES.lend(response, null));  // the caller's side decides whether to own it
            }
            finished();
            return;
        }
        if (oneWay || cancelled) {
            finished();
            return;
        }
        int max = runtime.maxMessageSize();
        var peer = conn.connection.remoteIdentity();
        if (peer != null) {
            max = Math.min(max, peer.maxMessageSize());
        }
        if (response.remaining() > max) {
            sendError(Status.of(Status.Code.MESSAGE_TOO_LARGE, "response of " + response.remaining()
                    + " bytes exceeds the maximum message size " + max));
            return;
        }
        setHeader(FrameType.RESPONSE, 0, 0, reqId, reqServiceId, reqServerId, reqMethod, 0);
        setPayload(response);
        send();
    }

    @Override
    public void fail(Status status) {
        claim();
        if (local != null) {
            if (!oneWay) {
                local.fail(status);
            }
            finished();
            return;
        }
        if (oneWay || cancelled) {
            finished();
            return;
        }
        sendError(status);
    }

    /** Fails the call without the "answer once" check; for errors the runtime raises before any handler ran. */
    void reject(Status status) {
        if (ANSWERED.compareAndSet(this, 0, 1)) {
            if (local != null) {
                local.fail(status);
                finished();
            } else if (oneWay) {
                finished();
            } else {
                sendError(status);
            }
        }
    }

    private void sendError(Status status) {
        String why = status.description() == null ? "" : status.description();
        setHeader(FrameType.RESPONSE, 0, status.code().value(), reqId, reqServiceId, reqServerId, reqMethod, 0);
        setPayload(StandardCharsets.UTF_8.encode(why));
        send();
    }

    private void send() {
        int r = conn.connection.offer(this);
        if (r == TransportConnection.BACK_PRESSURED) {
            // Cannot happen while requests in progress stay within the queue's reserve; never drop silently.
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
     * Releases the request, the connection's slot and the answer's reference. Runs once, after the answer
     * left (or could not).
     */
    private void finished() {
        MESSAGES.release(request);
        if (conn != null) {
            conn.serving.remove(reqId, this);
            conn.inProgress.decrementAndGet();
        }
        runtime.servingEnded();
        release();
    }
}
