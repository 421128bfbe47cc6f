package dev.baton;

import java.time.Duration;
import java.util.Arrays;

/**
 * Latencies as counts in log-linear buckets: values below 16 ns each have a bucket; above, every power-of-two
 * range [2<sup>k</sup>, 2<sup>k+1</sup>) is cut into 16 equal buckets, so a reported percentile is at most
 * 1/16 (6.25%) above the true value. Values beyond about 4.9 hours count in the last bucket. Immutable.
 *
 * <p>Histograms merge ({@link #plus}) and subtract ({@link #minus}): the counters of a node only grow, so the
 * latencies of an interval are the later snapshot minus the earlier one. That is how {@code baton status}
 * shows the last second's percentiles without the node keeping any history.
 *
 * <p>Hand-written rather than HdrHistogram's: a fixed layout of {@value #BUCKETS} buckets is what crosses the
 * wire, so a decoder reads a bounded, validated list and never sizes an array from a peer's header.
 */
public final class LatencyHistogram {

    /** Sub-buckets per power of two, as a bit count: 16 sub-buckets. */
    private static final int SUB_BITS = 4;
    private static final int SUB = 1 << SUB_BITS;
    /** The highest power of two with buckets of its own: 2^44 ns, about 4.9 hours. */
    private static final int MAX_EXPONENT = 44;
    /** How many buckets every histogram has. */
    public static final int BUCKETS = SUB + (MAX_EXPONENT - SUB_BITS + 1) * SUB;

    private static final LatencyHistogram EMPTY = new LatencyHistogram(new long[BUCKETS], 0);

    private final long[] counts;
    private final long total;

    private LatencyHistogram(long[] counts, long total) {
        this.counts = counts;
        this.total = total;
    }

    /** No values. */
    public static LatencyHistogram empty() {
        return EMPTY;
    }

    /**
     * A histogram with these bucket counts ({@link #BUCKETS} of them, none negative); the array is copied.
     *
     * @throws IllegalArgumentException for another length or a negative count
     */
    public static LatencyHistogram of(long[] bucketCounts) {
        if (bucketCounts.length != BUCKETS) {
            throw new IllegalArgumentException("expected " + BUCKETS + " bucket counts, got " + bucketCounts.length);
        }
        long total = 0;
        for (long c : bucketCounts) {
            if (c < 0) {
                throw new IllegalArgumentException("negative bucket count " + c);
            }
            total += c;
        }
        return new LatencyHistogram(bucketCounts.clone(), total);
    }

    /** The bucket a value of {@code nanos} counts in (negative values count as 0). */
    public static int bucketOf(long nanos) {
        if (nanos < SUB) {
            return (int) Math.max(0, nanos);
        }
        int exponent = 63 - Long.numberOfLeadingZeros(nanos);
        if (exponent > MAX_EXPONENT) {
            return BUCKETS - 1;
        }
        int sub = (int) (nanos >>> (exponent - SUB_BITS)) & (SUB - 1);
        return SUB + (exponent - SUB_BITS) * SUB + sub;
    }

    /** The smallest value that counts in {@code bucket}, in nanoseconds. */
    public static long bucketLow(int bucket) {
        if (bucket < SUB) {
            return bucket;
        }
        int exponent = SUB_BITS + (bucket - SUB) / SUB;
        int sub = (bucket - SUB) % SUB;
        return (long) (SUB + sub) << (exponent - SUB_BITS);
    }

    /** The largest value that counts in {@code bucket} (the last bucket also takes everything above). */
    public static long bucketHigh(int bucket) {
        return bucket + 1 < BUCKETS ? bucketLow(bucket + 1) - 1 : Long.MAX_VALUE;
    }

    /** How many values count in {@code bucket}. */
    public long countAt(int bucket) {
        return counts[bucket];
    }

    /** How many values in all. */
    public long count() {
        return total;
    }

    /**
     * The value at or below which {@code percentile} percent of the values lie, as the highest value of its
     * bucket; zero when empty.
     */
    public Duration percentile(double percentile) {
        if (!(percentile >= 0 && percentile <= 100)) {
            throw new IllegalArgumentException("percentile must be within 0 and 100, was " + percentile);
        }
        if (total == 0) {
            return Duration.ZERO;
        }
        long rank = Math.max(1, (long) Math.ceil(percentile / 100 * total));
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += counts[i];
            if (seen >= rank) {
                return Duration.ofNanos(Math.min(bucketHigh(i), bucketLow(BUCKETS - 1)));
            }
        }
        return Duration.ofNanos(bucketLow(BUCKETS - 1));
    }

    /** The highest value's bucket top; zero when empty. */
    public Duration max() {
        return percentile(100);
    }

    /** The mean, taking each value as its bucket's middle; zero when empty. */
    public Duration mean() {
        if (total == 0) {
            return Duration.ZERO;
        }
        double sum = 0;
        for (int i = 0; i < BUCKETS; i++) {
            if (counts[i] != 0) {
                long high = Math.min(bucketHigh(i), bucketLow(BUCKETS - 1));
                sum += counts[i] * ((bucketLow(i) + high) / 2.0);
            }
        }
        return Duration.ofNanos(Math.round(sum / total));
    }

    /** The values of both. */
    public LatencyHistogram plus(LatencyHistogram other) {
        long[] c = counts.clone();
        for (int i = 0; i < BUCKETS; i++) {
            c[i] += other.counts[i];
        }
        return new LatencyHistogram(c, total + other.total);
    }

    /**
     * The values recorded after {@code earlier}, a snapshot of the same counters taken before this one. A
     * bucket that went down (the counters restarted) counts as zero.
     */
    public LatencyHistogram minus(LatencyHistogram earlier) {
        long[] c = new long[BUCKETS];
        long t = 0;
        for (int i = 0; i < BUCKETS; i++) {
            c[i] = Math.max(0, counts[i] - earlier.counts[i]);
            t += c[i];
        }
        return new LatencyHistogram(c, t);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LatencyHistogram h && Arrays.equals(counts, h.counts);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(counts);
    }

    @Override
    public String toString() {
        return "LatencyHistogram[count=" + total + ", p50=" + percentile(50).toNanos() + "ns, p99="
                + percentile(99).toNanos() + "ns, max=" + max().toNanos() + "ns]";
    }
}
