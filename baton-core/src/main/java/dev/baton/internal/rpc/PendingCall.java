package dev.baton.internal.rpc;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Message;
import dev.baton.ResponseListener;
import dev.baton.Status;
import dev.baton.internal.buffer.MessageAccess;
import dev.baton.spi.FrameType;
import dev.baton.spi.OutboundFrame;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.locks.LockSupport;

/**
 * One call on the caller's side. It is its own request frame (no allocation to send it) and completes exactly
 * once: {@link #finish()} is the single gate every outcome passes through.
 *
 * <h2>How the outcome is delivered</h2>
 * By {@link #mode}: a {@link CallFuture} ({@link #FUTURE}), a {@link ResponseListener} that borrows the response
 * ({@link #LISTENER}), a thread blocked in {@link NodeRuntime#await} ({@link #BLOCKING}), or nobody
 * ({@link #ONE_WAY}: the starter only checks for an early error).
 *
 * <h2>Reuse</h2>
 * Except for {@link #FUTURE} calls (the future the caller holds can cancel its call at any time), a call is
 * recycled once nothing refers to it, counted in {@link #refs}: the owner (released once the outcome is
 * delivered), the starter (released by the API method once it has looked at the call), the transport while
 * the call is queued as a frame (until {@link #onWritten}/{@link #onDropped}), an in-process server call
 * answering it, and any thread that took the call out of a table (the deadline wheel, a pending table) to act
 * on it. Such a thread takes its reference under the table's lock, where the call is still present and so
 * not yet released by its owner: a completed call never reaches a recycled object.
 */
final class PendingCall extends OutboundFrame {

    static final int FUTURE = 0;
    static final int LISTENER = 1;
    static final int BLOCKING = 2;
    static final int ONE_WAY = 3;

    private static final System.Logger LOG = System.getLogger(PendingCall.class.getName());
    private static final MessageAccess MESSAGES = MessageAccess.get();
    private static final AtomicIntegerFieldUpdater<PendingCall> DONE =
            AtomicIntegerFieldUpdater.newUpdater(PendingCall.class, "done");
    private static final AtomicIntegerFieldUpdater<PendingCall> REFS =
            AtomicIntegerFieldUpdater.newUpdater(PendingCall.class, "refs");

    final NodeRuntime runtime;
    String service;
    CallOptions options;
    int method;
    ByteBuffer request;
    long requestId;
    long deadlineNanos;
    int mode;
    CallFuture future;                  // FUTURE only
    private ResponseListener listener;  // LISTENER only

    private volatile int done;
    private volatile int refs;
    volatile boolean written;
    /** Sticky: some attempt of this call reached a server (or may have), so a failure is not retry-safe. */
    volatile boolean maybeRan;
    /** The connection whose pending table holds this call, while it waits for a response. */
    volatile ConnState connection;
    /** Rank it was last sent to (so a re-route avoids it). */
    volatile int lastRank = -1;
    int attempts;
    // Links in the deadline wheel, guarded by the bucket's monitor (see DeadlineTimer).
    PendingCall wheelPrev;
    PendingCall wheelNext;
    int wheelBucket = -1;

    // The outcome, for BLOCKING and ONE_WAY: written before `delivered`, read after it.
    Message result;
    BatonException error;
    volatile boolean delivered;
    volatile Thread waiter;

    PendingCall(NodeRuntime runtime) {
        this.runtime = runtime;
    }

    /** Sets the call up for one use; it starts with two references, the owner's and the starter's. */
    PendingCall init(String service, CallOptions options, int method, ByteBuffer request, long requestId,
                     long deadlineNanos, int mode, ResponseListener listener) {
        this.service = service;
        this.options = options;
        this.method = method;
        this.request = request;
        this.requestId = requestId;
        this.deadlineNanos = deadlineNanos;
        this.mode = mode;
        this.listener = listener;
        this.future = mode == FUTURE ? new CallFuture(this) : null;
        written = false;
        maybeRan = false;
        connection = null;
        lastRank = -1;
        attempts = 0;
        result = null;
        error = null;
        waiter = null;
        delivered = false;
        refs = 2;
        done = 0;       // last: a volatile write that publishes the rest
        return this;
    }

    boolean oneWay() {
        return mode == ONE_WAY;
    }

    int requestFlags() {
        return (oneWay() ? FrameType.FLAG_ONE_WAY : 0) | (options.idempotent() ? FrameType.FLAG_IDEMPOTENT : 0);
    }

    boolean isDone() {
        return done != 0;
    }

    /** Claims the right to complete the call; true exactly once. */
    boolean finish() {
        return DONE.compareAndSet(this, 0, 1);
    }

    /** Takes a reference. Only while one is already held, or under a lock of a table that holds the call. */
    void retain() {
        REFS.getAndIncrement(this);
    }

    /** Drops a reference; the last one recycles the call. */
    void release() {
        int left = REFS.decrementAndGet(this);
        if (left == 0 && mode != FUTURE) {
            service = null;
            options = null;
            request = null;
            listener = null;
            result = null;
            error = null;
            waiter = null;
            connection = null;
            setPayload(null);
            runtime.recycle(this);
        } else if (left < 0) {
            throw new IllegalStateException(this + " released more often than retained");
        }
    }

    private void cleanUp() {
        runtime.timer().remove(this);
        ConnState c = connection;
        if (c != null) {
            c.pending.remove(requestId, this);
        }
        runtime.callEnded(this);
    }

    void complete(Message response) {
        if (!finish()) {
            MESSAGES.release(response);
            return;
        }
        cleanUp();
        runtime.stats.callsSucceeded.increment();
        deliver(response, null);
    }

    void fail(Status status) {
        if (!finish()) {
            return;
        }
        cleanUp();
        runtime.stats.callsFailed.increment();
        deliver(null, finalStatus(status).asException());
    }

    /** Fails the call and, if it was written, tells the server: a blocked caller interrupted, say. */
    void cancel(Status status) {
        if (finish()) {
            cleanUp();
            runtime.stats.callsFailed.increment();
            sendCancelIfWritten();
            deliver(null, finalStatus(status).asException());
        }
    }

    /**
     * Hands the outcome over, then drops the owner's reference. A listener borrows the response only while it
     * runs; a future or a blocked caller gets a message of its own.
     */
    private void deliver(Message response, BatonException failure) {
        try {
            switch (mode) {
                case FUTURE -> {
                    if (failure == null) {
                        future.complete(MESSAGES.own(response));
                    } else {
                        future.completeExceptionally(failure);
                    }
                }
                case LISTENER -> {
                    try {
                        if (failure == null) {
                            listener.onResponse(response);
                        } else {
                            listener.onFailure(failure);
                        }
                    } catch (RuntimeException | Error e) {
                        LOG.log(System.Logger.Level.WARNING, "response listener of " + this + " threw", e);
                    } finally {
                        if (response != null) {
                            MESSAGES.release(response);
                        }
                    }
                }
                default -> {
                    // BLOCKING and ONE_WAY: publish, then wake the waiter (it re-checks `delivered` after it
                    // publishes itself, so one of the two always sees the other).
                    result = failure == null && mode == BLOCKING ? MESSAGES.own(response) : null;
                    if (failure == null && mode == ONE_WAY && response != null) {
                        MESSAGES.release(response);
                    }
                    error = failure;
                    delivered = true;
                    Thread w = waiter;
                    if (w != null) {
                        LockSupport.unpark(w);
                    }
                }
            }
        } finally {
            release();
        }
    }

    /**
     * Like {@link #fail}, but user code (a listener, a future's continuations) runs on the handler executor, not
     * on this thread: the timer thread must not run user code, or one slow continuation would delay every
     * other deadline.
     */
    private boolean failElsewhere(Status status) {
        if (!finish()) {
            return false;
        }
        cleanUp();
        runtime.stats.callsFailed.increment();
        BatonException e = finalStatus(status).asException();
        if (mode == BLOCKING || mode == ONE_WAY) {
            deliver(null, e);
            return true;
        }
        runtime.runElsewhere(() -> deliver(null, e));
        return true;
    }

    private Status finalStatus(Status status) {
        // An earlier attempt may have run: never claim the call is safe to send again.
        return maybeRan && status.retrySafe() ? status.withRetrySafe(false) : status;
    }

    /** After {@link CallFuture#cancel}: tell the server, release the slot. */
    void afterCancel() {
        cleanUp();
        runtime.stats.callsFailed.increment();
        sendCancelIfWritten();
    }

    void onDeadline() {
        if (isDone()) {
            return;
        }
        if (runtime.isClosed()) {
            fail(Status.of(Status.Code.CLOSED, "the node closed before '" + service + "' answered"));
            return;
        }
        ConnState c = connection;
        SimpleFrame cancel = written && c != null ? cancelFrame() : null;
        if (failElsewhere(Status.of(Status.Code.DEADLINE_EXCEEDED, "no response from '" + service + "' within "
                + (options.timeout() != null ? options.timeout().toMillis() : runtime.defaultTimeoutMs()) + " ms"))
                && cancel != null) {
            // Not from this (the timer) thread: it could become the connection's writer and run its callbacks.
            runtime.runElsewhere(() -> c.connection.offer(cancel));
        }
    }

    private SimpleFrame cancelFrame() {
        return new SimpleFrame(FrameType.CANCEL, 0, 0, requestId, frameServiceId(), frameServerId(), method, null);
    }

    private void sendCancelIfWritten() {
        ConnState c = connection;
        if (written && c != null) {
            c.connection.offer(cancelFrame());
        }
    }

    @Override
    public void onWritten() {
        try {
            // Read before `written` is set: the close handler takes only calls it sees written, so until then
            // `connection` is still this attempt's (afterwards a re-route may already have moved the call on).
            ConnState c = connection;
            written = true;
            maybeRan = true;
            if (oneWay()) {
                complete(Message.empty());
                return;
            }
            // The connection may have closed between the write and this report, after its close handler
            // looked for written calls: fail the call here then, so it never waits for a response that cannot come.
            if (c != null && !c.connection.isOpen() && c.pending.remove(requestId, this)) {
                // Whoever removes the call from the table handles its loss: here, or the close handler.
                onConnectionLost(Status.of(Status.Code.UNAVAILABLE, "connection closed"));
            }
        } finally {
            release();      // the transport's reference
        }
    }

    @Override
    public void onDropped(BatonException cause) {
        try {
            ConnState c = connection;
            if (c != null) {
                c.pending.remove(requestId, this);
            }
            connection = null;
            if (cause.code() == Status.Code.MESSAGE_TOO_LARGE) {
                // Too large for that peer (another server would likely refuse it too). Delivered elsewhere: this
                // is the writer, in the middle of building a batch, and must not run a listener.
                failElsewhere(cause.status());
            } else if (!isDone()) {
                runtime.reroute(this, cause.status());
            }
        } finally {
            release();      // the transport's reference
        }
    }

    /** The connection broke after the request was (possibly) delivered. */
    void onConnectionLost(Status cause) {
        connection = null;
        if (cause.code() == Status.Code.CLOSED && runtime.isClosed()) {
            fail(Status.of(Status.Code.CLOSED, "the node closed before '" + service + "' answered"));
            return;
        }
        Status lost = Status.of(Status.Code.UNAVAILABLE, "connection to rank " + lastRank
                + " lost after the request was sent (" + cause.description() + ")");
        if (options.idempotent()) {
            runtime.reroute(this, lost);      // safe to run again: try another server within the deadline
        } else {
            fail(lost);                             // it may have run: never run it twice
        }
    }

    @Override
    public String toString() {
        return "PendingCall[" + service + "#" + method + ", id " + requestId + "]";
    }
}
