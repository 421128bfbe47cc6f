package dev.baton.accumulator;

import dev.baton.BatonException;
import dev.baton.Status;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.BitSet;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Accumulators with every node in this JVM: types, reads, resets, batching, errors. */
@Timeout(60)
class AccumulatorsTest {

    static final Duration T = Duration.ofSeconds(20);

    @BeforeAll
    static void registerTypes() {
        Scenario.registerTypes();
    }

    @Test
    void prpcScenarioOnOneNode() throws Exception {
        try (TestCluster c = TestCluster.withNodes(1)) {
            for (int k = 0; k < 3; k++) {
                for (String phase : Scenario.WRITE_PHASES) {
                    Scenario.write(c.acc(0), phase, 0, k);
                }
                assertEquals(Scenario.expected(1, k), Scenario.read(c.acc(0), k));
            }
        }
    }

    @Test
    void prpcScenarioOnThreeNodesInOneProcess() throws Exception {
        int n = 3;
        try (TestCluster c = TestCluster.withNodes(n)) {
            CyclicBarrier barrier = new CyclicBarrier(n);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread[] ranks = new Thread[n];
            for (int r = 0; r < n; r++) {
                int rank = r;
                ranks[r] = Thread.ofPlatform().name("rank-" + r).start(() -> {
                    try {
                        for (String phase : Scenario.WRITE_PHASES) {
                            Scenario.write(c.acc(rank), phase, rank, 0);
                        }
                        barrier.await();
                        assertEquals(Scenario.expected(n, 0), Scenario.read(c.acc(rank), 0));
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                        barrier.reset();
                    }
                });
            }
            for (Thread t : ranks) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
        }
    }

    @Test
    void serverRunsOnRankZeroByDefault() {
        try (TestCluster c = TestCluster.withNodes(3)) {
            c.awaitServerOn(0);
            assertTrue(c.acc(0).stats().hostingServer());
            assertFalse(c.acc(1).stats().hostingServer());
        }
    }

    @Test
    void sameNameAndTypeGivesTheSameHandle() {
        try (TestCluster c = TestCluster.withNodes(1)) {
            assertSame(c.acc(0).longSum("x"), c.acc(0).longSum("x"));
        }
    }

    @Test
    void sameNameWithAnotherTypeOnOneNodeThrowsAtCreation() {
        try (TestCluster c = TestCluster.withNodes(1)) {
            c.acc(0).longSum("x");
            BatonException e = assertThrows(BatonException.class, () -> c.acc(0).doubleMax("x"));
            assertEquals(Status.Code.ALREADY_EXISTS, e.code());
            assertTrue(e.getMessage().contains("long-sum"), e.getMessage());
        }
    }

    @Test
    void sameNameWithAnotherTypeOnAnotherNodeIsRejectedAndReportedToTheWriter() {
        try (TestCluster c = TestCluster.withNodes(2)) {
            c.acc(0).longSum("typed").write(5);
            c.acc(0).awaitFlushed(T);
            c.acc(1).doubleMax("typed").write(7.5);
            BatonException e = assertThrows(BatonException.class, () -> c.acc(1).awaitFlushed(T));
            assertEquals(Status.Code.ALREADY_EXISTS, e.code());
            assertTrue(e.getMessage().contains("'typed' is a long-sum"), e.getMessage());
            // Reported again by flush and read, and nothing was merged across types.
            assertEquals(Status.Code.ALREADY_EXISTS, assertThrows(BatonException.class, () -> c.acc(1).flush()).code());
            assertEquals(Status.Code.ALREADY_EXISTS,
                    assertThrows(BatonException.class, () -> c.acc(1).read("typed")).code());
            assertEquals(5, c.acc(0).longSum("typed").read());
            assertTrue(c.acc(1).stats().errors() >= 1);
        }
    }

    @Test
    void customAggregatorRoundTrip() {
        try (TestCluster c = TestCluster.withNodes(3)) {
            for (int r = 0; r < 3; r++) {
                c.acc(r).<BitSet, Integer>custom("ranks", Scenario.RankSet.NAME).write(r * 2);
                c.acc(r).awaitFlushed(T);
            }
            CustomAccumulator<BitSet, Integer> ranks = c.acc(1).custom("ranks", Scenario.RankSet.NAME);
            BitSet expected = new BitSet();
            expected.set(0);
            expected.set(2);
            expected.set(4);
            assertEquals(expected, ranks.read());
            AccumulatorValue.Custom v = (AccumulatorValue.Custom) c.acc(2).read("ranks").orElseThrow();
            assertEquals("{0, 2, 4}", v.render());
            assertEquals(expected, v.state(Scenario.RankSet.INSTANCE));
        }
    }

    @Test
    void anAccumulatorExistsOnTheServerOnceFlushedEvenWithoutWrites() {
        try (TestCluster c = TestCluster.withNodes(1)) {
            c.acc(0).doubleMax("idle");
            c.acc(0).awaitFlushed(T);
            assertEquals(Double.NEGATIVE_INFINITY, c.acc(0).doubleMax("idle").read());
            assertTrue(c.acc(0).readAll().containsKey("idle"));
        }
    }

    @Test
    void readOfAnUnknownNameIsEmpty() {
        try (TestCluster c = TestCluster.withNodes(1)) {
            c.acc(0).awaitFlushed(T);
            assertTrue(c.acc(0).read("nothing").isEmpty());
        }
    }

    @Test
    void resetSetsTheValueBackEverywhereAndLaterWritesCountFromZero() {
        try (TestCluster c = TestCluster.withNodes(2)) {
            c.acc(0).longSum("n").write(10);
            c.acc(1).longSum("n").write(20);
            c.acc(0).awaitFlushed(T);
            c.acc(1).awaitFlushed(T);
            assertEquals(30, c.acc(1).longSum("n").read());
            assertTrue(c.acc(1).reset("n"));
            assertEquals(0, c.acc(0).longSum("n").read());
            c.acc(0).longSum("n").write(1);
            c.acc(0).awaitFlushed(T);
            assertEquals(1, c.acc(1).longSum("n").read());
            assertFalse(c.acc(0).reset("never-written"));
        }
    }

    @Test
    void eraseRemovesTheNameSoAnotherTypeCanTakeIt() {
        try (TestCluster c = TestCluster.withNodes(2)) {
            c.acc(0).longSum("e").write(3);
            c.acc(0).awaitFlushed(T);
            assertTrue(c.acc(1).erase("e"));
            assertTrue(c.acc(1).read("e").isEmpty());
            c.acc(1).doubleSum("e").write(2.5);
            c.acc(1).awaitFlushed(T);
            assertEquals(2.5, c.acc(1).doubleSum("e").read());
            // Node 0 still has "e" as a long-sum: its next write is now the mismatch.
            c.acc(0).longSum("e").write(1);
            assertEquals(Status.Code.ALREADY_EXISTS,
                    assertThrows(BatonException.class, () -> c.acc(0).awaitFlushed(T)).code());
        }
    }

    @Test
    void eraseAllRemovesEverything() {
        try (TestCluster c = TestCluster.withNodes(1)) {
            c.acc(0).longSum("a").write(1);
            c.acc(0).timer("b").record(5);
            c.acc(0).awaitFlushed(T);
            assertEquals(2, c.acc(0).eraseAll());
            assertEquals(Map.of(), c.acc(0).readAll());
        }
    }

    @Test
    void aFlushOfTenThousandAccumulatorsIsOneBatch() {
        AccumulatorOptions opts = TestCluster.OPTIONS.toBuilder().flushEvery(0).flushInterval(Duration.ofHours(1)).build();
        try (TestCluster c = TestCluster.withNodes(1, opts)) {
            Accumulators acc = c.acc(0);
            acc.awaitFlushed(T);
            LongAccumulator[] many = new LongAccumulator[10_000];
            for (int i = 0; i < many.length; i++) {
                many[i] = acc.longSum("many." + i);
            }
            // Should a round of this node's own run while the loop writes (carrying some of the values) or beside
            // the flush, measure again, a bounded number of times. (A second check-in at start did that, until the
            // rounds learnt that the server's registration event may follow a membership that already showed it.)
            AccumulatorStats before = null;
            AccumulatorStats after = null;
            int attempts = 0;
            while (attempts++ < 5) {
                AccumulatorStats quiet = acc.stats();
                for (int i = 0; i < many.length; i++) {
                    many[i].write(i + 1);    // every one changes
                }
                before = acc.stats();
                acc.awaitFlushed(T);
                after = acc.stats();
                if (before.batchesSent() == quiet.batchesSent() && after.batchesSent() - before.batchesSent() == 1) {
                    break;
                }
            }
            assertEquals(1, after.batchesSent() - before.batchesSent(), "batches");
            assertEquals(10_000, after.entriesSent() - before.entriesSent(), "entries");
            Map<String, AccumulatorValue> all = acc.readAll();
            assertEquals(10_000, all.size());
            assertEquals(new AccumulatorValue.LongValue("many.9999", Aggregators.LONG_SUM, 10_000L * Math.min(attempts, 5)),
                    all.get("many.9999"));
        }
    }

    @Test
    void aNodeChecksInWithItsOwnAccumulatorServerOnceAtStart() throws InterruptedException {
        AccumulatorOptions opts = TestCluster.OPTIONS.toBuilder().flushEvery(0).flushInterval(Duration.ofHours(1)).build();
        for (int run = 0; run < 5; run++) {
            try (TestCluster c = TestCluster.withNodes(1, opts)) {
                Accumulators acc = c.acc(0);
                Wait.until(() -> acc.stats().batchesSent() >= 1, T, () -> "the check-in: " + acc.stats());
                Thread.sleep(300);      // the server's registration event comes within milliseconds of the start
                assertEquals(1, acc.stats().batchesSent(), "check-ins, run " + run + ": " + acc.stats());
            }
        }
    }

    @Test
    void countThresholdPushesWithoutAnExplicitFlush() {
        AccumulatorOptions opts = TestCluster.OPTIONS.toBuilder().flushEvery(100).flushInterval(Duration.ofHours(1)).build();
        try (TestCluster c = TestCluster.withNodes(1, opts)) {
            LongAccumulator x = c.acc(0).longSum("x");
            for (int i = 0; i < 100; i++) {
                x.write(1);
            }
            Wait.until(() -> x.read() == 100, T, () -> "read " + x.read());
        }
    }

    @Test
    void intervalPushesWithoutAnExplicitFlush() {
        AccumulatorOptions opts = TestCluster.OPTIONS.toBuilder().flushEvery(0).flushInterval(Duration.ofMillis(50)).build();
        try (TestCluster c = TestCluster.withNodes(1, opts)) {
            LongAccumulator x = c.acc(0).longSum("x");
            x.write(42);
            Wait.until(() -> x.read() == 42, T, () -> "read " + x.read());
        }
    }

    @Test
    void timerStatistics() {
        try (TestCluster c = TestCluster.withNodes(2)) {
            c.acc(0).timer("t").record(Duration.ofNanos(10));
            c.acc(0).timer("t").record(20);
            c.acc(1).timer("t").record(30);
            c.acc(1).timer("t").record(40);
            c.acc(0).awaitFlushed(T);
            c.acc(1).awaitFlushed(T);
            AccumulatorValue.Timer t = c.acc(0).timer("t").read();
            assertEquals(4, t.count());
            assertEquals(100, t.total(), 1e-9);
            assertEquals(25, t.mean(), 1e-9);
            assertEquals(125, t.variance(), 1e-9);
            assertEquals(10, t.min());
            assertEquals(40, t.max());
            assertEquals(4, t.histogram().count());
            assertEquals(20, t.p50());
            assertEquals(40, t.p99());     // 40's bucket is [40, 41]: kept within max
            assertEquals("count=4 mean=25ns p50=20ns p90=40ns p99=40ns p999=40ns max=40ns", t.render());
        }
    }

    @Test
    void averageOfNothingIsNotANumber() {
        try (TestCluster c = TestCluster.withNodes(1)) {
            AverageAccumulator a = c.acc(0).average("a");
            c.acc(0).awaitFlushed(T);
            assertEquals(0, a.read().count());
            assertTrue(Double.isNaN(a.read().mean()));
            assertEquals("N/A", a.read().render());
            a.write(1.5);
            a.write(2.5);
            c.acc(0).awaitFlushed(T);
            assertEquals(2.0, a.read().mean());
        }
    }

    @Test
    void doubleSumSurvivesInfinities() {
        try (TestCluster c = TestCluster.withNodes(1)) {
            DoubleAccumulator s = c.acc(0).doubleSum("s");
            s.write(1);
            c.acc(0).awaitFlushed(T);
            s.write(Double.POSITIVE_INFINITY);
            c.acc(0).awaitFlushed(T);
            s.write(5);
            c.acc(0).awaitFlushed(T);
            assertEquals(Double.POSITIVE_INFINITY, s.read());
        }
    }

    @Test
    void attachingTwiceToOneNodeFails() {
        try (TestCluster c = TestCluster.withNodes(1)) {
            assertThrows(IllegalStateException.class, () -> Accumulators.attach(c.node(0)));
        }
    }

    @Test
    void unregisteredCustomTypeIsRefusedAtCreation() {
        try (TestCluster c = TestCluster.withNodes(1)) {
            assertThrows(IllegalArgumentException.class, () -> c.acc(0).custom("x", "no-such-type"));
        }
    }

    @Test
    void readAllWithoutAttachingFromAnotherNode() {
        try (TestCluster c = TestCluster.withNodes(1)) {
            c.acc(0).longSum("a").write(7);
            c.acc(0).awaitFlushed(T);
            var tool = c.join();
            assertEquals(Map.of("a", new AccumulatorValue.LongValue("a", Aggregators.LONG_SUM, 7)),
                    Accumulators.readAll(tool, T));
        }
    }

    @Test
    void reattachingToANodeStartsAFreshClient() {
        try (TestCluster c = TestCluster.withNodes(2)) {
            c.acc(1).longSum("x").write(1);
            c.acc(1).awaitFlushed(T);
            c.acc(1).close();
            Accumulators again = Accumulators.attach(c.node(1), TestCluster.OPTIONS);
            c.accumulators.set(1, again);
            again.longSum("x").write(2);
            again.awaitFlushed(T);
            assertEquals(3, again.longSum("x").read());
        }
    }

    /** Throws from serialize once it has seen a negative value. */
    static final class Fragile implements AggregatorType<long[], Long> {
        static final Fragile INSTANCE = new Fragile();

        @Override
        public String name() {
            return "test-fragile";
        }

        @Override
        public long[] init() {
            return new long[1];
        }

        @Override
        public long[] mergeValue(long[] state, Long value) {
            state[0] = value < 0 ? Long.MIN_VALUE : state[0] + value;
            return state;
        }

        @Override
        public long[] merge(long[] state, long[] other) {
            state[0] += other[0];
            return state;
        }

        @Override
        public byte[] serialize(long[] state) {
            if (state[0] == Long.MIN_VALUE) {
                throw new IllegalStateException("poisoned");
            }
            return java.nio.ByteBuffer.allocate(8).putLong(state[0]).array();
        }

        @Override
        public long[] deserialize(byte[] bytes) {
            return new long[]{java.nio.ByteBuffer.wrap(bytes).getLong()};
        }

        @Override
        public String render(long[] state) {
            return Long.toString(state[0]);
        }
    }

    @Test
    void aFailingCustomAggregatorFailsOnlyItself() {
        Aggregators.register(Fragile.INSTANCE);
        try (TestCluster c = TestCluster.withNodes(1)) {
            Accumulators acc = c.acc(0);
            CustomAccumulator<long[], Long> fragile = acc.custom("fragile", "test-fragile");
            fragile.write(5L);
            acc.awaitFlushed(T);
            assertEquals(5, fragile.read()[0]);
            fragile.write(-1L);
            acc.longSum("healthy").write(7);
            BatonException e = assertThrows(BatonException.class, () -> acc.awaitFlushed(T));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
            assertTrue(e.getMessage().contains("'fragile'"), e.getMessage());
            assertEquals(7, acc.longSum("healthy").read());
            // The failed accumulator is in error on this node (reads of it throw); the server kept what it had.
            assertEquals(Status.Code.INVALID_ARGUMENT, assertThrows(BatonException.class, fragile::read).code());
            assertEquals(5, ((AccumulatorValue.Custom) acc.readAll().get("fragile")).state(Fragile.INSTANCE)[0]);
        }
    }

    @Test
    void malformedBatchesAreRefusedWithoutSideEffects() {
        try (TestCluster c = TestCluster.withNodes(1)) {
            c.acc(0).longSum("x").write(1);
            c.acc(0).awaitFlushed(T);
            dev.baton.Client server = c.node(0).client(Accumulators.SERVICE);
            dev.baton.CallOptions sid0 = dev.baton.CallOptions.DEFAULT.withServerId(0);
            // Garbage.
            assertEquals(Status.Code.INVALID_ARGUMENT, assertThrows(BatonException.class,
                    () -> server.call(Protocol.BATCH, java.nio.ByteBuffer.wrap(new byte[]{1, 2, 3}), sid0)).code());
            // A good first entry, then a truncated second one: neither is applied.
            Wire.Out out = new Wire.Out(256);
            int countAt = Protocol.beginBatch(out, Protocol.DELTA, 1, 77, c.node(0).nodeId(), 0, 1, 0);
            Partial.LongPartial p = (Partial.LongPartial) Partial.create(Aggregators.LONG_SUM);
            p.add(1000);
            new Protocol.EntryWriter().entry(out, "x".getBytes(), Aggregators.LONG_SUM, 0, p);
            out.putString("y").putByte(0);
            Protocol.endBatch(out, countAt, 2);
            assertEquals(Status.Code.INVALID_ARGUMENT, assertThrows(BatonException.class,
                    () -> server.call(Protocol.BATCH, out.copy(), sid0)).code());
            assertEquals(1, c.acc(0).longSum("x").read());
        }
    }

    @Test
    void optionsNameTheBadValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AccumulatorOptions.builder().flushEvery(-1).build());
        assertEquals("flushEvery must be zero or positive, was -1", e.getMessage());
    }
}
