package dev.baton.internal.rpc;

import java.util.PriorityQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * Enforces call deadlines: a hashed timing wheel of 1 ms ticks and 1024 buckets, driven by one thread.
 *
 * <p>Each bucket is an intrusive doubly linked list of {@link PendingCall}s under the bucket's own monitor,
 * so adding a call and removing it when it completes are an uncontended lock and a few pointer writes: no
 * allocation, no wake-up of the timer thread (a {@code ScheduledExecutorService} would allocate a task per
 * call and, whenever the new task is the earliest, wake its thread across cores). Completed calls leave
 * the wheel at once, so nothing they reference is retained.
 *
 * <p>The thread visits one bucket per tick and expires the calls whose deadline has passed; calls due in a
 * later revolution stay. A call is never put into a bucket already visited for its tick (checked under the
 * bucket's lock), so no deadline is missed by a revolution. Deadlines fire at most about two ticks late. The thread also runs the node's rare
 * delayed housekeeping tasks.
 */
final class DeadlineTimer implements Runnable {

    private static final System.Logger LOG = System.getLogger(DeadlineTimer.class.getName());
    static final long TICK_NS = 1_000_000L;
    private static final int BUCKETS = 1024;
    private static final int MASK = BUCKETS - 1;

    private record Task(long atNanos, Runnable action) {
    }

    /** A bucket's list head; its monitor guards the list, the links of the calls in it and visitedTick. */
    private static final class Bucket {
        PendingCall head;
        long visitedTick = -1;
    }

    private final Bucket[] wheel = new Bucket[BUCKETS];
    private final long startNanos = System.nanoTime();
    private final PriorityQueue<Task> tasks = new PriorityQueue<>((a, b) -> Long.compare(a.atNanos, b.atNanos));
    private final Thread thread;
    private volatile long processedTick = -1;
    private volatile boolean running = true;

    DeadlineTimer(String name) {
        for (int i = 0; i < BUCKETS; i++) {
            wheel[i] = new Bucket();
        }
        this.thread = Thread.ofPlatform().name("baton-timer-" + name).daemon(true).unstarted(this);
        thread.start();
    }

    /**
     * Watches {@code call}'s deadline. Any thread. The call goes into the bucket of its due tick, unless the
     * timer has already visited that bucket for that tick (the check is made under the bucket's lock, which
     * the timer holds while it visits), in which case it goes into the next bucket still ahead.
     */
    void add(PendingCall call) {
        long tick = Math.max((call.deadlineNanos - startNanos + TICK_NS - 1) / TICK_NS, processedTick + 1);
        while (true) {
            int index = (int) (tick & MASK);
            Bucket b = wheel[index];
            synchronized (b) {
                if (b.visitedTick < tick) {
                    call.wheelBucket = index;
                    call.wheelNext = b.head;
                    call.wheelPrev = null;
                    if (b.head != null) {
                        b.head.wheelPrev = call;
                    }
                    b.head = call;
                    return;
                }
            }
            tick = Math.max(tick + 1, processedTick + 1);
        }
    }

    /** Stops watching {@code call} (it completed). Any thread; a no-op when it is not in the wheel. */
    void remove(PendingCall call) {
        int index = call.wheelBucket;
        if (index < 0) {
            return;
        }
        Bucket b = wheel[index];
        synchronized (b) {
            if (call.wheelBucket != index) {
                return;
            }
            unlink(b, call);
        }
    }

    private static void unlink(Bucket b, PendingCall call) {
        PendingCall prev = call.wheelPrev;
        PendingCall next = call.wheelNext;
        if (prev == null) {
            b.head = next;
        } else {
            prev.wheelNext = next;
        }
        if (next != null) {
            next.wheelPrev = prev;
        }
        call.wheelPrev = null;
        call.wheelNext = null;
        call.wheelBucket = -1;
    }

    /** Runs {@code action} on the timer thread after {@code delayNs}. */
    void schedule(Runnable action, long delayNs) {
        synchronized (tasks) {
            tasks.add(new Task(System.nanoTime() + delayNs, action));
        }
    }

    @Override
    public void run() {
        while (running) {
            try {
                long now = System.nanoTime();
                long nowTick = (now - startNanos) / TICK_NS;
                for (long t = processedTick + 1; t <= nowTick; t++) {
                    expire(wheel[(int) (t & MASK)], t, now, false);
                    processedTick = t;
                }
                runTasks(now);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "deadline timer failed", t);
            }
            LockSupport.parkNanos(TICK_NS);
        }
    }

    private void expire(Bucket b, long tick, long now, boolean all) {
        PendingCall due = null;
        synchronized (b) {
            b.visitedTick = Math.max(b.visitedTick, tick);
            PendingCall c = b.head;
            while (c != null) {
                PendingCall next = c.wheelNext;
                if (all || c.deadlineNanos - now <= 0) {
                    unlink(b, c);
                    c.retain();             // still referenced by its owner while in the wheel
                    c.wheelNext = due;      // reuse the link for a private list of due calls
                    due = c;
                }
                c = next;
            }
        }
        while (due != null) {
            PendingCall next = due.wheelNext;
            due.wheelNext = null;
            try {
                due.onDeadline();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "failing a call at its deadline threw", e);
            } finally {
                due.release();
            }
            due = next;
        }
    }

    private void runTasks(long now) {
        while (true) {
            Task t;
            synchronized (tasks) {
                t = tasks.peek();
                if (t == null || t.atNanos - now > 0) {
                    return;
                }
                tasks.poll();
            }
            t.action().run();
        }
    }

    /** Stops the thread, then expires every call still in the wheel (the runtime fails them as closed). */
    void shutdown() {
        running = false;
        LockSupport.unpark(thread);
        if (Thread.currentThread() != thread) {
            try {
                thread.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Bucket b : wheel) {
            expire(b, Long.MAX_VALUE, 0, true);
        }
        synchronized (tasks) {
            tasks.clear();
        }
    }
}
