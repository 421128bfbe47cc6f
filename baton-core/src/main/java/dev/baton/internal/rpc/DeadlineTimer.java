package dev.baton.internal.rpc;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * Enforces deadlines, of calls made here ({@link PendingCall}) and of requests served here
 * ({@link ServerCallImpl}): a hashed timing wheel of 1024 ticks of 1 ms, driven by one thread.
 *
 * <p>Each tick has {@value #STRIPES} buckets, and a thread adds to the one its id picks; a bucket is an intrusive
 * doubly linked list of {@link Entry entries} (each call record owns one, reused with it) under the bucket's own
 * monitor, so adding a call and removing it when it completes are a lock that threads calling at once do not share
 * and a few pointer writes: no allocation, no wake-up of the timer thread (a {@code ScheduledExecutorService} would
 * allocate a task per call and, whenever the new task is the earliest, wake its thread across cores). Completed
 * calls leave the wheel at once, so nothing they reference is retained.
 *
 * <p>The thread visits the buckets of each tick and expires the calls whose deadline has passed; calls due in a
 * later revolution stay. A call is never put into a bucket already visited for its tick (checked under the
 * bucket's lock), so no deadline is missed by a revolution. Deadlines fire at most about two ticks late. The
 * thread also runs the node's rare delayed housekeeping tasks.
 *
 * <h2>An idle node's timer sleeps</h2>
 * Every {@value #IDLE_CHECK_TICKS} ticks the thread looks whether the node is idle: no call made or request
 * received since the last look (the node's counters), and the whole wheel empty. Once it has been at
 * {@value #IDLE_CHECKS} looks in a row (about a second without a call), it sleeps until
 * the next housekeeping task, at most {@value #IDLE_SLEEP_MS} ms, instead of waking every tick. It announces the
 * sleep ({@link #sleeping}, volatile) before it looks at the buckets under their locks, and {@link #add} reads
 * the flag after linking under the bucket's lock, so either the thread sees the new entry or the adder sees the
 * flag and unparks it: no deadline waits for the sleep to end. Only the first call after a quiet second pays
 * that unpark. A node with traffic never sleeps, even when its calls are so short that the wheel is mostly empty:
 * its timer keeps ticking as before (on this VM the ticks also keep the vCPUs from idling deeply, which the
 * wake-ups of a TCP ping-pong feel: sequential calls measured p50 22 µs ticking and 33 µs with a sleeping timer).
 */
final class DeadlineTimer implements Runnable {

    private static final System.Logger LOG = System.getLogger(DeadlineTimer.class.getName());
    static final long TICK_NS = 1_000_000L;
    private static final int BUCKETS = 1024;
    private static final int MASK = BUCKETS - 1;
    /**
     * Buckets per tick (a power of two), each under its own monitor; a thread adds to the one its id picks, so threads
     * that call at once do not queue on one lock (calls of the same millisecond with the same timeout share a tick).
     */
    private static final int STRIPES = 4;
    static final int IDLE_CHECK_TICKS = 100;
    static final int IDLE_CHECKS = 10;
    static final long IDLE_SLEEP_MS = 1_000;

    private record Task(long atNanos, Runnable action) {
    }

    /**
     * What the wheel holds: a deadline and the links, owned by one call record and reused with it. The owner
     * unlinks it ({@link #remove}) before it releases its own reference, so an entry in the wheel always belongs
     * to a live record; the timer takes a reference ({@link #retain}) under the bucket's monitor, before it takes
     * the entry out of the wheel, and {@link #expire expires} it with no lock held. {@link #remove} looks at
     * {@code bucket} without the monitor: once it reads the entry out of the wheel, the timer's reference is
     * already taken (the unlink's release store publishes it), so the owner may drop its own.
     */
    abstract static class Entry {
        long deadlineNanos;
        private Entry prev;
        private Entry next;
        private int bucket = -1;

        /** Called under the bucket's monitor while linked: keep the owner from being recycled. */
        abstract void retain();

        abstract void release();

        /** The deadline passed. The timer thread, no lock held, between {@link #retain} and {@link #release}. */
        abstract void expire();
    }

    /** {@link Entry#bucket}: written under the bucket's monitor, read without it by {@link #remove}. */
    private static final VarHandle BUCKET;

    static {
        try {
            BUCKET = MethodHandles.lookup().findVarHandle(Entry.class, "bucket", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** A bucket's list head; its monitor guards the list, the links of the entries in it and visitedTick. */
    private static final class Bucket {
        Entry head;
        long visitedTick = -1;
    }

    /** The buckets of tick {@code t}: {@code wheel[(t & MASK) * STRIPES + stripe]}, for every stripe. */
    private final Bucket[] wheel = new Bucket[BUCKETS * STRIPES];
    private final long startNanos = System.nanoTime();
    private final PriorityQueue<Task> tasks = new PriorityQueue<>((a, b) -> Long.compare(a.atNanos, b.atNanos));
    private final Thread thread;
    private final Runnable afterExpiries;
    private volatile long processedTick = -1;
    private volatile boolean running = true;
    /** True while the thread may sleep past the next tick: an adder unparks it. */
    private volatile boolean sleeping;
    private final LongSupplier activity;
    private int emptyChecks;            // the timer thread only
    private long lastActivity = -1;     // the timer thread only
    private volatile long rounds;       // written by the timer thread only

    /**
     * @param afterExpiries runs on the timer thread after each round of expiries (to hand off their batch)
     * @param activity      a count that grows with every call made or request received (read every
     *                      {@value #IDLE_CHECK_TICKS} ticks, never on the call path)
     */
    DeadlineTimer(String name, Runnable afterExpiries, LongSupplier activity) {
        this.afterExpiries = afterExpiries;
        this.activity = activity;
        for (int i = 0; i < wheel.length; i++) {
            wheel[i] = new Bucket();
        }
        this.thread = Thread.ofPlatform().name("baton-timer-" + name).daemon(true).unstarted(this);
    }

    /** Starts the timer thread (once whoever {@code afterExpiries} calls exists). */
    void start() {
        thread.start();
    }

    /**
     * Watches {@code e}'s deadline ({@link Entry#deadlineNanos}). Any thread. The entry goes into the bucket of
     * its due tick, unless the timer has already visited that bucket for that tick (the check is made under the
     * bucket's lock, which the timer holds while it visits), in which case it goes into the next bucket still
     * ahead.
     */
    void add(Entry e) {
        long tick = Math.max((e.deadlineNanos - startNanos + TICK_NS - 1) / TICK_NS, processedTick + 1);
        long id = Thread.currentThread().threadId();
        int stripe = (int) (id ^ (id >>> 3)) & (STRIPES - 1);
        while (true) {
            int index = (int) (tick & MASK) * STRIPES + stripe;
            Bucket b = wheel[index];
            boolean linked = false;
            synchronized (b) {
                if (b.visitedTick < tick) {
                    e.bucket = index;
                    e.next = b.head;
                    e.prev = null;
                    if (b.head != null) {
                        b.head.prev = e;
                    }
                    b.head = e;
                    linked = true;
                }
            }
            if (linked) {
                if (sleeping) {
                    LockSupport.unpark(thread);
                }
                return;
            }
            tick = Math.max(tick + 1, processedTick + 1);
        }
    }

    /** Stops watching {@code e}. Any thread; a no-op when it is not in the wheel. */
    void remove(Entry e) {
        int index = (int) BUCKET.getAcquire(e);     // -1: out of the wheel, and any timer reference already taken
        if (index < 0) {
            return;
        }
        Bucket b = wheel[index];
        synchronized (b) {
            if (e.bucket != index) {
                return;
            }
            unlink(b, e);
        }
    }

    private static void unlink(Bucket b, Entry e) {
        Entry prev = e.prev;
        Entry next = e.next;
        if (prev == null) {
            b.head = next;
        } else {
            prev.next = next;
        }
        if (next != null) {
            next.prev = prev;
        }
        e.prev = null;
        e.next = null;
        BUCKET.setRelease(e, -1);       // last: publishes what came before (the timer's reference)
    }

    /** How many times the thread has woken and looked at the wheel (for tests). */
    long rounds() {
        return rounds;
    }

    /** True while the thread sleeps past its ticks, the wheel being empty (for tests). */
    boolean isSleeping() {
        return sleeping;
    }

    /** True on the timer thread. */
    boolean isTimerThread() {
        return Thread.currentThread() == thread;
    }

    /** Runs {@code action} on the timer thread after {@code delayNs}. */
    void schedule(Runnable action, long delayNs) {
        synchronized (tasks) {
            tasks.add(new Task(System.nanoTime() + delayNs, action));
        }
        if (sleeping) {
            LockSupport.unpark(thread);
        }
    }

    @Override
    public void run() {
        while (running) {
            try {
                long now = System.nanoTime();
                long nowTick = (now - startNanos) / TICK_NS;
                for (long t = processedTick + 1; t <= nowTick; t++) {
                    for (int i = 0; i < STRIPES; i++) {
                        expire(wheel[(int) (t & MASK) * STRIPES + i], t, now, false);
                    }
                    processedTick = t;
                }
                afterExpiries.run();
                runTasks(now);
                rounds++;
                if (nowTick % IDLE_CHECK_TICKS == 0 && idleSleep()) {
                    continue;
                }
            } catch (Throwable t) {
                sleeping = false;
                LOG.log(System.Logger.Level.ERROR, "deadline timer failed", t);
            }
            LockSupport.parkNanos(TICK_NS);
        }
    }

    /** Sleeps long when the wheel has been empty at {@link #IDLE_CHECKS} checks in a row; true when it slept. */
    private boolean idleSleep() {
        long now = activity.getAsLong();
        boolean quiet = now == lastActivity;
        lastActivity = now;
        if (!quiet) {
            emptyChecks = 0;
            return false;
        }
        sleeping = true;                // before the look at the buckets: see the class comment
        if (!wheelEmpty()) {
            sleeping = false;
            emptyChecks = 0;
            return false;
        }
        if (++emptyChecks < IDLE_CHECKS) {
            sleeping = false;
            return false;
        }
        long sleepNs = TimeUnit.MILLISECONDS.toNanos(IDLE_SLEEP_MS);
        synchronized (tasks) {
            Task next = tasks.peek();
            if (next != null) {
                sleepNs = Math.min(sleepNs, next.atNanos - System.nanoTime());
            }
        }
        if (sleepNs > TICK_NS && running) {
            LockSupport.parkNanos(this, sleepNs);
        }
        sleeping = false;
        return true;
    }

    private boolean wheelEmpty() {
        for (Bucket b : wheel) {
            synchronized (b) {
                if (b.head != null) {
                    return false;
                }
            }
        }
        return true;
    }

    private void expire(Bucket b, long tick, long now, boolean all) {
        Entry due = null;
        synchronized (b) {
            b.visitedTick = Math.max(b.visitedTick, tick);
            Entry e = b.head;
            while (e != null) {
                Entry next = e.next;
                if (all || e.deadlineNanos - now <= 0) {
                    // The reference first, while the entry is still in the wheel (so still referenced by its
                    // owner): once it is out, the owner's remove() returns at once and may recycle the record.
                    e.retain();
                    unlink(b, e);
                    e.next = due;           // reuse the link for a private list of due entries
                    due = e;
                }
                e = next;
            }
        }
        while (due != null) {
            Entry next = due.next;
            due.next = null;
            try {
                due.expire();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "expiring a deadline threw", e);
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

    /** Stops the thread, then expires every entry still in the wheel (the runtime fails its calls as closed). */
    void shutdown() {
        running = false;
        LockSupport.unpark(thread);
        if (Thread.currentThread() != thread && thread.isAlive()) {
            try {
                thread.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Bucket b : wheel) {
            expire(b, Long.MAX_VALUE, 0, true);
        }
        afterExpiries.run();
        synchronized (tasks) {
            tasks.clear();
        }
    }
}
