package dev.baton.internal.tls;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One piece of work a background watch does again and again (fetching a revocation list, asking about a peer chain):
 * at most one run at a time, each on a virtual thread of its own, each saying when the next is due.
 */
abstract class Recurring {

    private final AtomicBoolean running = new AtomicBoolean();
    private volatile long dueNanos;
    private volatile Thread runner;         // the run under way, or the last one
    private final CountDownLatch firstRun = new CountDownLatch(1);      // counted down as the first run ends

    /** Due at {@code dueNanos} ({@link System#nanoTime}): now, for work that should start at once. */
    Recurring(long dueNanos) {
        this.dueNanos = dueNanos;
    }

    /** One run, on its own thread; returns when the next run is due. */
    abstract long run();

    private boolean due(long nowNanos) {
        return nowNanos - dueNanos >= 0;
    }

    /** Starts a run of each of {@code items} that is due, on virtual threads named {@code name}. */
    static void startDue(Iterable<? extends Recurring> items, String name) {
        long now = System.nanoTime();
        for (Recurring r : items) {
            if (r.due(now)) {
                r.start(name);
            }
        }
    }

    /** Starts a run on a virtual thread named {@code name}, unless one is under way; returns the thread, or null. */
    final Thread start(String name) {
        if (!running.compareAndSet(false, true)) {
            return null;
        }
        Thread t = Thread.ofVirtual().name(name).unstarted(() -> {
            try {
                dueNanos = run();
            } finally {
                running.set(false);
                firstRun.countDown();
            }
        });
        runner = t;
        t.start();
        return t;
    }

    /**
     * Waits until the run under way ends (or the first one, when none has started yet: whoever made this starts it),
     * or {@code deadlineNanos} ({@link System#nanoTime}) passes.
     */
    final void awaitRun(long deadlineNanos) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
            return;
        }
        Thread t = runner;
        try {
            if (t == null) {
                firstRun.await(left, TimeUnit.NANOSECONDS);
            } else {
                t.join(Duration.ofNanos(left));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
