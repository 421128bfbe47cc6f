package dev.baton.zookeeper;

import dev.baton.BatonException;
import dev.baton.Coordination.DistributedLock;
import dev.baton.Status;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ZkCoordination} against a real ZooKeeper server: locks, barriers, ids, closing and outages. Key/values
 * and watches: {@link ZkKeyValuesTest}.
 */
class ZkCoordinationTest extends ZkCoordinationFixture {

    /** Guarded by the lock under test; volatile only for visibility, so read-then-write races. */
    private volatile int shared;

    // ------------------------------------------------------------------ locks

    @Test
    void locksExcludeAcrossNodesAndThreadsAndAreReentrant() throws Exception {
        List<TestNode> nodes = List.of(new TestNode(), new TestNode());
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger overlaps = new AtomicInteger();
        List<Future<?>> done = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(6)) {
            for (TestNode n : nodes) {
                DistributedLock lock = n.co.lock("counter");
                assertTrue(lock == n.co.lock("counter"));
                for (int t = 0; t < 3; t++) {
                    done.add(pool.submit(() -> {
                        for (int r = 0; r < 10; r++) {
                            lock.lock(LONG);
                            lock.lock(LONG);
                            if (inside.incrementAndGet() != 1) {
                                overlaps.incrementAndGet();
                            }
                            int v = shared;
                            Thread.yield();
                            shared = v + 1;
                            inside.decrementAndGet();
                            lock.unlock();
                            assertTrue(lock.isHeldByCurrentThread());
                            lock.unlock();
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
        assertEquals(60, shared);
        assertThrows(IllegalMonitorStateException.class, () -> nodes.get(0).co.lock("counter").unlock());
    }

    @Test
    void fencingTokensGrowWithEveryGrantOfAnyLock() throws Exception {
        TestNode a = new TestNode();
        TestNode b = new TestNode();
        DistributedLock la = a.co.lock("f");
        assertThrows(IllegalMonitorStateException.class, la::fencingToken);
        la.lock(LONG);
        long first = la.fencingToken();
        assertTrue(la.tryLock());
        assertEquals(first, la.fencingToken());
        assertFalse(b.co.lock("f").tryLock());
        la.unlock();
        la.unlock();
        DistributedLock lb = b.co.lock("f");
        assertTrue(lb.tryLock());
        long second = lb.fencingToken();
        lb.unlock();
        DistributedLock other = a.co.lock("other");
        other.lock(LONG);
        long third = other.fencingToken();
        other.unlock();
        assertTrue(first < second && second < third, first + " < " + second + " < " + third);
    }

    @Test
    void aTimedOutLockWaitIsWithdrawnAndNeverGranted() throws Exception {
        DistributedLock a = new TestNode().co.lock("x");
        DistributedLock b = new TestNode().co.lock("x");
        DistributedLock c = new TestNode().co.lock("x");
        a.lock(LONG);
        long t0 = System.nanoTime();
        BatonException e = assertThrows(BatonException.class, () -> b.lock(Duration.ofMillis(200)));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
        assertTrue(ms >= 190 && ms < 2_700, "timed out after " + ms + " ms");
        a.unlock();
        assertTrue(c.tryLock(), "the timed-out request was withdrawn");
        c.unlock();
        assertTrue(b.tryLock());
        b.unlock();
    }

    @Test
    void theLockOfANodeThatClosesGoesToTheWaiter() throws Exception {
        TestNode holder = new TestNode();
        DistributedLock held = holder.co.lock("d");
        DistributedLock wanted = new TestNode().co.lock("d");
        held.lock(LONG);
        long token = held.fencingToken();
        try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Future<Long> waiter = pool.submit(() -> {
                wanted.lock(LONG);
                try {
                    return wanted.fencingToken();
                } finally {
                    wanted.unlock();
                }
            });
            Thread.sleep(200);
            assertFalse(waiter.isDone());
            holder.close();         // never unlocked: the session's end releases it
            assertTrue(waiter.get(20, TimeUnit.SECONDS) > token);
        }
        assertTrue(held.isHeldByCurrentThread(), "the old holder cannot know");
        held.unlock();              // never throws for a registry failure
    }

    @Test
    void aLostSessionFailsItsLockWaitAndPassesItsLockOnWithALargerToken() throws Exception {
        TestNode holder = new TestNode();
        TestNode lost = new TestNode();
        DistributedLock held = holder.co.lock("s");
        DistributedLock third = new TestNode().co.lock("s");
        held.lock(LONG);
        long token = held.fencingToken();
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            Future<Status.Code> waiting = pool.submit(() -> outcome(() -> lost.co.lock("s").lock(LONG)));
            Thread.sleep(300);
            assertFalse(waiting.isDone());
            lost.client.getZookeeperClient().getZooKeeper().getTestable().injectSessionExpiration();
            assertEquals(Status.Code.UNAVAILABLE, waiting.get(10, TimeUnit.SECONDS));

            Future<Long> next = pool.submit(() -> {
                third.lock(LONG);
                try {
                    return third.fencingToken();
                } finally {
                    third.unlock();
                }
            });
            Thread.sleep(300);
            assertFalse(next.isDone());
            holder.client.getZookeeperClient().getZooKeeper().getTestable().injectSessionExpiration();
            assertTrue(next.get(20, TimeUnit.SECONDS) > token, "granted with a larger token once the session expired");
        }
        assertTrue(held.isHeldByCurrentThread(), "the old holder cannot know");
        held.unlock();
        assertFalse(held.isHeldByCurrentThread());
    }

    @Test
    void aWaitOutlivesADisconnectionShorterThanTheSession() throws Exception {
        TestNode a = new TestNode(Duration.ofSeconds(10));
        TestNode b = new TestNode(Duration.ofSeconds(10));
        DistributedLock held = a.co.lock("short");
        held.lock(LONG);
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            Future<Status.Code> arrival = pool.submit(() -> outcome(() -> a.co.barrier("short", 2, LONG)));
            Future<Status.Code> lockWait = pool.submit(() -> outcome(() -> {
                b.co.lock("short").lock(LONG);
                b.co.lock("short").unlock();
            }));
            awaitRound(b.co, "short", 2);
            server.stop();
            Thread.sleep(500);
            assertFalse(arrival.isDone() || lockWait.isDone(), "the waits go on while the session lives");
            server.restart();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!b.client.getZookeeperClient().isConnected() || !a.client.getZookeeperClient().isConnected()) {
                assertTrue(System.nanoTime() < end, "not reconnected");
                Thread.sleep(10);
            }
            b.co.barrier("short", 2, LONG);
            assertEquals(Status.Code.OK, arrival.get(10, TimeUnit.SECONDS));
            held.unlock();
            assertEquals(Status.Code.OK, lockWait.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void namesOverTheLimitAreInvalid() throws Exception {
        TestNode n = new TestNode();
        String tooLong = "n".repeat(4_097);
        assertEquals(Status.Code.INVALID_ARGUMENT, outcome(() -> n.co.lock(tooLong)));
        assertEquals(Status.Code.INVALID_ARGUMENT, outcome(() -> n.co.barrier(tooLong, 1, LONG)));
        assertEquals(Status.Code.INVALID_ARGUMENT, outcome(() -> n.co.put(tooLong, new byte[0])));
        assertEquals(Status.Code.INVALID_ARGUMENT, outcome(() -> n.co.watch(tooLong, (k, v) -> { })));
        DistributedLock longest = n.co.lock("é/.".repeat(1_365));
        assertTrue(longest.tryLock());
        longest.unlock();
        n.co.put("", bytes("empty key"));
        n.co.put(".", bytes("dot"));
        assertArrayEquals(bytes("empty key"), n.co.get("").orElseThrow());
        assertArrayEquals(bytes("dot"), n.co.get(".").orElseThrow());
    }

    // ------------------------------------------------------------------ barriers

    @Test
    void aBarrierOpensRoundAfterRoundOnlyWhenAllHaveArrived() throws Exception {
        int parties = 3;
        int rounds = 5;
        List<TestNode> nodes = List.of(new TestNode(), new TestNode(), new TestNode());
        AtomicInteger[] arrived = new AtomicInteger[rounds];
        for (int r = 0; r < rounds; r++) {
            arrived[r] = new AtomicInteger();
        }
        AtomicInteger early = new AtomicInteger();
        List<Future<?>> done = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(parties)) {
            for (TestNode n : nodes) {
                done.add(pool.submit(() -> {
                    for (int r = 0; r < rounds; r++) {
                        Thread.sleep(ThreadLocalRandom.current().nextInt(20));
                        arrived[r].incrementAndGet();
                        n.co.barrier("b", parties, LONG);
                        if (arrived[r].get() != parties) {
                            early.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(40, TimeUnit.SECONDS);
            }
        }
        assertEquals(0, early.get());
    }

    @Test
    void aTimedOutArrivalLeavesTheRoundAndOtherPartiesAreRefused() throws Exception {
        TestNode a = new TestNode();
        TestNode b = new TestNode();
        long t0 = System.nanoTime();
        assertEquals(Status.Code.DEADLINE_EXCEEDED, outcome(() -> a.co.barrier("t", 2, Duration.ofMillis(200))));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= 190 && ms < 2_700, "timed out after " + ms + " ms");
        assertEquals(Status.Code.DEADLINE_EXCEEDED, outcome(() -> b.co.barrier("t", 3, Duration.ZERO)),
                "the round is empty and forgot its parties");
        assertEquals(Status.Code.INVALID_ARGUMENT, outcome(() -> a.co.barrier("t", 0, LONG)));
        a.co.barrier("one", 1, Duration.ZERO);
        try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Future<Status.Code> first = pool.submit(() -> outcome(() -> a.co.barrier("t", 2, LONG)));
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (outcome(() -> b.co.barrier("t", 3, Duration.ZERO)) != Status.Code.INVALID_ARGUMENT) {
                assertTrue(System.nanoTime() < end, "a's round never showed");
                Thread.sleep(5);
            }
            b.co.barrier("t", 2, Duration.ZERO);       // completes the round: a zero timeout suffices
            assertEquals(Status.Code.OK, first.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void anInterruptedArrivalIsWithdrawn() throws Exception {
        TestNode a = new TestNode();
        TestNode b = new TestNode();
        try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Future<Boolean> waiting = pool.submit(() -> {
                try {
                    a.co.barrier("i", 2, LONG);
                    return false;
                } catch (InterruptedException e) {
                    return true;
                }
            });
            awaitRound(b.co, "i", 2);
            waiting.cancel(true);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (outcome(() -> b.co.barrier("i", 3, Duration.ZERO)) != Status.Code.DEADLINE_EXCEEDED) {
                assertTrue(System.nanoTime() < end, "the interrupted arrival is still there");
                Thread.sleep(5);
            }
        }
    }

    @Test
    void theArrivalOfANodeThatClosesIsWithdrawnAndItsWaitFailsWithUnavailable() throws Exception {
        TestNode closing = new TestNode();
        TestNode b = new TestNode();
        TestNode c = new TestNode();
        try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Future<Status.Code> waiting = pool.submit(() -> outcome(() -> closing.co.barrier("w", 2, LONG)));
            awaitRound(c.co, "w", 2);
            closing.close();
            assertEquals(Status.Code.UNAVAILABLE, waiting.get(10, TimeUnit.SECONDS));
        }
        assertEquals(Status.Code.CLOSED, outcome(() -> closing.co.barrier("w", 2, LONG)));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, outcome(() -> c.co.barrier("w", 3, Duration.ZERO)));
        try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Future<Status.Code> other = pool.submit(() -> outcome(() -> b.co.barrier("w", 2, LONG)));
            c.co.barrier("w", 2, LONG);
            assertEquals(Status.Code.OK, other.get(10, TimeUnit.SECONDS));
        }
    }

    // ------------------------------------------------------------------ ids

    @Test
    void idsAreDenseAndUniqueUnderConcurrentCallersOnTwoNodes() throws Exception {
        List<TestNode> nodes = List.of(new TestNode(), new TestNode());
        Set<Long> ids = ConcurrentHashMap.newKeySet();
        List<Future<?>> done = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            for (TestNode n : nodes) {
                for (int t = 0; t < 4; t++) {
                    done.add(pool.submit(() -> {
                        for (int i = 0; i < 25; i++) {
                            assertTrue(ids.add(n.co.nextId("dense")));
                        }
                        return null;
                    }));
                }
            }
            for (Future<?> f : done) {
                f.get(40, TimeUnit.SECONDS);
            }
        }
        assertEquals(200, ids.size());
        assertEquals(199L, ids.stream().mapToLong(Long::longValue).max().orElseThrow());
        assertEquals(0, nodes.get(0).co.nextId("other"));
        assertEquals(1, nodes.get(1).co.nextId("other"));
    }

    // ------------------------------------------------------------------ closing and outages

    @Test
    void aClosedCoordinationFailsWithClosed() throws Exception {
        TestNode n = new TestNode();
        DistributedLock lock = n.co.lock("l");
        lock.lock(LONG);
        n.co.close();
        n.co.close();
        assertEquals(Status.Code.CLOSED, outcome(() -> n.co.nextId("i")));
        assertEquals(Status.Code.CLOSED, outcome(() -> n.co.put("k", bytes("v"))));
        assertEquals(Status.Code.CLOSED, outcome(() -> n.co.get("k")));
        assertEquals(Status.Code.CLOSED, outcome(() -> n.co.lock("l2")));
        assertEquals(Status.Code.CLOSED, outcome(() -> n.co.watch("k", (k, v) -> { })));
        lock.unlock();              // releasing still works, and does not throw
        assertFalse(lock.isHeldByCurrentThread());
    }

    @Test
    void whileZooKeeperIsAwayCallsFailFastWithUnavailableAndWatchesResumeAfterwards() throws Exception {
        TestNode writer = new TestNode();
        TestNode reader = new TestNode();
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        reader.co.watch("k/", (k, v) -> seen.add(change(k, v)));
        writer.co.put("k/before", bytes("1"));
        assertEquals("k/before=1", seen.poll(10, TimeUnit.SECONDS));
        try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Future<Status.Code> waiting = pool.submit(() -> outcome(() -> writer.co.barrier("never", 2, LONG)));
            awaitRound(reader.co, "never", 2);
            server.stop();
            try {
                assertEquals(Status.Code.UNAVAILABLE, waiting.get(15, TimeUnit.SECONDS), "session lost while waiting");
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (writer.client.getZookeeperClient().isConnected()) {
                    assertTrue(System.nanoTime() < end);
                    Thread.sleep(5);
                }
                List<ThrowingRunnable> calls = List.of(() -> writer.co.nextId("i"),
                        () -> writer.co.put("k", bytes("v")), () -> writer.co.get("k"), () -> writer.co.delete("k"),
                        () -> writer.co.watch("k", (k, v) -> { }),
                        () -> writer.co.lock("L").tryLock(), () -> writer.co.lock("L").lock(Duration.ofSeconds(1)),
                        () -> writer.co.barrier("b", 2, Duration.ofSeconds(1)));
                for (ThrowingRunnable call : calls) {
                    long t0 = System.nanoTime();
                    assertEquals(Status.Code.UNAVAILABLE, outcome(call));
                    assertTrue(System.nanoTime() - t0 < TIMEOUT.toNanos(), "within the timeout");
                }
            } finally {
                server.restart();
            }
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        String got = null;
        for (int i = 0; got == null && System.nanoTime() < end; i++) {
            String key = "k/after" + i;
            Status.Code put = outcome(() -> writer.co.put(key, bytes("2")));
            assertTrue(put == Status.Code.OK || put == Status.Code.UNAVAILABLE, "put: " + put);
            got = seen.poll(100, TimeUnit.MILLISECONDS);
        }
        assertTrue(got != null && got.startsWith("k/after"), "the watch is not back: " + got);
    }
}
