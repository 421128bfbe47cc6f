package dev.baton.tracker.internal;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The tracker's counters: written by its loop thread, read by any thread ({@code Tracker.stats()}). Thread-safe.
 */
public final class Counters {
    final AtomicLong accepted = new AtomicLong();
    final AtomicLong refused = new AtomicLong();
    final AtomicLong open = new AtomicLong();
    final AtomicLong protocolErrors = new AtomicLong();
    final AtomicLong stalled = new AtomicLong();
    final AtomicLong grants = new AtomicLong();
    final AtomicLong expired = new AtomicLong();
    final AtomicLong abandoned = new AtomicLong();
    final AtomicLong waiting = new AtomicLong();

    /** Connections accepted since start. */
    public long accepted() {
        return accepted.get();
    }

    /** Connections refused because {@code maxConnections} were open. */
    public long refused() {
        return refused.get();
    }

    /** Connections open now. */
    public long open() {
        return open.get();
    }

    /** Connections closed for breaking the protocol (bad magic, bad length, bad JSON, unknown code, a limit). */
    public long protocolErrors() {
        return protocolErrors.get();
    }

    /** Connections closed because they stalled: the magic, a frame, or reading the replies took too long. */
    public long stalled() {
        return stalled.get();
    }

    /** Servers handed to requests. */
    public long grants() {
        return grants.get();
    }

    /** Requests answered with a failure because they waited {@code maxRequestWait}. */
    public long expired() {
        return expired.get();
    }

    /** Requests dropped because their client disconnected while waiting. */
    public long abandoned() {
        return abandoned.get();
    }

    /** Requests waiting now. */
    public long waiting() {
        return waiting.get();
    }
}
