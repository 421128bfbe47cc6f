package dev.baton.internal.rpc;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Message;
import dev.baton.Status;
import dev.baton.spi.FrameType;
import dev.baton.spi.OutboundFrame;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * One call on the caller's side. It is its own request frame (no allocation to send it) and completes its
 * future exactly once: {@link #finish()} is the single gate every outcome passes through.
 */
final class PendingCall extends OutboundFrame {

    private static final AtomicIntegerFieldUpdater<PendingCall> DONE =
            AtomicIntegerFieldUpdater.newUpdater(PendingCall.class, "done");

    final NodeRuntime runtime;
    final String service;
    final CallOptions options;
    final int method;
    final ByteBuffer request;
    final long requestId;
    final long deadlineNanos;
    final boolean oneWay;
    final CallFuture future;

    private volatile int done;
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

    PendingCall(NodeRuntime runtime, String service, CallOptions options, int method, ByteBuffer request,
                long requestId, long deadlineNanos, boolean oneWay) {
        this.runtime = runtime;
        this.service = service;
        this.options = options;
        this.method = method;
        this.request = request;
        this.requestId = requestId;
        this.deadlineNanos = deadlineNanos;
        this.oneWay = oneWay;
        this.future = new CallFuture(this);
    }

    int requestFlags() {
        return (oneWay ? FrameType.FLAG_ONE_WAY : 0) | (options.idempotent() ? FrameType.FLAG_IDEMPOTENT : 0);
    }

    boolean isDone() {
        return done != 0;
    }

    /** Claims the right to complete the call; true exactly once. */
    boolean finish() {
        return DONE.compareAndSet(this, 0, 1);
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
            response.close();
            return;
        }
        cleanUp();
        runtime.stats.callsSucceeded.increment();
        future.complete(response);
    }

    void fail(Status status) {
        if (!finish()) {
            return;
        }
        cleanUp();
        runtime.stats.callsFailed.increment();
        future.completeExceptionally(finalStatus(status).asException());
    }

    /**
     * Like {@link #fail}, but the caller's continuations run on the handler executor, not on this thread: the
     * timer thread must not run user code, or one slow continuation would delay every other deadline.
     */
    private void failElsewhere(Status status) {
        if (!finish()) {
            return;
        }
        cleanUp();
        runtime.stats.callsFailed.increment();
        BatonException e = finalStatus(status).asException();
        try {
            runtime.handlerExecutor().execute(() -> future.completeExceptionally(e));
        } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
            future.completeExceptionally(e);
        }
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
        failElsewhere(Status.of(Status.Code.DEADLINE_EXCEEDED, "no response from '" + service + "' within "
                + (options.timeout() != null ? options.timeout().toMillis() : runtime.defaultTimeoutMs()) + " ms"));
        sendCancelIfWritten();
    }

    private void sendCancelIfWritten() {
        ConnState c = connection;
        if (written && c != null) {
            c.connection.offer(new SimpleFrame(FrameType.CANCEL, 0, 0, requestId, frameServiceId(), frameServerId(), method, null));
        }
    }

    @Override
    public void onWritten() {
        written = true;
        maybeRan = true;
        if (oneWay) {
            complete(Message.empty());
            return;
        }
        // The connection may have closed between the write and this report, after its close handler
        // looked for written calls: fail the call here then, so it never waits for a response that cannot come.
        ConnState c = connection;
        if (c != null && !c.connection.isOpen() && c.pending.remove(requestId, this)) {
            // Whoever removes the call from the table handles its loss: here, or the close handler.
            onConnectionLost(Status.of(Status.Code.UNAVAILABLE, "connection closed"));
        }
    }

    @Override
    public void onDropped(BatonException cause) {
        ConnState c = connection;
        if (c != null) {
            c.pending.remove(requestId, this);
        }
        connection = null;
        if (!isDone()) {
            runtime.reroute(this, cause.status());
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
