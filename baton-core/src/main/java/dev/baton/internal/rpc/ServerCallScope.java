package dev.baton.internal.rpc;

import dev.baton.Status;
import dev.baton.spi.CallScope;

import java.util.ArrayList;
import java.util.List;

/**
 * The scope of one served call, made on the first {@link ServerCallImpl#childOptions()}: the calls made under it
 * ({@link PendingCall}s) attach while they run, and are cancelled when the served call is. Never recycled, so a child
 * that outlives the served call's record still holds a valid object.
 *
 * <p>Thread-safe. The lock guards the children: a child is attached from its start until its {@code cleanUp},
 * which detaches it before its owner's reference goes, so {@link #cancel} may take a reference on every child it
 * finds (the pending tables' pattern).
 */
final class ServerCallScope implements CallScope {

    private final long deadlineNanos;
    private final List<PendingCall> children = new ArrayList<>(2);     // guarded by this
    private Status cancelled;                                           // guarded by this

    ServerCallScope(long deadlineNanos) {
        this.deadlineNanos = deadlineNanos;
    }

    @Override
    public long deadlineNanos() {
        return deadlineNanos;
    }

    @Override
    public synchronized boolean isCancelled() {
        return cancelled != null || (deadlineNanos != Long.MAX_VALUE && System.nanoTime() - deadlineNanos >= 0);
    }

    /** Attaches a starting call; null when it may run, else why it must not (the scope was cancelled). */
    synchronized Status attach(PendingCall child) {
        if (cancelled != null) {
            return cancelled;
        }
        children.add(child);
        return null;
    }

    synchronized void detach(PendingCall child) {
        children.remove(child);
    }

    /**
     * The in-process call this scope's served call answers ended with {@code failure} (null: it succeeded, or has
     * not ended yet): when its caller gave up (cancelled, or its deadline passed), the scope is cancelled. Safe to
     * call twice, from either side of the race between the scope's creation and the caller's end.
     */
    static void callerEnded(ServerCallScope scope, Status.Code failure) {
        if (scope != null && (failure == Status.Code.CANCELLED || failure == Status.Code.DEADLINE_EXCEEDED)) {
            scope.cancel(Status.of(failure, failure == Status.Code.CANCELLED
                    ? "the caller of the call being served cancelled it" : "the deadline of the call being served passed"));
        }
    }

    /** Cancels every attached call, once; calls attaching later fail at once. */
    void cancel(Status why) {
        PendingCall[] now;
        synchronized (this) {
            if (cancelled != null) {
                return;
            }
            cancelled = why;
            now = children.toArray(new PendingCall[0]);
            for (PendingCall c : now) {
                c.retain();
            }
            children.clear();
        }
        for (PendingCall c : now) {
            try {
                c.cancel(why);
            } finally {
                c.release();
            }
        }
    }
}
