package dev.baton.systemtest;

import dev.baton.Client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A legitimate caller: one thread ({@code call-probe-N}) that echoes a {@code payloadBytes} request through a
 * client at a steady pace, one call at a time, and records how long each took and how each ended. Its latencies
 * show what an attack on the server costs everyone else. Start with {@link #start}, end with {@link #stop};
 * the figures may be read from any thread. {@link #startOperation} does the same for any operation (a
 * coordination call, a join): one that throws has failed.
 */
final class CallProbe {

    static final String THREAD_PREFIX = "call-probe-";
    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    /** One call: returns null when it succeeded, or what was wrong with its answer; a call that throws failed. */
    interface Operation {
        String call() throws Exception;
    }

    private final String what;
    private final Operation operation;
    private final long paceNs;
    private final Thread caller;
    private final List<String> failures = new ArrayList<>();    // guarded by this
    private long[] latenciesNs = new long[1024];                // guarded by this
    private int succeeded;                                      // guarded by this
    private volatile boolean stopping;

    private CallProbe(String what, Operation operation, Duration pace) {
        this.what = what;
        this.operation = operation;
        this.paceNs = pace.toNanos();
        this.caller = Thread.ofPlatform().daemon(true).name(THREAD_PREFIX + SEQUENCE.incrementAndGet())
                .unstarted(this::callUntilStopped);
    }

    /** Starts calling: a call every {@code pace} (at once after a call that took longer). */
    static CallProbe start(Client echo, int payloadBytes, Duration pace) {
        byte[] request = new byte[payloadBytes];
        new Random(payloadBytes).nextBytes(request);
        return startOperation(payloadBytes + " B calls", () -> Arrays.equals(request,
                echo.call(EchoServerMain.ECHO, request)) ? null : "wrong echo", pace);
    }

    /** Starts {@code operation} ({@code what}, for the figures): once every {@code pace}, one at a time. */
    static CallProbe startOperation(String what, Operation operation, Duration pace) {
        CallProbe probe = new CallProbe(what, operation, pace);
        probe.caller.start();
        return probe;
    }

    private void callUntilStopped() {
        long next = System.nanoTime();
        while (!stopping) {
            long start = System.nanoTime();
            String failure = null;
            try {
                failure = operation.call();
            } catch (Exception e) {
                failure = e.toString();
            }
            record(System.nanoTime() - start, failure);
            next += paceNs;
            long wait = next - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            } else {
                next = System.nanoTime();
            }
        }
    }

    private synchronized void record(long latencyNs, String failure) {
        if (failure != null) {
            failures.add(failure);
            return;
        }
        if (succeeded == latenciesNs.length) {
            latenciesNs = Arrays.copyOf(latenciesNs, succeeded * 2);
        }
        latenciesNs[succeeded++] = latencyNs;
    }

    synchronized int succeeded() {
        return succeeded;
    }

    synchronized List<String> failures() {
        return List.copyOf(failures);
    }

    /** The share of calls that succeeded (1 before any call ended). */
    synchronized double successRatio() {
        int ended = succeeded + failures.size();
        return ended == 0 ? 1 : (double) succeeded / ended;
    }

    /** The {@code p}-th percentile (0-100) of the successful calls' latencies, in ms; -1 before any. */
    synchronized double percentileMs(double p) {
        if (succeeded == 0) {
            return -1;
        }
        long[] sorted = Arrays.copyOf(latenciesNs, succeeded);
        Arrays.sort(sorted);
        int index = (int) Math.min(succeeded - 1, Math.ceil(p / 100 * succeeded) - 1);
        return sorted[Math.max(0, index)] / 1e6;
    }

    /** Stops calling once the call in progress ends (it ends by its deadline). */
    void stop() throws InterruptedException {
        stopping = true;
        caller.join();
    }

    @Override
    public synchronized String toString() {
        return String.format("%s: %d succeeded, %d failed%s; latency p50 %.2f ms, p99 %.2f ms, max %.2f ms",
                what, succeeded, failures.size(),
                failures.isEmpty() ? "" : " " + failures.stream().limit(3).toList(),
                percentileMs(50), percentileMs(99), percentileMs(100));
    }
}
