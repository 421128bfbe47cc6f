package dev.baton.isolation;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The pool's lock and the bookkeeping it guards: the workers (starting, idle, busy), the queue of calls waiting
 * for one, the counts {@link WorkerPoolStats} reports, and the scheduling steps on them: giving queued calls to
 * idle workers ({@link #dispatchLocked}) and taking a worker out of service ({@link #retireLocked}).
 *
 * <p>Threading: this object's monitor <em>is</em> the pool's lock. Every field is guarded by it, and so are the
 * fields of {@link Worker} and {@link Job} marked "guarded by the pool's lock"; methods named {@code ...Locked}
 * must be called with it held, the others take it. It is held for bookkeeping only: no I/O, no process handling,
 * no answer and no user code runs under it, and it is a leaf (nothing else is locked while it is held). Waiters
 * ({@link #awaitReady}, {@link #awaitStopped}) are woken by {@code notifyAll} on it.
 */
final class PoolState {

    private final String name;
    private final int concurrency;
    private final int target;

    final ArrayDeque<Worker> idle = new ArrayDeque<>();          // ready, most recently used first
    final Set<Worker> workers = new LinkedHashSet<>();           // starting, idle or busy: not retired
    final ArrayDeque<Job> queue = new ArrayDeque<>();
    int busy;
    int starting;
    int stopping;
    boolean closed;
    int startFailuresInARow;
    int nextWorkerId;
    long nextCallId;
    long served;
    long restarts;
    long deadlineKills;
    long cancelKills;
    long recycled;
    long queueFull;
    final EnumMap<CrashKind, Long> crashes = new EnumMap<>(CrashKind.class);

    PoolState(PoolSettings settings) {
        this.name = settings.name();
        this.concurrency = settings.concurrency();
        this.target = settings.target();
    }

    /** True if a call may not wait: the queue is full, and no worker is free to take it now. Lock held. */
    boolean queueFullLocked(int maxQueued) {
        return queue.size() >= maxQueued && !(busy < concurrency && !idle.isEmpty());
    }

    /** Gives queued calls to free workers, up to the concurrency; the caller sends them, outside the lock. */
    List<Job> dispatchLocked() {
        List<Job> sends = null;
        while (!queue.isEmpty() && busy < concurrency && !idle.isEmpty()) {
            Job j = queue.pollFirst();
            Worker w = idle.pollFirst();
            busy++;
            w.job = j;
            j.worker = w;
            if (sends == null) {
                sends = new ArrayList<>(2);
            }
            sends.add(j);
        }
        return sends;
    }

    /** Takes the worker out of service (it is not idle, busy or starting any more); the caller stops it. Lock held. */
    void retireLocked(Worker w) {
        if (w.retired) {
            return;
        }
        w.retired = true;
        if (!w.ready) {
            starting--;
        }
        if (w.job != null) {
            w.job = null;
            busy--;
        }
        idle.remove(w);
        workers.remove(w);
        stopping++;
        notifyAll();
    }

    /** True for the one caller that is to stop {@code w}: close() and the worker's own threads may both try. */
    synchronized boolean claimStop(Worker w) {
        if (w.stopClaimed) {
            return false;
        }
        w.stopClaimed = true;
        return true;
    }

    /** Counts a retired worker stopped, once. */
    synchronized void stopFinished(Worker w) {
        if (!w.stopCounted) {
            w.stopCounted = true;
            stopping--;
        }
        notifyAll();
    }

    /** Waits, at most {@code timeout}, until no retired worker is being stopped; keeps an interrupt for later. */
    synchronized void awaitStopped(Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        boolean interrupted = false;
        while (stopping > 0 && System.nanoTime() < end) {
            try {
                wait(100);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** See {@link WorkerPool#awaitReady}. */
    synchronized boolean awaitReady(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!closed && !(idle.size() + busy == target && starting == 0 && stopping == 0)) {
            long left = end - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return !closed;
    }

    /** See {@link WorkerPool#stats}. */
    synchronized WorkerPoolStats stats() {
        List<Long> pids = new ArrayList<>();
        for (Worker w : workers) {
            if (w.ready) {
                pids.add(w.child.pid());
            }
        }
        return new WorkerPoolStats(name, pids.size(), busy, starting, queue.size(), served, restarts,
                deadlineKills, cancelKills, queueFull, recycled, new EnumMap<>(crashes), pids);
    }
}
