package dev.baton.accumulator;

import dev.baton.LatencyHistogram;

import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * prpc's accumulator_test as phases that every rank runs between barriers: "write" phases write and wait
 * until flushed; the "read" phase reads every value back. Used in process (one node) and by {@link RankMain}
 * in child JVMs, where the test drives the barriers. The expected values are computed here too, from N.
 */
final class Scenario {

    static final Duration FLUSH_TIMEOUT = Duration.ofSeconds(60);
    static final int WRITES = 1000;
    static final int THREADS = 101;
    static final int MAX_MIN_WRITES = 10_000;

    private Scenario() {
    }

    /** The phases in order. */
    static final List<String> WRITE_PHASES = List.of("sum", "threads", "maxmin", "doubles", "stats", "custom");

    /** Registers the test's user-defined type (every JVM that may host the server must). */
    static void registerTypes() {
        Aggregators.register(RankSet.INSTANCE);
    }

    /** Runs one write phase for repeat {@code k}, then waits until everything is on the server. */
    static void write(Accumulators acc, String phase, int rank, int k) throws InterruptedException {
        long r1 = rank + 1;
        switch (phase) {
            case "sum" -> {
                LongAccumulator sum = acc.longSum("sum." + k);
                for (int i = 0; i < WRITES; i++) {
                    sum.write((i + 1) * r1);
                }
            }
            case "threads" -> {
                LongAccumulator sum = acc.longSum("mt-sum." + k);
                DoubleAccumulator dsum = acc.doubleSum("mt-dsum." + k);
                TimerAccumulator timer = acc.timer("mt-timer." + k);
                List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    long t1 = t + 1;
                    threads.add(Thread.ofPlatform().name("writer-" + t).start(() -> {
                        for (int i = 0; i < WRITES; i++) {
                            sum.write((i + 1) * r1 * t1);
                            dsum.write((i + 1) * r1 * t1);
                            timer.record((i + 1) * r1 * t1);
                        }
                    }));
                }
                for (Thread t : threads) {
                    t.join();
                }
            }
            case "maxmin" -> {
                LongAccumulator max = acc.longMax("max." + k);
                LongAccumulator min = acc.longMin("min." + k);
                DoubleAccumulator dmax = acc.doubleMax("dmax." + k);
                DoubleAccumulator dmin = acc.doubleMin("dmin." + k);
                DoubleAccumulator negMax = acc.doubleMax("neg-max." + k);
                DoubleAccumulator negMin = acc.doubleMin("neg-min." + k);
                for (int i = 0; i < MAX_MIN_WRITES; i++) {
                    long v = (i + 1) * r1;
                    max.write(v);
                    min.write(v);
                    dmax.write(v - 5000.5);
                    dmin.write(v - 5000.5);
                    negMax.write(-v);
                    negMin.write(-v);
                }
            }
            case "doubles" -> {
                DoubleAccumulator sum = acc.doubleSum("dsum." + k);
                DoubleAccumulator alternating = acc.doubleSum("alt-dsum." + k);
                for (int i = 0; i < WRITES; i++) {
                    sum.write((i + 1) * r1);
                    alternating.write((i % 2 == 0 ? 1 : -1) * (i + 1) * r1);
                }
            }
            case "stats" -> {
                AverageAccumulator avg = acc.average("avg." + k);
                TimerAccumulator timer = acc.timer("timer." + k);
                for (int i = 0; i < WRITES; i++) {
                    avg.write((i + 1) * r1);
                    timer.record((i + 1) * r1);
                }
            }
            case "custom" -> acc.<BitSet, Integer>custom("ranks." + k, RankSet.NAME).write(rank);
            default -> throw new IllegalArgumentException(phase);
        }
        acc.awaitFlushed(FLUSH_TIMEOUT);
    }

    /** Every value of repeat {@code k}, rendered as {@link #expected} renders them. */
    static Map<String, String> read(Accumulators acc, int k) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String name : expectedNames(k)) {
            out.put(name, render(acc.read(name).orElseThrow(() -> new AssertionError("no value for " + name))));
        }
        return out;
    }

    static List<String> expectedNames(int k) {
        return List.of("sum." + k, "mt-sum." + k, "mt-dsum." + k, "mt-timer." + k, "max." + k, "min." + k, "dmax." + k, "dmin." + k,
                "neg-max." + k, "neg-min." + k, "dsum." + k, "alt-dsum." + k, "avg." + k, "timer." + k, "ranks." + k);
    }

    /** What every rank must read back for repeat {@code k} with {@code n} ranks. */
    static Map<String, String> expected(int n, int k) {
        long ranks = (long) n * (n + 1) / 2;            // sum of (rank + 1)
        Map<String, String> e = new LinkedHashMap<>();
        e.put("sum." + k, "long " + 500_500L * ranks);
        e.put("mt-sum." + k, "long " + 500_500L * 5151 * ranks);
        e.put("mt-dsum." + k, "double " + (double) (500_500L * 5151 * ranks));
        // The timer of (i + 1)(r + 1)(t + 1), i < 1000, r < n, t < 101: percentiles over every thread and node.
        long mtCount = (long) WRITES * THREADS * n;
        double mtMean = 500_500.0 * 5151 * ranks / mtCount;
        double mtSquares = 0;
        long[] mtBuckets = new long[LatencyHistogram.BUCKETS];
        for (int r = 0; r < n; r++) {
            for (int t = 0; t < THREADS; t++) {
                for (int i = 0; i < WRITES; i++) {
                    long v = (long) (i + 1) * (r + 1) * (t + 1);
                    mtSquares += (v - mtMean) * (v - mtMean);
                    mtBuckets[LatencyHistogram.bucketOf(v)]++;
                }
            }
        }
        e.put("mt-timer." + k, render(new AccumulatorValue.Timer("mt-timer", mtCount, 500_500.0 * 5151 * ranks, mtMean,
                mtSquares / mtCount, 1, (long) WRITES * THREADS * n, LatencyHistogram.of(mtBuckets))));
        e.put("max." + k, "long " + (long) MAX_MIN_WRITES * n);
        e.put("min." + k, "long 1");
        e.put("dmax." + k, "double " + ((double) MAX_MIN_WRITES * n - 5000.5));
        e.put("dmin." + k, "double " + (1 - 5000.5));
        e.put("neg-max." + k, "double -1.0");
        e.put("neg-min." + k, "double " + (double) (-(long) MAX_MIN_WRITES * n));
        e.put("dsum." + k, "double " + (double) (500_500L * ranks));
        e.put("alt-dsum." + k, "double " + (double) (-500L * ranks));
        // Average and timer over the values (i + 1)(r + 1), i < 1000, r < n.
        long count = (long) WRITES * n;
        double total = 500_500.0 * ranks;
        double mean = total / count;
        double sumSquares = 0;
        long[] buckets = new long[LatencyHistogram.BUCKETS];
        for (int r = 0; r < n; r++) {
            for (int i = 0; i < WRITES; i++) {
                double v = (double) (i + 1) * (r + 1);
                sumSquares += (v - mean) * (v - mean);
                buckets[LatencyHistogram.bucketOf((long) v)]++;
            }
        }
        e.put("avg." + k, "average " + count + " " + total);
        e.put("timer." + k, render(new AccumulatorValue.Timer("timer", count, total, mean, sumSquares / count, 1,
                (long) WRITES * n, LatencyHistogram.of(buckets))));
        BitSet all = new BitSet();
        all.set(0, n);
        e.put("ranks." + k, "custom " + all);
        return e;
    }

    /**
     * A value as a comparable line; the timer's total and variance rounded to 6 significant digits, then its
     * percentiles and the histogram's count.
     */
    static String render(AccumulatorValue v) {
        return switch (v) {
            case AccumulatorValue.LongValue l -> "long " + l.value();
            case AccumulatorValue.DoubleValue d -> "double " + d.value();
            case AccumulatorValue.Average a -> "average " + a.count() + " " + a.sum();
            case AccumulatorValue.Timer t -> "timer " + t.count() + " " + round(t.total()) + " " + round(t.variance()) + " "
                    + t.min() + " " + t.max() + " p50=" + t.p50() + " p90=" + t.p90() + " p99=" + t.p99() + " p999="
                    + t.p999() + " n=" + t.histogram().count();
            case AccumulatorValue.Custom c -> "custom " + c.state(RankSet.INSTANCE);
        };
    }

    private static String round(double d) {
        return String.format("%.6g", d);
    }

    /** The set of ranks that wrote: a user-defined aggregator over a mutable state. */
    static final class RankSet implements AggregatorType<BitSet, Integer> {
        static final String NAME = "test-rank-set";
        static final RankSet INSTANCE = new RankSet();

        @Override
        public String name() {
            return NAME;
        }

        @Override
        public BitSet init() {
            return new BitSet();
        }

        @Override
        public BitSet mergeValue(BitSet state, Integer rank) {
            state.set(rank);
            return state;
        }

        @Override
        public BitSet merge(BitSet state, BitSet other) {
            state.or(other);
            return state;
        }

        @Override
        public byte[] serialize(BitSet state) {
            return state.toByteArray();
        }

        @Override
        public BitSet deserialize(byte[] bytes) {
            return BitSet.valueOf(bytes);
        }

        @Override
        public String render(BitSet state) {
            return state.toString();
        }
    }
}
