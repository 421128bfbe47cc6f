package dev.baton.bench;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * The shared state of one system x workload run: its phase, and what completed calls recorded while it was
 * {@link Phase#MEASURE measuring}. Calls count by the time they complete, so throughput is completions divided
 * by the length of the measuring window.
 *
 * <p>Thread-safe and allocation-free on {@link #record}: callers, I/O threads and event loops record into it
 * concurrently (an HdrHistogram {@link Recorder} is wait-free for writers).
 */
final class Measurement {

    /** Where a run is. Only the coordinator moves it forward. */
    enum Phase { WARMUP, MEASURE, STOP }

    /** Latencies above this are clamped (and the run is then hardly worth reading anyway). */
    private static final long MAX_LATENCY_NS = TimeUnit.SECONDS.toNanos(60);

    private final Recorder latencies = new Recorder(MAX_LATENCY_NS, 3);
    private final LongAdder calls = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final AtomicReference<Throwable> firstError = new AtomicReference<>();
    private volatile Phase phase = Phase.WARMUP;

    Phase phase() {
        return phase;
    }

    void phase(Phase next) {
        phase = next;
    }

    /** True while new calls should be issued (warm-up and measurement). */
    boolean running() {
        return phase != Phase.STOP;
    }

    /** A call issued at {@code startNs} completed at {@code endNs} ({@link System#nanoTime()} clock). */
    void record(long startNs, long endNs) {
        if (phase == Phase.MEASURE) {
            latencies.recordValue(Math.min(Math.max(0, endNs - startNs), MAX_LATENCY_NS));
            calls.increment();
        }
    }

    /** A call failed. Counted in every phase: a failure during warm-up fails the run too. */
    void error(Throwable t) {
        errors.increment();
        firstError.compareAndSet(null, t);
    }

    long calls() {
        return calls.sum();
    }

    long errors() {
        return errors.sum();
    }

    Throwable firstError() {
        return firstError.get();
    }

    /** The latencies recorded so far (nanoseconds). Call once, after the measuring window closed. */
    Histogram histogram() {
        return latencies.getIntervalHistogram();
    }
}
