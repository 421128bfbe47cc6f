package dev.baton.testkit.registry;

import dev.baton.BatonException;
import dev.baton.Coordination;
import dev.baton.Coordination.DistributedLock;
import dev.baton.Node;
import dev.baton.Status;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Distributed locks and fencing tokens; see {@link RegistryConformanceTest} for what is pinned. */
abstract class LockConformance extends ConformanceBase {

    /** The counter the mutual exclusion test guards; volatile only for visibility, so read-then-write races. */
    private volatile int shared;

    LockConformance(Supplier<RegistryUnderTest> starter) {
        super(starter);
    }

    @Test
    void aLockGivesMutualExclusionAcrossNodesAndThreadsWithNestedHolds() throws Exception {
        int nodes = 3;
        int threads = 3;
        int rounds = 5;
        int depth = 10;
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger overlaps = new AtomicInteger();
        List<Future<?>> done = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(nodes * threads)) {
            for (int n = 0; n < nodes; n++) {
                Coordination co = members.node("n" + n).coordination();
                DistributedLock lock = co.lock("counter");
                assertSame(lock, co.lock("counter"), "one lock object per name per node");
                for (int t = 0; t < threads; t++) {
                    done.add(pool.submit(() -> {
                        for (int r = 0; r < rounds; r++) {
                            for (int d = 0; d < depth; d++) {
                                lock.lock(LONG);
                                assertTrue(lock.isHeldByCurrentThread());
                                if (d == 0 && inside.incrementAndGet() != 1) {
                                    overlaps.incrementAndGet();
                                }
                                int v = shared;
                                Thread.yield();     // invite another holder to interleave, if there were one
                                shared = v + 1;
                            }
                            inside.decrementAndGet();
                            for (int d = 0; d < depth; d++) {
                                lock.unlock();
                            }
                            assertFalse(lock.isHeldByCurrentThread());
                        }
                        return null;
                    }));
                }
            }
            for (Future<?> f : done) {
                f.get(50, TimeUnit.SECONDS);
            }
        }
        assertEquals(0, overlaps.get());
        assertEquals(nodes * threads * rounds * depth, shared);
    }

    @Test
    void tryLockFailsWhileTheLockIsHeldElsewhereAndSucceedsOnceItIsReleased() throws Exception {
        DistributedLock a = members.node("a").coordination().lock("t");
        DistributedLock b = members.node("b").coordination().lock("t");
        a.lock(LONG);
        assertFalse(b.tryLock(), "held by another node");
        try (ExecutorService other = Executors.newSingleThreadExecutor()) {
            assertFalse(other.submit(a::tryLock).get(10, TimeUnit.SECONDS), "held by another thread of this node");
        }
        assertTrue(a.tryLock(), "reentrant");
        a.unlock();
        assertTrue(a.isHeldByCurrentThread(), "one hold is left");
        a.unlock();
        assertFalse(a.isHeldByCurrentThread());
        assertTrue(b.tryLock(), "once unlock returns, another node can take the lock");
        assertFalse(a.tryLock());
        b.unlock();
    }

    @Test
    void everyGrantCarriesAFencingTokenLargerThanAllBeforeIt() throws Exception {
        Coordination a = members.node("a").coordination();
        Coordination b = members.node("b").coordination();
        DistributedLock la = a.lock("fenced");
        DistributedLock lb = b.lock("fenced");
        assertThrows(IllegalMonitorStateException.class, la::fencingToken);
        la.lock(LONG);
        long first = la.fencingToken();
        assertTrue(la.tryLock(), "reentrant");
        assertEquals(first, la.fencingToken(), "a reentrant hold keeps the token of the first");
        try (ExecutorService other = Executors.newSingleThreadExecutor()) {
            // b waits; a's last unlock hands the lock over.
            Future<Long> granted = other.submit(() -> {
                lb.lock(LONG);
                try {
                    return lb.fencingToken();
                } finally {
                    lb.unlock();
                }
            });
            la.unlock();
            la.unlock();
            long second = granted.get(20, TimeUnit.SECONDS);
            assertTrue(second > first, second + " > " + first);
            // Tokens grow across locks too: a token orders every grant of the registry.
            DistributedLock otherLock = b.lock("another");
            otherLock.lock(LONG);
            long third = otherLock.fencingToken();
            otherLock.unlock();
            assertTrue(la.tryLock());
            long fourth = la.fencingToken();
            la.unlock();
            assertTrue(third > second && fourth > third, List.of(first, second, third, fourth) + " increase");
        }
        assertThrows(IllegalMonitorStateException.class, la::fencingToken);
    }

    @Test
    void aLockHeldByANodeThatClosesGoesToTheNodeWaitingForIt() throws Exception {
        Node closing = members.node("closing");
        DistributedLock held = closing.coordination().lock("d");
        DistributedLock wanted = members.node("waiting").coordination().lock("d");
        held.lock(LONG);
        AtomicBoolean holderClosing = new AtomicBoolean();
        try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Future<Boolean> waiter = startWaiting(pool, "the other node waits for the lock", () -> {
                wanted.lock(LONG);
                try {
                    return holderClosing.get() && wanted.isHeldByCurrentThread();
                } finally {
                    wanted.unlock();
                }
            });
            assertFalse(waiter.isDone(), "granted while held");
            holderClosing.set(true);
            closing.close();          // never unlocked: the registry releases it with the node's session
            assertTrue(waiter.get(CONVERGE.toMillis(), TimeUnit.MILLISECONDS));
        }
    }

    @Test
    void aLockWaitThatTimesOutThrowsDeadlineExceededAndLeavesNothingBehind() throws Exception {
        DistributedLock a = members.node("a").coordination().lock("x");
        DistributedLock b = members.node("b").coordination().lock("x");
        DistributedLock c = members.node("c").coordination().lock("x");
        a.lock(LONG);
        long t0 = System.nanoTime();
        BatonException e = assertFails(Status.Code.DEADLINE_EXCEEDED, () -> b.lock(Duration.ofMillis(200)));
        long ms = Await.msSince(t0);
        assertTrue(ms >= 190 && ms < 200 + TIMEOUT_SLACK.toMillis(), "timed out after " + ms + " ms: " + e);
        assertFalse(b.isHeldByCurrentThread());
        a.unlock();
        assertTrue(c.tryLock(), "the timed-out waiter was withdrawn, not granted");
        c.unlock();
        assertTrue(b.tryLock());
        b.unlock();
    }

    @Test
    void locksAreNotLeakedWhenWaitsTimeOutWhileTheLockChangesHands() throws Exception {
        DistributedLock busy = members.node("busy").coordination().lock("churn");
        DistributedLock impatient = members.node("impatient").coordination().lock("churn");
        DistributedLock third = members.node("third").coordination().lock("churn");
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            Future<?> holder = pool.submit(() -> {
                for (int i = 0; i < 200; i++) {
                    busy.lock(LONG);
                    LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(2_000_000L));
                    busy.unlock();
                }
                return null;
            });
            Future<Integer> timeouts = pool.submit(() -> {
                int n = 0;
                while (!holder.isDone()) {
                    try {
                        impatient.lock(Duration.ofNanos(ThreadLocalRandom.current().nextLong(3_000_000L)));
                        impatient.unlock();
                    } catch (BatonException e) {
                        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
                        n++;
                    }
                }
                return n;
            });
            holder.get(40, TimeUnit.SECONDS);
            assertTrue(timeouts.get(10, TimeUnit.SECONDS) > 0, "no wait timed out; the test proved nothing");
        }
        assertFalse(impatient.isHeldByCurrentThread());
        assertTrue(third.tryLock(), "a lock was left held after the timed-out waits");
        third.unlock();
    }

    @Test
    void unlockByAThreadThatDoesNotHoldTheLockThrowsIllegalMonitorState() throws Exception {
        DistributedLock lock = members.node("a").coordination().lock("m");
        assertThrows(IllegalMonitorStateException.class, lock::unlock);
        lock.lock(LONG);
        try (ExecutorService other = Executors.newSingleThreadExecutor()) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> other.submit(lock::unlock).get(10, TimeUnit.SECONDS));
            assertInstanceOf(IllegalMonitorStateException.class, e.getCause());
        }
        assertTrue(lock.isHeldByCurrentThread());
        lock.unlock();
        assertThrows(IllegalMonitorStateException.class, lock::unlock);
    }

    @Test
    void lockNamesOverTheLimitAreInvalid() throws Exception {
        Coordination co = members.node("a").coordination();
        assertFails(Status.Code.INVALID_ARGUMENT, () -> co.lock("n".repeat(4_097)));
        DistributedLock longest = co.lock("n".repeat(4_096));
        assertTrue(longest.tryLock());
        longest.unlock();
    }
}
