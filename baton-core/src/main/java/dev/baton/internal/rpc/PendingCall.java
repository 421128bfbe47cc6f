package dev.baton.internal.rpc;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Message;
import dev.baton.ResponseListener;
import dev.baton.Status;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.FrameType;
import dev.baton.spi.MessageAccess;
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
 * ({@link #LISTENER}), a thread blocked in {@link CallWaiter} ({@link #BLOCKING}), or nobody ({@link #ONE_WAY}:
 * the starter only checks for an early error).
 *
 * <h2>Attempts</h2>
 * A call may be sent more than once: after its attempt was dropped unsent, refused by the server before any
 * handler ran, or (when idempotent) lost with its connection. {@link #written} says whether the current attempt
 * may have reached a handler; {@link #priorMayHaveRun} remembers it of earlier attempts, so a failure is
 * retry-safe only while no attempt may have run. A refusal that arrives while the transport still holds the
 * attempt's frame is kept until the transport reports the frame ({@link #sendState}): a frame is never offered
 * twice at once.
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

    private static final int NOT_SENDING = 0;
    private static final int SENDING = 1;
    private static final int SENDING_REFUSED = 2;

    private static final System.Logger LOG = System.getLogger(PendingCall.class.getName());
    private static final MessageAccess MESSAGES = MessageAccess.get();
    private static final AtomicIntegerFieldUpdater<PendingCall> DONE =
            AtomicIntegerFieldUpdater.newUpdater(PendingCall.class, "done");
    private static final AtomicIntegerFieldUpdater<PendingCall> REFS =
            AtomicIntegerFieldUpdater.newUpdater(PendingCall.class, "refs");
    private static final AtomicIntegerFieldUpdater<PendingCall> SEND_STATE =
            AtomicIntegerFieldUpdater.newUpdater(PendingCall.class, "sendState");

    private final CallHost host;
    /** This call's place in the deadline wheel. */
    final DeadlineTimer.Entry deadline = new CallDeadline(this);
    private String service;
    private CallOptions options;
    private int method;
    private ByteBuffer request;
    private long requestId;
    /** When the call started (System.nanoTime), for its latency. */
    private long startNanos;
    private int mode;
    private CallFuture future;                  // FUTURE only
    private ResponseListener listener;          // LISTENER only
    private CallObservers observers;            // the interceptors' observers; null (the usual case) for none
    // For servedUnder: the in-process served call's scope; how this call ended (null: running, or succeeded).
    private volatile ServerCallScope servedScope;
    private volatile Status.Code endedWith;

    private volatile int done;
    private volatile int refs;
    private volatile int sendState;
    private volatile Status refusalWhileSending;
    /** The current attempt may have reached a handler: written (a byte on the wire) or handed to a local server. */
    private volatile boolean written;
    /** The caller gave up: a CANCEL goes to the server once the request is written. */
    private volatile boolean cancelWanted;
    /** Sticky: an earlier attempt may have run. */
    private volatile boolean priorMayHaveRun;
    /** The connection whose pending table holds this call, while it waits for a response. */
    private volatile ConnState connection;
    /** The caller's side of the stream this call opens (flag STREAM), or null: calls that open streams never move. */
    ClientStreamImpl stream;
    /** Rank it was last sent to (so a re-route avoids it). */
    private volatile int lastRank = -1;
    private int attempts;
    private int poolStripe;

    // The outcome, for BLOCKING and ONE_WAY: written before `delivered`, read after it.
    private Message result;
    private BatonException error;
    private volatile boolean delivered;
    private volatile Thread waiter;
    /** A failure claimed by a thread that must not deliver it (see {@link #failElsewhere}). */
    private Status failureToDeliver;
    /** Links the calls whose deliveries the timer batches (the timer thread's own list). */
    PendingCall nextDelivery;
    // Polling begun as the request goes out, taken over by CallWaiter (CallSender.sendRemote); the starter's only.
    Thread prePollThread;
    TransportConnection prePolled;

    PendingCall(CallHost host) {
        this.host = host;
    }

    /** Sets the call up for one use; it starts with two references, the owner's and the starter's. */
    PendingCall init(String service, CallOptions options, int method, ByteBuffer request, long requestId,
                     long startNanos, long deadlineNanos, int mode, ResponseListener listener, int poolStripe,
                     CallObservers observers) {
        this.observers = observers;
        this.stream = null;
        if (endedWith != null || servedScope != null || cancelWanted) {     // volatile: written only when set
            servedScope = null;
            endedWith = null;
            cancelWanted = false;
        }
        this.poolStripe = poolStripe;
        this.startNanos = startNanos;
        this.service = service;
        this.options = options;
        this.method = method;
        this.request = request;
        this.requestId = requestId;
        this.deadline.deadlineNanos = deadlineNanos;
        this.mode = mode;
        this.listener = listener;
        this.future = mode == FUTURE ? new CallFuture(this) : null;
        written = false;
        priorMayHaveRun = false;
        sendState = NOT_SENDING;
        refusalWhileSending = null;
        connection = null;
        lastRank = -1;
        attempts = 0;
        result = null;
        error = null;
        failureToDeliver = null;
        waiter = null;
        delivered = false;
        refs = 2;
        done = 0;       // last: a volatile write that publishes the rest
        return this;
    }

    // ================================================================== what the sender reads

    /** The pool stripe of the thread that started the call: the record goes back there. */
    int poolStripe() {
        return poolStripe;
    }

    String service() {
        return service;
    }

    CallOptions options() {
        return options;
    }

    int method() {
        return method;
    }

    ByteBuffer request() {
        return request;
    }

    /** The bytes the request's metadata takes on the wire. */
    int requestMetadataSize() {
        return options.hasMetadata() ? options.metadata().encodedSize() : 0;
    }

    long startNanos() {
        return startNanos;
    }

    long requestId() {
        return requestId;
    }

    long deadlineNanos() {
        return deadline.deadlineNanos;
    }

    CallFuture future() {
        return future;
    }

    boolean oneWay() {
        return mode == ONE_WAY;
    }

    boolean addressed() {
        return options.serverId() >= 0 || options.rank() >= 0 || stream != null;
    }

    int requestFlags() {
        return (oneWay() ? FrameType.FLAG_ONE_WAY : 0) | (options.idempotent() ? FrameType.FLAG_IDEMPOTENT : 0)
                | (stream != null ? FrameType.FLAG_STREAM : 0);
    }

    int attempts() {
        return attempts;
    }

    int lastRank() {
        return lastRank;
    }

    ConnState connection() {
        return connection;
    }

    boolean written() {
        return written;
    }

    boolean maybeRan() {
        return priorMayHaveRun || written;
    }

    boolean isDone() {
        return done != 0;
    }

    // ================================================================== what a waiting caller reads

    /** True once a BLOCKING or ONE_WAY outcome is published. */
    boolean delivered() {
        return delivered;
    }

    /** The thread to unpark when the outcome is published; set before re-checking {@link #delivered()}. */
    void waitingThread(Thread t) {
        waiter = t;
    }

    /** The BLOCKING call's response (the caller owns it), after {@link #delivered()}. */
    Message result() {
        return result;
    }

    /** The failure, after {@link #delivered()}; null on success. */
    BatonException error() {
        return error;
    }

    // ================================================================== attempts (the sender's side)

    /** This attempt goes to {@code rank}. */
    void target(int rank) {
        lastRank = rank;
    }

    /** This attempt waits for its response in {@code cs}'s pending table (set before the call goes in). */
    void awaitOn(ConnState cs) {
        connection = cs;
    }

    /** Offered to a transport: it holds the frame until onWritten or onDropped. Takes the transport's reference. */
    void sending() {
        sendState = SENDING;
        retain();
    }

    /** The offer was not taken: the frame is ours again. */
    void notSent() {
        sendState = NOT_SENDING;
        connection = null;
        release();
    }

    /** Handed to a server of this node: it may run. */
    void dispatchedLocally() {
        written = true;
    }

    /** Starts another attempt; returns how many came before. The current one never ran, unless it was written. */
    int nextAttempt() {
        priorMayHaveRun |= written;
        written = false;
        return ++attempts;
    }

    // ================================================================== completion

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
            observers = null;
            setMetadata(null);
            result = null;
            error = null;
            waiter = null;
            connection = null;
            failureToDeliver = null;
            setPayload(null);
            host.recycle(this);
        } else if (left < 0) {
            throw new IllegalStateException(this + " released more often than retained");
        }
    }

    /** The in-process served call made a scope for its calls: cancelled when this call ends unanswered. */
    void servedUnder(ServerCallScope scope) {
        servedScope = scope;                // then read endedWith; cleanUp writes it, then reads servedScope
        ServerCallScope.callerEnded(scope, endedWith);
    }

    /** {@code failure} is null when the call succeeded. */
    private void cleanUp(Status.Code failure) {
        if (options.scope() instanceof ServerCallScope parent) {
            parent.detach(this);
        }
        if (failure != null) {
            endedWith = failure;        // then read servedScope; servedUnder writes it, then reads endedWith
            ServerCallScope.callerEnded(servedScope, failure);
        }
        host.timer().remove(deadline);
        ConnState c = connection;
        if (c != null) {
            c.removePending(this);
        }
        host.ended(this, failure);
    }

    void complete(Message response) {
        if (!finish()) {
            MESSAGES.release(response);
            return;
        }
        cleanUp(null);
        deliver(response, null);
    }

    void fail(Status status) {
        if (!finish()) {
            return;
        }
        cleanUp(status.code());
        deliver(null, finalStatus(status).asException());
    }

    /** Fails the call and, if it was written, tells the server: a blocked caller interrupted, say. */
    void cancel(Status status) {
        if (finish()) {
            cleanUp(status.code());
            sendCancelIfWritten();
            deliver(null, finalStatus(status).asException());
        }
    }

    /** After {@link CallFuture#cancel}: tell the server, release the slot. */
    void afterCancel() {
        cleanUp(Status.Code.CANCELLED);
        sendCancelIfWritten();
        CallObservers.end(observers, Status.of(Status.Code.CANCELLED, "the caller cancelled the call"), null);
    }

    /**
     * Hands the outcome over, then drops the owner's reference. A listener borrows the response only while it
     * runs; a future or a blocked caller gets a message of its own.
     */
    private void deliver(Message response, BatonException failure) {
        try {
            CallObservers.end(observers, failure == null ? Status.OK : failure.status(),
                    failure == null ? response.metadata() : failure.status().metadata());
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
     * on this thread: the timer and a connection's writer must not run user code (one slow continuation would
     * delay every other deadline, or hold a connection's writes).
     */
    private void failElsewhere(Status status) {
        if (!finish()) {
            return;
        }
        cleanUp(status.code());
        if (mode == BLOCKING || mode == ONE_WAY) {
            deliver(null, finalStatus(status).asException());
        } else {
            failureToDeliver = status;
            host.deliverElsewhere(this);
        }
    }

    /** Delivers the failure {@link #failElsewhere} claimed; on the handler executor. */
    void deliverClaimedFailure() {
        Status s = failureToDeliver;
        failureToDeliver = null;
        // No stack trace: made on a Baton thread, it would show only Baton's internals, and a flood of expiries
        // must not cost a stack walk each.
        deliver(null, new BatonException(finalStatus(s), false));
    }

    private Status finalStatus(Status status) {
        // An attempt may have run: never claim the call is safe to send again.
        return maybeRan() && status.retrySafe() ? status.withRetrySafe(false) : status;
    }

    /** The deadline passed. The server enforces the same deadline itself, so no CANCEL is sent for it. */
    void onDeadline() {
        if (isDone()) {
            return;
        }
        if (host.closing()) {
            failElsewhere(Status.of(Status.Code.CLOSED, "the node closed before '" + service + "' answered"));
            return;
        }
        long ms = (deadline.deadlineNanos - startNanos) / 1_000_000L;
        failElsewhere(Status.of(Status.Code.DEADLINE_EXCEEDED, "no response from '" + service + "' within " + ms
                + " ms" + (options.scope() != null && options.scope().deadlineNanos() == deadline.deadlineNanos
                ? " (the deadline of the call being served)" : "")));
    }

    /**
     * Tells the server the caller gave up, if the request reached the wire; if the transport still holds it,
     * {@link #onWritten} does once it is written (each side writes its flag, then reads the other's).
     */
    private void sendCancelIfWritten() {
        cancelWanted = true;
        ConnState c = connection;
        if (written && c != null) {
            sendCancel(c);
        }
    }

    private void sendCancel(ConnState c) {
        c.connection.offer(new SimpleFrame(FrameType.CANCEL, 0, 0, requestId, frameServiceId(), frameServerId(),
                method, null));
    }

    // ================================================================== from the transport and the server

    @Override
    public void onWritten() {
        try {
            // Read before `written` is set: the close handler takes only calls it sees written, so until then
            // `connection` is still this attempt's.
            ConnState c = connection;
            if (SEND_STATE.getAndSet(this, NOT_SENDING) == SENDING_REFUSED) {
                rerouteRefused();       // the server refused the attempt before this report came
                return;
            }
            written = true;
            if (oneWay()) {
                complete(Message.empty());
                return;
            }
            if (cancelWanted && c != null) {
                sendCancel(c);          // cancelled while the transport held the request
                return;
            }
            // The connection may have closed between the write and this report, after its close handler looked
            // for written calls: fail the call here then, so it never waits for a response that cannot come.
            if (c != null && !c.connection.isOpen() && c.removePending(this)) {
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
            boolean refused = SEND_STATE.getAndSet(this, NOT_SENDING) == SENDING_REFUSED;
            ConnState c = connection;
            if (c != null) {
                c.removePending(this);
            }
            connection = null;
            if (refused) {
                rerouteRefused();
            } else if (cause.code() == Status.Code.MESSAGE_TOO_LARGE || cause.code() == Status.Code.UNAUTHENTICATED) {
                // Too large for that peer, or the handshake failed the cluster secret (another server would likely
                // refuse it too). Delivered elsewhere: this is the writer, in the middle of building a batch, and
                // must not run a listener.
                failElsewhere(cause.status().withRetrySafe(true));
            } else if (!isDone()) {
                host.reroute(this, cause.status());
            }
        } finally {
            release();      // the transport's reference
        }
    }

    /** The connection broke after the request was (possibly) delivered. */
    void onConnectionLost(Status cause) {
        connection = null;
        if (cause.code() == Status.Code.CLOSED && host.closing()) {
            fail(Status.of(Status.Code.CLOSED, "the node closed before '" + service + "' answered"));
            return;
        }
        Status lost = Status.of(Status.Code.UNAVAILABLE, "connection to rank " + lastRank
                + " lost after the request was sent (" + cause.description() + ")");
        if (options.idempotent()) {
            host.reroute(this, lost);      // safe to run again: try another server within the deadline
        } else {
            fail(lost);                     // it may have run: never run it twice
        }
    }

    /**
     * The server refused this attempt before any handler saw it ({@code refusal} is retry-safe): it did not run,
     * so it goes to another server, or fails with the refusal once none is left. Waits for the transport's
     * report when the transport still holds the frame.
     */
    void onRefused(Status refusal) {
        connection = null;
        refusalWhileSending = refusal;
        if (SEND_STATE.compareAndSet(this, SENDING, SENDING_REFUSED)) {
            return;         // onWritten or onDropped takes it from here
        }
        rerouteRefused();
    }

    private void rerouteRefused() {
        Status refusal = refusalWhileSending;
        refusalWhileSending = null;
        written = false;    // this attempt never ran
        if (!isDone()) {
            host.rerouteRefused(this, refusal);
        }
    }

    @Override
    public String toString() {
        return "PendingCall[" + service + "#" + method + ", id " + requestId + "]";
    }
}
