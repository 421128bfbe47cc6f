package dev.baton.systemtest;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Status;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;

/**
 * Threads (named {@code echo-load-*}) that echo continuously through one client in the test JVM and record how
 * every call ended. Start with {@link #start}, end with {@link #stop} (which checks that no call is stuck past
 * its deadline) and {@link #close()}. The counters may be read from any thread.
 */
final class EchoLoad implements AutoCloseable {

    final LongAdder succeeded = new LongAdder();
    final LongAdder unavailable = new LongAdder();
    final Queue<String> unexpected = new ConcurrentLinkedQueue<>();
    final AtomicLong longestCallNs = new AtomicLong();
    /** When each call that failed with UNAVAILABLE started, on the {@link System#nanoTime()} clock. */
    private final Queue<Long> unavailableStartsNs = new ConcurrentLinkedQueue<>();
    /** The first few UNAVAILABLE failures, as their messages say them (for a failing test's report). */
    private final Queue<String> unavailableSamples = new ConcurrentLinkedQueue<>();
    private final Client echo;
    private final ExecutorService callers;
    private final List<Future<?>> running = new ArrayList<>();
    private volatile boolean stopping;
    // guarded by this
    private long failures;
    private long firstFailureNs;
    private long lastFailureNs;

    private EchoLoad(Client echo, int threads) {
        this.echo = echo;
        this.callers = Executors.newFixedThreadPool(threads, Thread.ofPlatform().name("echo-load-", 0).factory());
    }

    static EchoLoad start(Client echo, int threads) {
        EchoLoad load = new EchoLoad(echo, threads);
        for (int i = 0; i < threads; i++) {
            load.running.add(load.callers.submit(load::callUntilStopped));
        }
        return load;
    }

    private void callUntilStopped() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (!stopping) {
            byte[] request = new byte[random.nextInt(16 * 1024 + 1)];
            random.nextBytes(request);
            long startNs = System.nanoTime();
            try {
                byte[] answer = echo.call(EchoServerMain.ECHO, request);
                if (Arrays.equals(request, answer)) {
                    succeeded.increment();
                } else {
                    unexpected.add("wrong echo: sent " + request.length + " bytes, got " + answer.length);
                    noteFailure();
                }
            } catch (BatonException e) {
                if (e.code() == Status.Code.UNAVAILABLE) {
                    unavailable.increment();
                    unavailableStartsNs.add(startNs);
                    if (unavailableSamples.size() < 5) {
                        unavailableSamples.add(e.getMessage());
                    }
                } else {
                    unexpected.add(e.toString());
                }
                noteFailure();
            } catch (RuntimeException e) {
                unexpected.add(e.toString());
                noteFailure();
            } finally {
                longestCallNs.accumulateAndGet(System.nanoTime() - startNs, Math::max);
            }
        }
    }

    /** Remembers when the first and the last failure so far ended. */
    private synchronized void noteFailure() {
        long now = System.nanoTime();
        if (failures++ == 0) {
            firstFailureNs = now;
        }
        lastFailureNs = now;
    }

    /** Calls that failed, however. */
    long failed() {
        return unavailable.sum() + unexpected.size();
    }

    /** How many calls that started after {@code nanoTime} failed with UNAVAILABLE. */
    long unavailableStartedAfter(long nanoTime) {
        return unavailableStartsNs.stream().filter(startNs -> startNs - nanoTime > 0).count();
    }

    /** Stops the callers; each must finish the call it is making within {@code maxCall}. */
    void stop(Duration maxCall) throws InterruptedException, ExecutionException {
        stopping = true;
        long end = System.nanoTime() + maxCall.toNanos();
        for (Future<?> f : running) {
            try {
                f.get(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("a caller is stuck in a call past its deadline: " + this, e);
            }
        }
    }

    @Override
    public void close() {
        stopping = true;
        callers.shutdownNow();
        callers.close();
    }

    @Override
    public String toString() {
        return "EchoLoad[succeeded=" + succeeded.sum() + ", unavailable=" + unavailable.sum()
                + (unavailableSamples.isEmpty() ? "" : List.copyOf(unavailableSamples)) + ", unexpected="
                + unexpected.size() + Stream.of(unexpected.toArray()).limit(5).toList() + ", longest call "
                + longestCallNs.get() / 1_000_000 + " ms" + failureSpan() + "]";
    }

    private synchronized String failureSpan() {
        return failures == 0 ? "" : ", failures within " + (lastFailureNs - firstFailureNs) / 1_000_000 + " ms";
    }
}
