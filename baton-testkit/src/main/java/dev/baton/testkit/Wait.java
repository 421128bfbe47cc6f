package dev.baton.testkit;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waits for a condition with a deadline: tests never sleep a fixed time to wait for something. Checks every
 * millisecond; fails with an {@link AssertionError} that says what was awaited.
 */
public final class Wait {

    private Wait() {
    }

    /** Returns once {@code condition} holds; fails after {@code timeout}. */
    public static void until(BooleanSupplier condition, Duration timeout) {
        until(condition, timeout, () -> "condition");
    }

    /** Returns once {@code condition} holds; fails after {@code timeout}, with {@code what} in the message. */
    public static void until(BooleanSupplier condition, Duration timeout, Supplier<String> what) {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - end > 0) {
                throw new AssertionError(what.get() + " not met within " + timeout);
            }
            LockSupport.parkNanos(1_000_000L);
        }
    }

    /**
     * Checks that {@code condition} holds for all of {@code duration} (for what must <em>not</em> happen: a
     * connection that must stay open); fails as soon as it does not.
     */
    public static void holds(BooleanSupplier condition, Duration duration, Supplier<String> what) {
        long end = System.nanoTime() + duration.toNanos();
        do {
            if (!condition.getAsBoolean()) {
                throw new AssertionError(what.get() + " stopped holding before " + duration + " had passed");
            }
            LockSupport.parkNanos(1_000_000L);
        } while (System.nanoTime() - end < 0);
    }
}
