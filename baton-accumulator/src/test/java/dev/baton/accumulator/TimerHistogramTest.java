package dev.baton.accumulator;

import dev.baton.BatonException;
import dev.baton.LatencyHistogram;
import dev.baton.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Timer histograms: percentiles merged over threads and nodes, their wire encoding, and its decoder. */
@Timeout(60)
class TimerHistogramTest {

    static final Duration T = Duration.ofSeconds(20);

    /** A value spread log-uniformly over 10 ns to 10 ms, different for every (node, thread, i). */
    private static long value(int node, int thread, int i) {
        long h = (i * 0x9E3779B97F4A7C15L) ^ (thread * 0xC2B2AE3D27D4EB4FL) ^ (node * 0x165667B19E3779F9L);
        h ^= h >>> 29;
        double f = (h >>> 11) * 0x1.0p-53;
        return (long) Math.pow(10, 1 + 6 * f);
    }

    @Test
    void percentilesMergeAcrossWriterThreadsAndNodes() throws Exception {
        int nodes = 3;
        int threads = 4;
        int writes = 20_000;
        try (TestCluster c = TestCluster.withNodes(nodes)) {
            for (int r = 0; r < nodes; r++) {
                TimerAccumulator timer = c.acc(r).timer("latency");
                List<Thread> started = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int node = r;
                    int thread = t;
                    started.add(Thread.ofPlatform().start(() -> {
                        for (int i = 0; i < writes; i++) {
                            timer.record(value(node, thread, i));
                        }
                    }));
                }
                for (Thread t : started) {
                    t.join();
                }
            }
            for (int r = 0; r < nodes; r++) {
                c.acc(r).awaitFlushed(T);
            }
            long[] all = new long[nodes * threads * writes];
            long[] buckets = new long[LatencyHistogram.BUCKETS];
            int k = 0;
            for (int r = 0; r < nodes; r++) {
                for (int t = 0; t < threads; t++) {
                    for (int i = 0; i < writes; i++) {
                        all[k++] = value(r, t, i);
                        buckets[LatencyHistogram.bucketOf(value(r, t, i))]++;
                    }
                }
            }
            Arrays.sort(all);
            for (int r = 0; r < nodes; r++) {
                AccumulatorValue.Timer v = c.acc(r).timer("latency").read();
                assertEquals(all.length, v.count());
                assertEquals(LatencyHistogram.of(buckets), v.histogram(), "every bucket, as read by rank " + r);
                assertEquals(all[all.length - 1], v.max());
                for (double p : new double[]{0, 50, 90, 99, 99.9, 100}) {
                    long exact = all[(int) Math.max(0, Math.ceil(p / 100 * all.length) - 1)];
                    long reported = v.percentile(p);
                    assertTrue(reported >= exact && reported <= exact + exact / 16 + 1,
                            "p" + p + ": " + reported + " for " + exact);
                }
                assertEquals(v.percentile(99.9), v.p999());
                assertEquals(all[all.length - 1], v.percentile(100));
            }
            assertTrue(c.acc(0).timer("latency").read().render()
                    .matches("count=240000 mean=\\S+ p50=\\S+ p90=\\S+ p99=\\S+ p999=\\S+ max=\\S+"),
                    c.acc(0).timer("latency").read().render());
        }
    }

    @Test
    void resetEmptiesTheHistogramEverywhere() {
        try (TestCluster c = TestCluster.withNodes(2)) {
            c.acc(0).timer("t").record(1_000);
            c.acc(1).timer("t").record(2_000);
            c.acc(0).awaitFlushed(T);
            c.acc(1).awaitFlushed(T);
            assertEquals(2, c.acc(0).timer("t").read().histogram().count());
            c.acc(0).reset("t");
            c.acc(1).timer("t").record(5_000_000);
            c.acc(1).awaitFlushed(T);
            AccumulatorValue.Timer t = c.acc(0).timer("t").read();
            assertEquals(1, t.histogram().count());
            assertEquals("count=1 mean=5ms p50=5ms p90=5ms p99=5ms p999=5ms max=5ms", t.render());
        }
    }

    @Test
    void renderingUsesUnits() {
        LatencyHistogram h = histogram(1_500, 1_500_000);
        assertEquals("count=2 mean=751µs p50=1.54µs p90=1.5ms p99=1.5ms p999=1.5ms max=1.5ms",
                new AccumulatorValue.Timer("t", 2, 1_501_500, 750_750, 0, 1_500, 1_500_000, h).render());
        assertEquals("count=1 mean=2.5s p50=2.5s p90=2.5s p99=2.5s p999=2.5s max=2.5s",
                new AccumulatorValue.Timer("t", 1, 2.5e9, 2.5e9, 0, 2_500_000_000L, 2_500_000_000L,
                        histogram(2_500_000_000L)).render());
        assertEquals("count=1 mean=12346s p50=12346s p90=12346s p99=12346s p999=12346s max=12346s",
                new AccumulatorValue.Timer("t", 1, 12_345.6e9, 12_345.6e9, 0, 12_345_600_000_000L,
                        12_345_600_000_000L, histogram(12_345_600_000_000L)).render());
        // Moments only (a node without histograms): no percentiles.
        assertEquals("count=2 mean=20.5ns max=30ns", new AccumulatorValue.Timer("t", 2, 41, 20.5, 90.25, 11, 30).render());
        assertEquals("count=0", new AccumulatorValue.Timer("t", 0, 0, Double.NaN, Double.NaN, Long.MAX_VALUE,
                Long.MIN_VALUE).render());
        assertEquals(0, new AccumulatorValue.Timer("t", 0, 0, Double.NaN, Double.NaN, 0, 0).p99());
    }

    private static LatencyHistogram histogram(long... values) {
        long[] b = new long[LatencyHistogram.BUCKETS];
        for (long v : values) {
            b[LatencyHistogram.bucketOf(v)]++;
        }
        return LatencyHistogram.of(b);
    }

    // ------------------------------------------------------------------ the wire

    private static Partial.TimerPartial randomPartial(Random rnd) {
        Partial.TimerPartial p = new Partial.TimerPartial();
        int n = rnd.nextInt(60);
        for (int i = 0; i < n; i++) {
            long v = rnd.nextInt(4) == 0 ? rnd.nextLong() : (long) Math.pow(10, rnd.nextDouble() * 10);
            long times = rnd.nextInt(10) == 0 ? 1 + rnd.nextInt(100_000) : 1;
            p.add(times, v, 0, v, v);
            p.addBucket(LatencyHistogram.bucketOf(v), times);
        }
        return p;
    }

    private static byte[] encode(Partial p) {
        Wire.Out out = new Wire.Out(64);
        p.write(out);
        ByteBuffer b = out.copy();
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        return bytes;
    }

    @Test
    void theStateRoundTripsAndSendsOnlyNonEmptyBuckets() {
        Random rnd = new Random(15);
        for (int i = 0; i < 200; i++) {
            Partial.TimerPartial p = randomPartial(rnd);
            byte[] bytes = encode(p);
            Partial.TimerPartial q = new Partial.TimerPartial();
            q.mergeFrom(ByteBuffer.wrap(bytes));
            assertArrayEquals(bytes, encode(q));
            assertEquals(p.histogram(), q.histogram());
            assertEquals(p.value("x"), q.value("x"));
        }
        // Empty: the moments and a zero entry count, one byte.
        assertEquals(Partial.TimerPartial.MOMENTS_BYTES + 1, encode(new Partial.TimerPartial()).length);
        // Two values a bucket apart: 2 entries of (gap, count), one byte each.
        Partial.TimerPartial two = new Partial.TimerPartial();
        two.addBucket(100, 1);
        two.addBucket(101, 300);
        byte[] b = encode(two);
        assertArrayEquals(new byte[]{2, 100, 1, 0, (byte) 0xAC, 0x02},
                Arrays.copyOfRange(b, Partial.TimerPartial.MOMENTS_BYTES, b.length));
    }

    @Test
    void aStateWithoutHistogramFromAnOlderNodeMergesAsMomentsOnly() {
        Partial.TimerPartial p = new Partial.TimerPartial();
        p.add(2, 20, 200, 10, 30);
        p.addBucket(LatencyHistogram.bucketOf(10), 1);
        p.addBucket(LatencyHistogram.bucketOf(30), 1);
        Partial.TimerPartial q = new Partial.TimerPartial();
        q.mergeFrom(ByteBuffer.wrap(Arrays.copyOf(encode(p), Partial.TimerPartial.MOMENTS_BYTES)));
        q.mergeFrom(ByteBuffer.wrap(encode(p)));
        AccumulatorValue.Timer t = (AccumulatorValue.Timer) q.value("t");
        assertEquals(4, t.count());
        assertEquals(2, t.histogram().count());
        assertEquals(30, t.p99());
    }

    @Test
    void malformedHistogramsAreRefused() {
        byte[] moments = Arrays.copyOf(encode(new Partial.TimerPartial()), Partial.TimerPartial.MOMENTS_BYTES);
        int[][] sections = {
                {0xA1, 0x05},                       // 673 entries: more than there are buckets
                {0x80, 0x02, 0, 1},                 // 256 entries in 2 bytes
                {1, 0xA0, 0x05, 1},                 // bucket 672
                {2, 0x9F, 0x05, 1, 0, 1},           // bucket 671, then 672
                {1, 5, 0},                          // a zero count
                {1, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01},  // a count of 2^64 - 1
                {1, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02},  // over 64 bits
                {1, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0},  // over 10 bytes
                {2, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0, 1},  // a total over 2^63 - 1
                {1, 5},                             // truncated
                {1, 5, 1, 9},                       // a byte after the last entry
        };
        for (int[] section : sections) {
            byte[] state = Arrays.copyOf(moments, moments.length + section.length);
            for (int i = 0; i < section.length; i++) {
                state[moments.length + i] = (byte) section[i];
            }
            assertMalformed(state, Arrays.toString(section));
        }
        assertMalformed(new byte[39], "short moments");
        assertMalformed(new byte[0], "nothing");
    }

    private static void assertMalformed(byte[] state, String what) {
        Partial.TimerPartial p = new Partial.TimerPartial();
        p.addBucket(7, 3);
        byte[] before = encode(p);
        BatonException e = assertThrows(BatonException.class, () -> p.mergeFrom(ByteBuffer.wrap(state)), what);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.code(), what);
        assertTrue(e.status().description().startsWith("malformed accumulator message ("), e.status().description());
        assertArrayEquals(before, encode(p), what + ": left unchanged");
    }

    @Test
    void truncatedAndCorruptedStatesOnlyEverRaiseTheProtocolError() {
        Random rnd = new Random(1515);
        int accepted = 0;
        int refused = 0;
        for (int round = 0; round < 300; round++) {
            byte[] good = encode(randomPartial(rnd));
            // Every truncation but the one that drops the whole histogram (an older node's state) is refused.
            for (int n = 0; n < good.length; n++) {
                if (n != Partial.TimerPartial.MOMENTS_BYTES) {
                    assertMalformed(Arrays.copyOf(good, n), "truncated to " + n + " of " + good.length);
                }
            }
            // Random corruptions of the histogram: accepted (as another valid state) or refused, nothing else.
            for (int j = 0; j < 30; j++) {
                byte[] bad = good.clone();
                int changes = 1 + rnd.nextInt(3);
                for (int c = 0; c < changes; c++) {
                    int at = Partial.TimerPartial.MOMENTS_BYTES + rnd.nextInt(bad.length - Partial.TimerPartial.MOMENTS_BYTES);
                    bad[at] = rnd.nextBoolean() ? (byte) rnd.nextInt() : (byte) (bad[at] ^ (1 << rnd.nextInt(8)));
                }
                if (rnd.nextInt(4) == 0) {
                    bad = Arrays.copyOf(bad, bad.length + 1 + rnd.nextInt(4));
                }
                Partial.TimerPartial p = new Partial.TimerPartial();
                try {
                    p.mergeFrom(ByteBuffer.wrap(bad));
                    accepted++;
                    AccumulatorValue.Timer t = (AccumulatorValue.Timer) p.value("t");
                    t.render();
                    assertTrue(t.histogram().count() >= 0);
                } catch (BatonException e) {
                    assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
                    refused++;
                } catch (RuntimeException e) {
                    fail("corrupted state " + Arrays.toString(bad) + " raised " + e, e);
                }
            }
        }
        assertTrue(accepted > 0 && refused > 0, accepted + " accepted, " + refused + " refused");
    }

    @Test
    void corruptedReadAnswersOnlyEverRaiseTheProtocolError() {
        Random rnd = new Random(7);
        Partial.TimerPartial timer = randomPartial(rnd);
        Wire.Out out = new Wire.Out(256).putInt(2);
        for (Partial p : new Partial[]{timer, Partial.create(Aggregators.LONG_SUM)}) {
            out.putString("n-" + p.type).putString(p.type).putLong(1).putBytes(new byte[]{'x'}).putBytes(encode(p));
        }
        byte[] good = toBytes(out.copy());
        assertEquals(timer.value("n-timer"), Protocol.readValues(ByteBuffer.wrap(good)).get("n-timer"));
        for (int n = 0; n < good.length; n++) {
            byte[] cut = Arrays.copyOf(good, n);
            try {
                Protocol.readValues(ByteBuffer.wrap(cut));
            } catch (BatonException e) {
                assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
            }
        }
        for (int j = 0; j < 20_000; j++) {
            byte[] bad = good.clone();
            bad[rnd.nextInt(bad.length)] ^= (byte) (1 << rnd.nextInt(8));
            try {
                Protocol.readValues(ByteBuffer.wrap(bad)).values().forEach(AccumulatorValue::render);
            } catch (BatonException e) {
                assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
            } catch (RuntimeException e) {
                fail("corrupted answer raised " + e, e);
            }
        }
    }

    private static byte[] toBytes(ByteBuffer b) {
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        return bytes;
    }

    @Test
    void theServerRefusesAMalformedTimerStateAloneAndKeepsItsValue() {
        try (TestCluster c = TestCluster.withNodes(1)) {
            TimerAccumulator t = c.acc(0).timer("t");
            t.record(100);
            c.acc(0).awaitFlushed(T);
            dev.baton.Client server = c.node(0).client(Accumulators.SERVICE);
            dev.baton.CallOptions sid0 = dev.baton.CallOptions.DEFAULT.withServerId(0);
            Wire.Out out = new Wire.Out(256);
            int countAt = Protocol.beginBatch(out, Protocol.DELTA, 1, 77, c.node(0).nodeId(), 0, 1, 0);
            Partial.TimerPartial good = new Partial.TimerPartial();
            good.add(1, 200, 0, 200, 200);
            good.addBucket(LatencyHistogram.bucketOf(200), 1);
            byte[] state = encode(good);
            state[Partial.TimerPartial.MOMENTS_BYTES] = 5;          // 5 entries where there is 1
            out.putUtf8("t".getBytes()).putByte(0).putByte(0).putString(Aggregators.TIMER).putLong(0).putBytes(state);
            // An older node's state, moments only: counted, without histogram.
            out.putUtf8("t".getBytes()).putByte(0).putByte(0).putLong(0)
                    .putBytes(Arrays.copyOf(encode(good), Partial.TimerPartial.MOMENTS_BYTES));
            Protocol.endBatch(out, countAt, 2);
            Protocol.Ack ack;
            try (dev.baton.Message m = server.call(Protocol.BATCH, out.copy(), sid0)) {
                ack = Protocol.readAck(m.buffer());
            }
            assertEquals(Status.Code.INVALID_ARGUMENT, ack.rejected().get(0).code());
            assertTrue(ack.rejected().get(0).status().description().contains("malformed accumulator message"),
                    ack.toString());
            assertEquals(1, ack.rejected().size());
            AccumulatorValue.Timer v = t.read();
            assertEquals(2, v.count());
            assertEquals(200, v.max());
            assertEquals(1, v.histogram().count());                      // 100's only
            assertEquals(LatencyHistogram.bucketHigh(LatencyHistogram.bucketOf(100)), v.p99());
        }
    }
}
