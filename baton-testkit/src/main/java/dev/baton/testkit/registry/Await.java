package dev.baton.testkit.registry;

import dev.baton.BatonException;
import dev.baton.Status;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waits on conditions with deadlines: the suite never sleeps a fixed time to wait for something. Failures are
 * {@link AssertionError}s that say what was awaited and, when given, what was seen instead.
 */
final class Await {

    private static final long POLL_NS = 2_000_000L;

    private Await() {
    }

    /** Waits until {@code condition} holds; fails after {@code timeout}. */
    static void until(String what, BooleanSupplier condition, Duration timeout) {
        until(what, condition, timeout, () -> "");
    }

    /** As {@link #until(String, BooleanSupplier, Duration)}; the failure quotes {@code seen}. */
    static void until(String what, BooleanSupplier condition, Duration timeout, Supplier<?> seen) {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - end > 0) {
                throw new AssertionError(what + ": not within " + timeout.toMillis() + " ms. " + seen.get());
            }
            LockSupport.parkNanos(POLL_NS);
        }
    }

    /**
     * Checks that {@code condition} holds throughout {@code period} (an observation window, for what must
     * <em>not</em> happen); fails as soon as it does not.
     */
    static void holds(String what, BooleanSupplier condition, Duration period, Supplier<?> seen) {
        long end = System.nanoTime() + period.toNanos();
        do {
            if (!condition.getAsBoolean()) {
                throw new AssertionError(what + ": broken within " + period.toMillis() + " ms. " + seen.get());
            }
            LockSupport.parkNanos(POLL_NS);
        } while (System.nanoTime() - end < 0);
    }

    /**
     * Runs {@code action} until it stops failing with UNAVAILABLE (the registry is not back yet, or this node
     * has not reached it yet) and returns its result; any other failure is thrown at once.
     */
    static <T> T available(String what, Supplier<T> action, Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                return action.get();
            } catch (BatonException e) {
                if (e.code() != Status.Code.UNAVAILABLE) {
                    throw e;
                }
                if (System.nanoTime() - end > 0) {
                    throw new AssertionError(what + ": still UNAVAILABLE after " + timeout.toMillis() + " ms", e);
                }
                LockSupport.parkNanos(10 * POLL_NS);
            }
        }
    }

    /** Milliseconds since {@code startNs} ({@link System#nanoTime()}). */
    static long msSince(long startNs) {
        return (System.nanoTime() - startNs) / 1_000_000L;
    }
}
