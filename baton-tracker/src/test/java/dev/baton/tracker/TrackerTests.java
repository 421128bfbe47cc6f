package dev.baton.tracker;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * What the tracker tests share: an ephemeral tracker, waiting on a condition, and the thread-leak check. Public
 * for the internal package's tests.
 */
public final class TrackerTests {

    private TrackerTests() {
    }

    /** A tracker on 127.0.0.1, a free port, short stall timeouts so that the stall tests are quick. */
    static Tracker start() {
        return start(TrackerOptions.builder().port(0));
    }

    static Tracker start(TrackerOptions.Builder options) {
        return Tracker.start(options.build());
    }

    /** Waits (at most {@code timeout}) until {@code condition} holds; fails with {@code what} otherwise. */
    public static void await(Duration timeout, BooleanSupplier condition, Supplier<String> what) {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - end > 0) {
                fail("not within " + timeout + ": " + what.get());
            }
            LockSupport.parkNanos(5_000_000L);
        }
    }

    public static void await(BooleanSupplier condition, Supplier<String> what) {
        await(Duration.ofSeconds(10), condition, what);
    }

    /**
     * Fails if a tracker or registration thread (platform threads, which a thread dump lists) or a request thread
     * of {@link TrackerClient#requestAsync} (virtual, which it does not) is still alive 5 s from now.
     */
    public static void assertNoTrackerThreads() {
        await(Duration.ofSeconds(5), () -> trackerThreads().isEmpty() && TrackerClient.liveRequestThreads() == 0,
                () -> "threads left: " + trackerThreads() + ", request threads: " + TrackerClient.liveRequestThreads());
    }

    private static List<String> trackerThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith("baton-tracker")).toList();
    }
}
