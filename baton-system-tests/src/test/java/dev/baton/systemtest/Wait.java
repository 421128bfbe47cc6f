package dev.baton.systemtest;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waits for a condition with a deadline: tests never sleep a fixed time to wait for something. */
final class Wait {

    private static final long POLL_NS = 1_000_000L;

    private Wait() {
    }

    /**
     * Returns how long it took {@code condition} to hold; throws {@link AssertionError} with
     * {@code state}'s description if it does not within {@code timeout}.
     */
    static Duration until(BooleanSupplier condition, Duration timeout, Supplier<String> state) {
        long start = System.nanoTime();
        long end = start + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - end > 0) {
                throw new AssertionError("condition not met within " + timeout.toMillis() + " ms: " + state.get());
            }
            LockSupport.parkNanos(POLL_NS);
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }
}
