package dev.baton.shm;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.function.LongSupplier;

/**
 * How long a loop spins after its last work, fitted to the host: a spin pays when the loop has a core to itself, and
 * costs the callers their core when it does not. The loop reports how long it slept ({@link #slept}) and, once a tick,
 * asks for an adjustment ({@link #adjust}): of the time it was awake since the last one that decided (enough awake
 * time to tell, gathered over as many ticks as that takes, up to a second), how much did it run? A loop
 * that ran less than {@value #CROWDED_PERCENT} % of it waited for a core while it wanted to run (more busy threads than
 * cores), and halves its spin, down to none: it then sleeps as soon as it has nothing to do, and its peers ring its
 * doorbell. One that ran at least {@value #FREE_PERCENT} % had its core, and doubles its spin back (from none, to
 * {@value #REGROW_FRACTION_INVERSE}th of the configured spin first) up to the configured one. Loop thread only.
 *
 * <p>Measured with {@code bin/baton demo --nodes 3} (three node JVMs, two busy threads each, on two cores): 9.1-9.3 k
 * calls/s before, 12.8-14.0 k after; {@code bin/baton bench --systems baton-shm}: docs/shm.md.
 */
final class SpinBudget {

    static final int CROWDED_PERCENT = 85;
    static final int FREE_PERCENT = 95;
    static final int REGROW_FRACTION_INVERSE = 64;
    /**
     * Less awake time than this says nothing either way: the ticks' times add up until there is this much (a loop
     * that sleeps between its messages is awake only while it works, a millisecond a tick or less).
     */
    private static final long MIN_AWAKE_NS = 2_000_000L;
    /** Times gathered for longer than this without enough awake time are dropped: the loop is too idle to judge. */
    private static final long MAX_WINDOW_NS = 1_000_000_000L;

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final long maxNs;
    private final LongSupplier cpuNanos;
    private long nanos;
    private long lastNs;
    private long lastCpuNs;
    private long sleptNs;

    /** A spin of {@code configuredNs} at most, measured with the calling thread's CPU time (the loop's). */
    SpinBudget(long configuredNs) {
        this(configuredNs, configuredNs > 0 && THREADS.isCurrentThreadCpuTimeSupported()
                ? THREADS::getCurrentThreadCpuTime : null, System.nanoTime());
    }

    /**
     * With {@code cpuNanos}, the loop thread's CPU time so far (null: not measurable, the spin stays), from
     * {@code now}.
     */
    SpinBudget(long configuredNs, LongSupplier cpuNanos, long now) {
        this.maxNs = configuredNs;
        this.nanos = configuredNs;
        this.cpuNanos = cpuNanos;
        this.lastNs = now;
        this.lastCpuNs = -1;
    }

    /** The spin now. */
    long nanos() {
        return nanos;
    }

    /** The loop slept {@code ns} (in its selector). */
    void slept(long ns) {
        sleptNs += ns;
    }

    /** Once a tick, at {@code now}: halves the spin after a crowded stretch, doubles it back after a free one. */
    void adjust(long now) {
        if (cpuNanos == null) {
            return;
        }
        long cpu = cpuNanos.getAsLong();
        long awake = now - lastNs - sleptNs;
        long ran = lastCpuNs < 0 ? -1 : cpu - lastCpuNs;
        if (ran >= 0 && awake < MIN_AWAKE_NS && now - lastNs < MAX_WINDOW_NS) {
            // Not enough to judge yet: keep gathering. Judging each tick alone would leave a loop whose spin fell to
            // none stuck there: sleeping between messages, it is awake too little a tick to ever earn it back.
            return;
        }
        lastNs = now;
        lastCpuNs = cpu;
        sleptNs = 0;
        if (ran < 0 || awake < MIN_AWAKE_NS) {
            return;
        }
        if (ran * 100 < awake * CROWDED_PERCENT) {
            nanos /= 2;
            if (nanos < maxNs / REGROW_FRACTION_INVERSE) {
                nanos = 0;
            }
        } else if (ran * 100 >= awake * FREE_PERCENT && nanos < maxNs) {
            nanos = nanos == 0 ? Math.max(1, maxNs / REGROW_FRACTION_INVERSE) : Math.min(maxNs, nanos * 2);
        }
    }
}
