package dev.baton.internal.rpc;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The timer of an idle node sleeps instead of waking every tick, and a deadline or task added while it sleeps
 * still fires on time (long before the sleep would end on its own).
 */
@Timeout(30)
class DeadlineTimerTest {

    private final AtomicLong calls = new AtomicLong();
    private final DeadlineTimer timer = new DeadlineTimer("test", () -> { }, calls::get);

    @AfterEach
    void stop() {
        timer.shutdown();
    }

    /** An entry that counts its expiry. */
    private static final class Latched extends DeadlineTimer.Entry {
        final CountDownLatch expired = new CountDownLatch(1);

        Latched(long deadlineNanos) {
            this.deadlineNanos = deadlineNanos;
        }

        @Override
        void retain() {
        }

        @Override
        void release() {
        }

        @Override
        void expire() {
            expired.countDown();
        }
    }

    private void awaitSleep() throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!timer.isSleeping()) {
            assertTrue(System.nanoTime() - until < 0, "the idle timer never went to sleep");
            Thread.sleep(10);
        }
    }

    @Test
    void anIdleTimerSleepsAndAnEntryAddedMeanwhileStillExpiresOnTime() throws Exception {
        timer.start();
        awaitSleep();
        long before = timer.rounds();
        Thread.sleep(300);
        long woke = timer.rounds() - before;
        assertTrue(woke <= 2, "an idle timer woke " + woke + " times in 300 ms");

        long t0 = System.nanoTime();
        Latched e = new Latched(t0 + TimeUnit.MILLISECONDS.toNanos(5));
        timer.add(e);
        assertTrue(e.expired.await(5, TimeUnit.SECONDS), "the deadline never fired");
        long firedMs = (System.nanoTime() - t0) / 1_000_000L;
        assertTrue(firedMs < 500, "a 5 ms deadline fired after " + firedMs + " ms: the sleeping timer was not woken");
    }

    @Test
    void aTaskScheduledWhileTheTimerSleepsRunsOnTime() throws Exception {
        timer.start();
        awaitSleep();
        CountDownLatch ran = new CountDownLatch(1);
        long t0 = System.nanoTime();
        timer.schedule(ran::countDown, TimeUnit.MILLISECONDS.toNanos(5));
        assertTrue(ran.await(5, TimeUnit.SECONDS), "the task never ran");
        long ranMs = (System.nanoTime() - t0) / 1_000_000L;
        assertTrue(ranMs < 500, "a 5 ms task ran after " + ranMs + " ms");
    }

    @Test
    void aTimerOfANodeWithTrafficDoesNotSleepEvenWithAnEmptyWheel() throws Exception {
        timer.start();
        long before = timer.rounds();
        for (int i = 0; i < 150; i++) {        // 1.5 s of calls too short to be in the wheel at a check
            calls.incrementAndGet();
            Thread.sleep(10);
        }
        assertTrue(!timer.isSleeping(), "it sleeps while the node has traffic");
        assertTrue(timer.rounds() - before > 100, "it stopped ticking: " + (timer.rounds() - before) + " rounds");
    }

    @Test
    void aTimerWithADeadlineInItsWheelDoesNotSleep() throws Exception {
        timer.start();
        Latched far = new Latched(System.nanoTime() + TimeUnit.SECONDS.toNanos(60));
        timer.add(far);
        long before = timer.rounds();
        Thread.sleep(1_500);
        assertTrue(!timer.isSleeping(), "it sleeps with a deadline in the wheel");
        assertTrue(timer.rounds() - before > 100, "it stopped ticking: " + (timer.rounds() - before) + " rounds");
        timer.remove(far);
    }

    /**
     * An owner drops its last reference once {@code remove} returns, so by then the entry must be out of the wheel
     * for good or the timer must hold a reference of its own. The timer must never take a due entry out of its
     * bucket (which {@code remove} sees without the bucket's lock) before it has taken that reference: the owner
     * would recycle its record, and the timer would then retain and expire whatever call reuses it.
     */
    @Test
    void removeNeverReturnsWhileTheTimerHoldsADueEntryWithoutAReference() throws Exception {
        CountDownLatch inRetain = new CountDownLatch(1);
        CountDownLatch retainMayReturn = new CountDownLatch(1);
        AtomicBoolean retained = new AtomicBoolean();
        DeadlineTimer.Entry e = new DeadlineTimer.Entry() {
            @Override
            void retain() {
                inRetain.countDown();
                try {
                    retainMayReturn.await();    // the timer thread, paused while it takes its reference
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
                retained.set(true);
            }

            @Override
            void release() {
            }

            @Override
            void expire() {
            }
        };
        e.deadlineNanos = System.nanoTime();       // due at once
        timer.start();
        timer.add(e);
        assertTrue(inRetain.await(5, TimeUnit.SECONDS), "the deadline never fired");
        // The call is answered now: its owner takes the entry out of the wheel, then drops its last reference.
        AtomicBoolean referencedWhenRemoved = new AtomicBoolean();
        Thread owner = Thread.ofPlatform().start(() -> {
            timer.remove(e);
            referencedWhenRemoved.set(retained.get());
        });
        owner.join(200);        // a correct remove waits for the bucket's lock, which the timer holds
        retainMayReturn.countDown();
        owner.join();
        assertTrue(referencedWhenRemoved.get(), "remove() returned while the timer held the entry without a "
                + "reference: the owner would recycle its record under the timer");
    }
}
