package dev.baton.accumulator;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waits for a condition with a deadline: tests never sleep a fixed time to wait for something. */
final class Wait {

    private Wait() {
    }

    static void until(BooleanSupplier condition, Duration timeout, Supplier<String> state) {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - end > 0) {
                throw new AssertionError("condition not met within " + timeout.toMillis() + " ms: " + state.get());
            }
            LockSupport.parkNanos(1_000_000L);
        }
    }

    /** Fails if a thread whose name starts with {@code prefix} is still alive after {@code timeout}. */
    static void noThreads(String prefix, Duration timeout) {
        until(() -> Thread.getAllStackTraces().keySet().stream()
                        .noneMatch(t -> t.isAlive() && t.getName().startsWith(prefix)), timeout,
                () -> "threads left: " + Thread.getAllStackTraces().keySet().stream()
                        .filter(t -> t.getName().startsWith(prefix)).map(Thread::getName).toList());
    }
}
