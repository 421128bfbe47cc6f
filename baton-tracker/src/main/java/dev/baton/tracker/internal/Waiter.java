package dev.baton.tracker.internal;

import java.util.Comparator;

/**
 * A REQUEST waiting for a server: TVM's heap item {@code (-priority, arrival)}, from a TVM connection or (with
 * {@link #nativeRequest}) a Baton call. Owned by the loop thread.
 */
final class Waiter {

    /** Higher priority first; equal priorities in the order the tracker received them. */
    static final Comparator<Waiter> SERVICE_ORDER = (a, b) -> {
        int c = Double.compare(b.priority, a.priority);
        return c != 0 ? c : Long.compare(a.arrival, b.arrival);
    };

    /** Earliest deadline first; ties by arrival, so that distinct waiters never compare equal. */
    static final Comparator<Waiter> DEADLINE_ORDER = (a, b) -> {
        int c = Long.compare(a.deadlineNs, b.deadlineNs);
        return c != 0 ? c : Long.compare(a.arrival, b.arrival);
    };

    final TvmConnection conn;
    final String key;
    final double priority;
    final long arrival;
    /** {@link System#nanoTime()} after which the tracker gives up on it; meaningful only if {@link #hasDeadline}. */
    final long deadlineNs;
    final boolean hasDeadline;
    /** Served, expired or cancelled: no longer in its queue. */
    boolean done;
    /** The Baton call waiting (its {@link #conn} is null then); null for a TVM request. */
    final NativeRequest nativeRequest;

    Waiter(TvmConnection conn, String key, double priority, long arrival, boolean hasDeadline, long deadlineNs) {
        this(conn, null, key, priority, arrival, hasDeadline, deadlineNs);
    }

    Waiter(TvmConnection conn, NativeRequest nativeRequest, String key, double priority, long arrival,
           boolean hasDeadline, long deadlineNs) {
        this.conn = conn;
        this.nativeRequest = nativeRequest;
        this.key = key;
        this.priority = priority + 0.0;   // -0.0 and 0.0 are one priority
        this.arrival = arrival;
        this.hasDeadline = hasDeadline;
        this.deadlineNs = deadlineNs;
    }
}
