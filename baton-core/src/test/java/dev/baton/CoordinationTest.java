package dev.baton;

import dev.baton.Coordination.DistributedLock;
import dev.baton.internal.registry.ControlClient;
import dev.baton.internal.tcp.TcpTransport;
import dev.baton.internal.wire.ControlProtocol;
import dev.baton.internal.wire.WireWriter;
import dev.baton.spi.PeerIdentity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** prpc's tcp_master_client_test (ids, barriers, locks, context), with real master and nodes in one JVM. */
@Timeout(60)
class CoordinationTest {

    private static final Duration LONG = Duration.ofSeconds(20);

    /** The counter the lock tests guard; volatile only for visibility, so read-then-write still races. */
    private volatile int shared;

    @Test
    void idsCountFromZeroPerKeyAcrossNodes() {
        try (Cluster c = Cluster.withNodes(2)) {
            Coordination a = c.node(0).coordination();
            Coordination b = c.node(1).coordination();
            assertSame(a, c.node(0).coordination());
            assertEquals(0, a.nextId("key1"));
            assertEquals(1, b.nextId("key1"));
            assertEquals(2, a.nextId("key1"));
            assertEquals(0, b.nextId("key2"));
            assertEquals(1, a.nextId("key2"));

            c.node(1).close();
            assertEquals(Status.Code.CLOSED, assertThrows(BatonException.class, () -> b.nextId("key1")).code());
            assertEquals(3, a.nextId("key1"));
        }
    }

    @Test
    void idsAreUniqueAndDenseUnderConcurrentCallers() throws Exception {
        int nodes = 4;
        int threads = 4;
        int each = 50;
        try (Cluster c = Cluster.withNodes(nodes); ExecutorService pool = Executors.newFixedThreadPool(nodes * threads)) {
            Set<Long> ids = ConcurrentHashMap.newKeySet();
            List<Future<?>> done = new ArrayList<>();
            for (int n = 0; n < nodes; n++) {
                Coordination co = c.node(n).coordination();
                for (int t = 0; t < threads; t++) {
                    done.add(pool.submit(() -> {
                        for (int i = 0; i < each; i++) {
                            assertTrue(ids.add(co.nextId("dense")));
                        }
                        return null;
                    }));
                }
            }
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
            int total = nodes * threads * each;
            assertEquals(total, ids.size());
            assertEquals(total - 1, ids.stream().mapToLong(Long::longValue).max().orElseThrow());
        }
    }

    @Test
    void barrierReleasesEveryPartyOnlyOnceAllHaveArrivedRoundAfterRound() throws Exception {
        String[] rounds = {"b1", "b1", "b2", "b1"};
        int parties = 5;
        try (Cluster c = Cluster.withNodes(parties); ExecutorService pool = Executors.newFixedThreadPool(parties)) {
            AtomicInteger[] arrived = counters(rounds.length);
            AtomicInteger[] returned = counters(rounds.length);
            int[][] arrivedWhenReturning = new int[rounds.length][parties];
            int[][] returnedWhenArriving = new int[rounds.length][parties];
            List<Future<?>> done = new ArrayList<>();
            for (int p = 0; p < parties; p++) {
                int party = p;
                Coordination co = c.node(p).coordination();
                done.add(pool.submit(() -> {
                    for (int r = 0; r < rounds.length; r++) {
                        LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(20_000_000L));   // staggered arrivals
                        returnedWhenArriving[r][party] = returned[r].get();
                        arrived[r].incrementAndGet();
                        co.barrier(rounds[r], parties, LONG);
                        arrivedWhenReturning[r][party] = arrived[r].get();
                        returned[r].incrementAndGet();
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
            for (int r = 0; r < rounds.length; r++) {
                for (int p = 0; p < parties; p++) {
                    assertEquals(parties, arrivedWhenReturning[r][p], "round " + r + ": party " + p + " returned early");
                    assertEquals(0, returnedWhenArriving[r][p], "round " + r + ": someone returned before party " + p
                            + " arrived");
                }
            }
        }
    }

    @Test
    void aBarrierThatTimesOutThrowsDeadlineExceededAndLeavesTheRound() throws Exception {
        try (Cluster c = Cluster.withNodes(2); ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Coordination a = c.node(0).coordination();
            Coordination b = c.node(1).coordination();
            long t0 = System.nanoTime();
            BatonException e = assertThrows(BatonException.class, () -> a.barrier("bt", 2, Duration.ofMillis(200)));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
            assertTrue(ms >= 195 && ms < 2_000, "timed out after " + ms + " ms");

            // a's arrival is gone: b alone opens nothing, and may even start a round of another size.
            assertEquals(Status.Code.DEADLINE_EXCEEDED, outcome(() -> b.barrier("bt", 3, Duration.ofMillis(100))));
            // The barrier still works.
            Future<?> other = pool.submit(() -> {
                a.barrier("bt", 2, LONG);
                return null;
            });
            b.barrier("bt", 2, LONG);
            other.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aBarrierCallWithOtherPartiesThanItsRoundIsInvalid() throws Exception {
        try (Cluster c = Cluster.withNodes(2); ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Coordination a = c.node(0).coordination();
            Coordination b = c.node(1).coordination();
            assertEquals(Status.Code.INVALID_ARGUMENT, outcome(() -> a.barrier("bm", 0, LONG)));

            Future<Status.Code> first = pool.submit(() -> outcome(() -> a.barrier("bm", 2, LONG)));
            // The round takes the parties of its first arrival. b says 3 until it meets a's round (or a meets b's).
            Status.Code seen;
            do {
                seen = outcome(() -> b.barrier("bm", 3, Duration.ofMillis(50)));
            } while (seen == Status.Code.DEADLINE_EXCEEDED && !first.isDone());
            if (seen == Status.Code.INVALID_ARGUMENT) {
                b.barrier("bm", 2, LONG);      // a's round still waits for its second party
                assertEquals(Status.Code.OK, first.get(10, TimeUnit.SECONDS));
            } else {
                assertEquals(Status.Code.DEADLINE_EXCEEDED, seen);
                assertEquals(Status.Code.INVALID_ARGUMENT, first.get(10, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void lockGivesMutualExclusionAcrossNodesAndThreadsWithNestedHolds() throws Exception {
        int nodes = 4;
        int threads = 3;
        int rounds = 5;
        int depth = 10;
        try (Cluster c = Cluster.withNodes(nodes); ExecutorService pool = Executors.newFixedThreadPool(nodes * threads)) {
            AtomicInteger inside = new AtomicInteger();
            AtomicInteger overlaps = new AtomicInteger();
            List<Future<?>> done = new ArrayList<>();
            for (int n = 0; n < nodes; n++) {
                DistributedLock lock = c.node(n).coordination().lock("counter");
                assertSame(lock, c.node(n).coordination().lock("counter"));
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
            assertEquals(0, overlaps.get());
            assertEquals(nodes * threads * rounds * depth, shared);
        }
    }

    @Test
    void tryLockFailsWhileTheLockIsHeldElsewhereAndSucceedsOnceReleased() throws Exception {
        try (Cluster c = Cluster.withNodes(2); ExecutorService other = Executors.newSingleThreadExecutor()) {
            DistributedLock a = c.node(0).coordination().lock("t");
            DistributedLock b = c.node(1).coordination().lock("t");
            a.lock(LONG);
            assertFalse(b.tryLock(), "held by another node");
            assertFalse(other.submit(a::tryLock).get(10, TimeUnit.SECONDS), "held by another thread of this node");
            assertTrue(a.tryLock(), "reentrant");
            a.unlock();
            assertTrue(a.isHeldByCurrentThread());
            a.unlock();
            assertFalse(a.isHeldByCurrentThread());
            assertTrue(b.tryLock(), "unlock returns once the master has released the lock");
            assertFalse(a.tryLock());
            b.unlock();
        }
    }

    @Test
    void everyGrantCarriesALargerFencingToken() throws Exception {
        try (Cluster c = Cluster.withNodes(2); ExecutorService other = Executors.newSingleThreadExecutor()) {
            DistributedLock a = c.node(0).coordination().lock("fenced");
            DistributedLock b = c.node(1).coordination().lock("fenced");
            assertThrows(IllegalMonitorStateException.class, a::fencingToken);
            a.lock(LONG);
            long first = a.fencingToken();
            assertTrue(a.tryLock(), "reentrant");
            assertEquals(first, a.fencingToken(), "a reentrant hold keeps the token of the first");
            // b waits; a's last unlock hands the lock over with a larger token.
            Future<Long> granted = other.submit(() -> {
                b.lock(LONG);
                try {
                    return b.fencingToken();
                } finally {
                    b.unlock();
                }
            });
            a.unlock();
            a.unlock();
            long second = granted.get(20, TimeUnit.SECONDS);
            assertTrue(second > first, second + " > " + first);
            assertTrue(a.tryLock());
            long third = a.fencingToken();
            assertTrue(third > second, third + " > " + second);
            a.unlock();
            assertThrows(IllegalMonitorStateException.class, a::fencingToken);
        }
    }

    @Test
    void aLockHeldByANodeThatLeavesGoesToTheNodeWaitingForIt() throws Exception {
        try (Cluster c = Cluster.withNodes(2); ExecutorService pool = Executors.newSingleThreadExecutor()) {
            DistributedLock held = c.node(0).coordination().lock("d");
            DistributedLock wanted = c.node(1).coordination().lock("d");
            held.lock(LONG);
            AtomicBoolean holderClosing = new AtomicBoolean();
            Future<Boolean> waiter = pool.submit(() -> {
                wanted.lock(LONG);
                try {
                    return holderClosing.get() && wanted.isHeldByCurrentThread();
                } finally {
                    wanted.unlock();
                }
            });
            assertThrows(TimeoutException.class, () -> waiter.get(300, TimeUnit.MILLISECONDS));
            holderClosing.set(true);
            c.node(0).close();          // never unlocked: the master releases it with the node's connection
            assertTrue(waiter.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void aLockHeldOverAConnectionThatGoesSilentIsReleasedWhenItsLeaseExpires() throws Exception {
        try (Master master = Master.start(new InetSocketAddress("127.0.0.1", 0), Duration.ofMillis(300));
             Node node = Node.join(NodeOptions.builder().master(master.address()).name("waiter").build());
             ControlClient frozen = new ControlClient("frozen", 77, PeerIdentity.ROLE_NODE, () -> -1,
                     master.address(), TcpTransport.factory(), m -> m.close(), e -> { })) {
            frozen.awaitOpen(Duration.ofSeconds(5));
            WireWriter w = new WireWriter().putString("z").putLong(1).putLong(0);
            frozen.callSync(ControlProtocol.LOCK, w.toBuffer(), Duration.ofSeconds(5)).close();
            DistributedLock lock = node.coordination().lock("z");
            assertFalse(lock.tryLock());
            frozen.keepalive(Duration.ZERO, Duration.ZERO);     // stops renewing, as a frozen or cut-off process would
            long t0 = System.nanoTime();
            lock.lock(LONG);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(lock.isHeldByCurrentThread());
            assertTrue(ms < 3_000, "granted after " + ms + " ms with a 300 ms lease");
            lock.unlock();
        }
    }

    @Test
    void aLockWaitThatTimesOutThrowsDeadlineExceededAndLeavesNothingBehind() throws Exception {
        try (Cluster c = Cluster.withNodes(3)) {
            DistributedLock a = c.node(0).coordination().lock("x");
            DistributedLock b = c.node(1).coordination().lock("x");
            DistributedLock x = c.node(2).coordination().lock("x");
            a.lock(LONG);
            long t0 = System.nanoTime();
            BatonException e = assertThrows(BatonException.class, () -> b.lock(Duration.ofMillis(200)));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
            assertTrue(ms >= 195 && ms < 2_000, "timed out after " + ms + " ms");
            assertFalse(b.isHeldByCurrentThread());
            a.unlock();
            assertTrue(x.tryLock(), "the timed-out waiter was withdrawn, not granted");
            x.unlock();
            assertTrue(b.tryLock());
            b.unlock();
        }
    }

    @Test
    void locksAreNotLeakedWhenWaitsTimeOutWhileTheLockChangesHands() throws Exception {
        try (Cluster c = Cluster.withNodes(3); ExecutorService pool = Executors.newFixedThreadPool(2)) {
            DistributedLock busy = c.node(0).coordination().lock("churn");
            DistributedLock impatient = c.node(1).coordination().lock("churn");
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
            assertFalse(impatient.isHeldByCurrentThread());
            DistributedLock third = c.node(2).coordination().lock("churn");
            assertTrue(third.tryLock(), "a lock was left held after the timed-out waits");
            third.unlock();
        }
    }

    @Test
    void unlockByAThreadThatDoesNotHoldTheLockThrowsIllegalMonitorState() throws Exception {
        try (Cluster c = Cluster.withNodes(1); ExecutorService other = Executors.newSingleThreadExecutor()) {
            DistributedLock lock = c.node(0).coordination().lock("m");
            assertThrows(IllegalMonitorStateException.class, lock::unlock);
            lock.lock(LONG);
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> other.submit(lock::unlock).get(10, TimeUnit.SECONDS));
            assertInstanceOf(IllegalMonitorStateException.class, e.getCause());
            assertTrue(lock.isHeldByCurrentThread());
            lock.unlock();
            assertThrows(IllegalMonitorStateException.class, lock::unlock);
        }
    }

    @Test
    void keyValuesArePutReadAndDeletedAndAWatchSeesEveryChangeUnderItsPrefixInOrder() throws Exception {
        try (Cluster c = Cluster.withNodes(2)) {
            Coordination writer = c.node(0).coordination();
            Coordination reader = c.node(1).coordination();
            BlockingQueue<String> seen = new LinkedBlockingQueue<>();
            Set<String> threads = ConcurrentHashMap.newKeySet();
            AutoCloseable watch = reader.watch("cfg/", (k, v) -> {
                threads.add(Thread.currentThread().getName());
                seen.add(k + "=" + v.map(b -> new String(b, StandardCharsets.UTF_8)).orElse("<deleted>"));
            });

            assertTrue(reader.get("cfg/a").isEmpty());
            writer.put("cfg/a", bytes("1"));
            writer.put("other", bytes("x"));
            writer.put("cfg/b", bytes("2"));
            writer.put("cfg/a", bytes("3"));
            assertTrue(writer.delete("cfg/a"));
            assertFalse(writer.delete("cfg/a"), "nothing left to delete");
            assertArrayEquals(bytes("2"), reader.get("cfg/b").orElseThrow());
            assertArrayEquals(bytes("x"), reader.get("other").orElseThrow());
            assertTrue(reader.get("cfg/a").isEmpty());

            List<String> events = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                String e = seen.poll(10, TimeUnit.SECONDS);
                assertTrue(e != null, "only " + events + " seen");
                events.add(e);
            }
            assertEquals(List.of("cfg/a=1", "cfg/b=2", "cfg/a=3", "cfg/a=<deleted>"), events);
            assertTrue(threads.stream().allMatch(t -> t.startsWith("baton-events-")), "watchers ran on " + threads);

            watch.close();
            watch.close();
            BlockingQueue<String> second = new LinkedBlockingQueue<>();
            try (AutoCloseable again = reader.watch("cfg/", (k, v) -> second.add(k))) {
                writer.put("cfg/c", bytes("4"));
                assertEquals("cfg/c", second.poll(10, TimeUnit.SECONDS));
            }
            assertTrue(seen.isEmpty(), "a closed watch was called: " + seen);
        }
    }

    @Test
    void valuesOverOneMebibyteAreRefused() {
        try (Cluster c = Cluster.withNodes(1)) {
            Coordination co = c.node(0).coordination();
            byte[] max = new byte[1 << 20];
            max[max.length - 1] = 42;
            co.put("big", max);
            assertArrayEquals(max, co.get("big").orElseThrow());
            BatonException e = assertThrows(BatonException.class, () -> co.put("bigger", new byte[(1 << 20) + 1]));
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.code());
            assertTrue(co.get("bigger").isEmpty());
        }
    }

    @Test
    void aRestartedMasterStartsEmptyButWatchesAreRegisteredAgain() throws Exception {
        Master master = Master.start(0);
        InetSocketAddress address = master.address();
        try (Node a = Node.join(NodeOptions.builder().master(address).name("a").build());
             Node b = Node.join(NodeOptions.builder().master(address).name("b").build())) {
            BlockingQueue<String> seen = new LinkedBlockingQueue<>();
            b.coordination().watch("k/", (k, v) -> seen.add(k));
            DistributedLock held = a.coordination().lock("L");
            held.lock(LONG);
            assertEquals(0, a.coordination().nextId("i"));
            a.coordination().put("k/before", bytes("1"));
            assertEquals("k/before", seen.poll(10, TimeUnit.SECONDS));

            master.close();
            try (Master again = Master.start(address)) {
                // Each node is UNAVAILABLE until it has reconnected, and its watch comes back just after; until
                // then a change may go unseen. Once b sees a's change, both are back.
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                String got = null;
                for (int i = 0; got == null && System.nanoTime() < end; i++) {
                    try {
                        a.coordination().put("k/after" + i, bytes("2"));
                    } catch (BatonException e) {
                        assertEquals(Status.Code.UNAVAILABLE, e.code());
                    }
                    got = seen.poll(100, TimeUnit.MILLISECONDS);
                }
                assertTrue(got != null && got.startsWith("k/after"), "watch not restored: " + got);

                assertTrue(a.coordination().get("k/before").isEmpty(), "values are gone");
                assertEquals(0, a.coordination().nextId("i"), "ids count from 0 again");
                DistributedLock other = b.coordination().lock("L");
                assertTrue(other.tryLock(), "the new master never heard of the old hold");
                assertTrue(held.isHeldByCurrentThread(), "the local view stays until unlock");
                held.unlock();
                other.unlock();
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    @FunctionalInterface
    private interface Action {
        void run() throws Exception;
    }

    private static Status.Code outcome(Action action) throws Exception {
        try {
            action.run();
            return Status.Code.OK;
        } catch (BatonException e) {
            return e.code();
        }
    }

    private static AtomicInteger[] counters(int n) {
        AtomicInteger[] a = new AtomicInteger[n];
        for (int i = 0; i < n; i++) {
            a[i] = new AtomicInteger();
        }
        return a;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
