package dev.baton.accumulator;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The runner of the flush thread's duties: order, parking, waking, failures, closing. */
@Timeout(30)
class DutyRunnerTest {

    private static final String THREAD = "duty-runner-test";

    private final ConcurrentLinkedQueue<String> events = new ConcurrentLinkedQueue<>();
    private final List<RuntimeException> exceptions = new ArrayList<>();
    private final AtomicReference<Error> fatal = new AtomicReference<>();
    private final DutyRunner runner = new DutyRunner(THREAD, e -> {
        synchronized (exceptions) {
            exceptions.add(e);
        }
    }, fatal::set);

    @AfterEach
    void noThreadIsLeftBehind() {
        runner.close(Duration.ofSeconds(5));
        Wait.noThreads(THREAD, Duration.ofSeconds(5));
    }

    /** A duty that records its calls in {@link #events}, does {@code work} and asks to park {@code idleNs}. */
    private final class Recording implements Duty {
        final String name;
        final IntSupplier work;
        final long idleNs;
        final AtomicInteger cycles = new AtomicInteger();
        volatile String closedOn;

        Recording(String name, IntSupplier work, long idleNs) {
            this.name = name;
            this.work = work;
            this.idleNs = idleNs;
        }

        @Override
        public void onStart() {
            events.add(name + ".start@" + Thread.currentThread().getName());
        }

        @Override
        public int doWork(long nowNs) {
            events.add(name + ".work");
            cycles.incrementAndGet();
            return work.getAsInt();
        }

        @Override
        public long idleLimitNs(long nowNs) {
            return idleNs;
        }

        @Override
        public void onClose() {
            closedOn = Thread.currentThread().getName();
            events.add(name + ".close");
        }

        @Override
        public String roleName() {
            return name;
        }
    }

    @Test
    void runsEveryDutyInTurnOnOneThreadAfterTheirOnStart() {
        Recording a = new Recording("a", () -> 0, 0);
        Recording b = new Recording("b", () -> 0, 0);

        runner.start(List.of(a, b));
        Wait.until(() -> b.cycles.get() >= 3, Duration.ofSeconds(10), events::toString);

        List<String> seen = List.copyOf(events).subList(0, 6);
        assertEquals(List.of("a.start@" + THREAD, "b.start@" + THREAD, "a.work", "b.work", "a.work", "b.work"), seen);
    }

    @Test
    void anIdleCycleParksUntilWokenOrTheLongestParkInsteadOfSpinning() {
        Recording idle = new Recording("idle", () -> 0, Long.MAX_VALUE);
        runner.start(List.of(idle));
        Wait.until(() -> idle.cycles.get() >= 1, Duration.ofSeconds(10), events::toString);

        long startNs = System.nanoTime();
        for (int i = 0; i < 20; i++) {
            int before = idle.cycles.get();
            runner.wake();
            Wait.until(() -> idle.cycles.get() > before, Duration.ofSeconds(5), () -> "no cycle after wake()");
        }
        long wokenMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        int before = idle.cycles.get();
        Wait.until(() -> idle.cycles.get() > before + 2, Duration.ofSeconds(10), () -> "no cycle after a long park");
        long unwokenMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs) - wokenMs;

        // Unwoken, each park lasts the longest park (100 ms): 20 of them would take 2 s.
        assertTrue(wokenMs < 1_500, "20 woken cycles took " + wokenMs + " ms");
        assertTrue(unwokenMs >= 150, "3 unwoken cycles took only " + unwokenMs + " ms: the runner spins");
    }

    @Test
    void aCycleThatDidWorkIsFollowedAtOnceByAnother() {
        AtomicInteger left = new AtomicInteger(50);
        Recording busy = new Recording("busy", () -> left.getAndDecrement() > 0 ? 1 : 0, Long.MAX_VALUE);

        runner.start(List.of(busy));

        // 50 cycles with work, each followed at once by the next: far below 50 parks of 100 ms.
        Wait.until(() -> busy.cycles.get() >= 51, Duration.ofSeconds(2), () -> busy.cycles + " cycles");
    }

    @Test
    void anExceptionGoesToTheHandlerAndTheLoopGoesOn() {
        AtomicInteger calls = new AtomicInteger();
        IllegalStateException boom = new IllegalStateException("boom");
        Recording failing = new Recording("failing", () -> {
            if (calls.incrementAndGet() == 1) {
                throw boom;
            }
            return 0;
        }, 0);
        Recording after = new Recording("after", () -> 0, 0);

        runner.start(List.of(failing, after));
        Wait.until(() -> after.cycles.get() >= 2, Duration.ofSeconds(10), events::toString);

        synchronized (exceptions) {
            assertEquals(List.of(boom), exceptions);
        }
        // The failing cycle skipped the later duty: the first "after.work" follows the second "failing.work".
        List<String> work = events.stream().filter(e -> e.endsWith(".work")).toList();
        assertEquals(List.of("failing.work", "failing.work", "after.work"), work.subList(0, 3));
        assertTrue(runner.isRunning());
    }

    @Test
    void anErrorGoesToTheFatalHandlerAndEndsTheThread() {
        Error death = new Error("test: the flush thread dies (expected stack trace)");
        Recording dying = new Recording("dying", () -> {
            throw death;
        }, 0);

        runner.start(List.of(dying));
        Wait.until(() -> !runner.isRunning(), Duration.ofSeconds(10), () -> "still running");

        assertSame(death, fatal.get());
        assertEquals(1, dying.cycles.get());
    }

    @Test
    void aDutyCanStopTheLoop() {
        Recording stopping = new Recording("stopping", () -> {
            runner.stop();
            return 1;
        }, 0);

        runner.start(List.of(stopping));
        Wait.until(() -> !runner.isRunning(), Duration.ofSeconds(10), () -> "still running");

        assertTrue(runner.isStopping());
        assertEquals(1, stopping.cycles.get());
    }

    @Test
    void closeEndsTheThreadThenRunsOnCloseOnTheClosingThreadLastDutyFirst() {
        Recording a = new Recording("a", () -> 0, Long.MAX_VALUE);
        Recording b = new Recording("b", () -> 0, Long.MAX_VALUE);
        runner.start(List.of(a, b));
        Wait.until(() -> b.cycles.get() >= 1, Duration.ofSeconds(10), events::toString);

        assertTrue(runner.close(Duration.ofSeconds(5)));

        assertFalse(runner.isRunning());
        List<String> all = List.copyOf(events);
        assertEquals(List.of("b.close", "a.close"), all.subList(all.size() - 2, all.size()));
        assertEquals(Thread.currentThread().getName(), a.closedOn);
    }

    @Test
    void aDutyStuckPastTheCloseTimeoutIsNotClosedUnderIt() throws InterruptedException {
        CountDownLatch stuck = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Recording blocked = new Recording("blocked", () -> {
            stuck.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 0;
        }, Long.MAX_VALUE);
        runner.start(List.of(blocked));
        assertTrue(stuck.await(10, TimeUnit.SECONDS));

        assertFalse(runner.close(Duration.ofMillis(100)));

        assertTrue(runner.isStopping());
        assertEquals(null, blocked.closedOn);
        release.countDown();
        Wait.until(() -> !runner.isRunning(), Duration.ofSeconds(10), () -> "still running after its call returned");
        assertEquals(1, blocked.cycles.get());
    }
}
