package dev.baton.accumulator;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * Runs {@link Duty duties} in turn on one platform daemon thread, in the spirit of Agrona's
 * {@code AgentRunner} with a composite agent: a cycle calls every duty's {@link Duty#doWork} in the order
 * given; when a cycle did nothing, the thread parks until the earliest {@link Duty#idleLimitNs}, at most
 * {@value #MAX_PARK_NS} ns, or until {@link #wake()}. A node's accumulators run their three duties (flush
 * rounds, hosting the server, the peer service) on one such thread, {@code baton-accumulator-flush-<rank>}.
 *
 * <h2>Lifecycle</h2>
 * {@link #start} once; {@link #stop()} asks the loop to end after the current cycle (from any thread, the
 * loop's own included); {@link #close} stops, waits for the thread, and then runs the duties'
 * {@link Duty#onClose} on the closing thread, last duty first. If the thread does not end in time (a duty is
 * blocked in a call), {@code close} returns false and skips {@code onClose}: that duty's state is still in use.
 *
 * <h2>Failures</h2>
 * A {@link RuntimeException} from a duty goes to {@code onException}, then the thread parks as after an idle
 * cycle and the loop goes on. An {@link Error} goes to {@code onFatal} and then ends the thread.
 *
 * <h2>Thread safety</h2>
 * {@link #wake()}, {@link #stop()}, {@link #isStopping()} and {@link #isRunning()} from any thread;
 * {@link #start} and {@link #close} once each, from one thread.
 */
final class DutyRunner {

    /** The longest park: a bound on how late a missed signal could be noticed. */
    static final long MAX_PARK_NS = 100_000_000L;

    private final Thread thread;
    private final Consumer<RuntimeException> onException;
    private final Consumer<Error> onFatal;
    private volatile List<Duty> duties = List.of();
    private volatile boolean stopping;

    /**
     * A runner whose thread is called {@code threadName}. {@code onException} and {@code onFatal} run on that
     * thread and must not block.
     */
    DutyRunner(String threadName, Consumer<RuntimeException> onException, Consumer<Error> onFatal) {
        this.onException = onException;
        this.onFatal = onFatal;
        this.thread = Thread.ofPlatform().daemon(true).name(threadName).unstarted(this::run);
    }

    /** Starts the thread, which runs every duty's {@link Duty#onStart} and then the cycles. Once. */
    void start(List<? extends Duty> toRun) {
        duties = List.copyOf(toRun);
        thread.start();
    }

    /** Ends a park at once (or the next one, if the thread is not parked). Never blocks. */
    void wake() {
        LockSupport.unpark(thread);
    }

    /** Asks the loop to end after the current cycle. Idempotent; never blocks. */
    void stop() {
        stopping = true;
        LockSupport.unpark(thread);
    }

    /** True once {@link #stop()} was called (by {@link #close}, or because a duty ended the work). */
    boolean isStopping() {
        return stopping;
    }

    /** True while the thread runs. */
    boolean isRunning() {
        return thread.isAlive();
    }

    /**
     * Stops the loop, waits up to {@code timeout} for the thread to end, and if it did, runs the duties'
     * {@link Duty#onClose} on this thread, last duty first. Returns whether the thread ended. An interrupt
     * ends the wait early (the interrupt status is kept) and counts as "did not end" if the thread still runs.
     */
    boolean close(Duration timeout) {
        stop();
        if (thread.getState() != Thread.State.NEW) {
            try {
                thread.join(Math.max(1, timeout.toMillis()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (thread.isAlive()) {
            return false;
        }
        List<Duty> all = duties;
        for (int i = all.size() - 1; i >= 0; i--) {
            all.get(i).onClose();
        }
        return true;
    }

    private void run() {
        List<Duty> all = duties;
        try {
            for (Duty d : all) {
                d.onStart();
            }
        } catch (RuntimeException e) {
            onException.accept(e);
        }
        while (!stopping) {
            try {
                long now = System.nanoTime();
                int work = 0;
                for (Duty d : all) {
                    work += d.doWork(now);
                }
                if (work == 0) {
                    idle(all);
                }
            } catch (RuntimeException e) {
                onException.accept(e);
                idle(all);
            } catch (Error e) {
                onFatal.accept(e);
                throw e;
            }
        }
    }

    /** Parks until the earliest time a duty has work, at most {@link #MAX_PARK_NS}; {@link #wake()} ends it. */
    private void idle(List<Duty> all) {
        long now = System.nanoTime();
        long ns = MAX_PARK_NS;
        for (Duty d : all) {
            ns = Math.min(ns, d.idleLimitNs(now));
        }
        if (ns > 0 && !stopping) {
            LockSupport.parkNanos(this, ns);
        }
    }

    @Override
    public String toString() {
        return "DutyRunner[" + thread.getName() + ", " + duties.stream().map(Duty::roleName).toList()
                + (stopping ? ", stopping" : "") + "]";
    }
}
