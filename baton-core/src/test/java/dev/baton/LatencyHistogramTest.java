package dev.baton;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bucket layout, percentiles within 1/16 of the truth, and interval arithmetic. */
@Timeout(30)
class LatencyHistogramTest {

    private static LatencyHistogram of(long... nanos) {
        long[] c = new long[LatencyHistogram.BUCKETS];
        for (long v : nanos) {
            c[LatencyHistogram.bucketOf(v)]++;
        }
        return LatencyHistogram.of(c);
    }

    @Test
    void bucketsTileTheRangeWithoutGapsOrOverlaps() {
        assertEquals(0, LatencyHistogram.bucketLow(0));
        for (int b = 1; b < LatencyHistogram.BUCKETS; b++) {
            assertEquals(LatencyHistogram.bucketHigh(b - 1) + 1, LatencyHistogram.bucketLow(b), "bucket " + b);
            assertEquals(b, LatencyHistogram.bucketOf(LatencyHistogram.bucketLow(b)));
            assertEquals(b - 1, LatencyHistogram.bucketOf(LatencyHistogram.bucketLow(b) - 1));
        }
        assertEquals(LatencyHistogram.BUCKETS - 1, LatencyHistogram.bucketOf(Long.MAX_VALUE));
        assertEquals(0, LatencyHistogram.bucketOf(-5));
        for (int b = 16; b < LatencyHistogram.BUCKETS - 1; b++) {
            long low = LatencyHistogram.bucketLow(b);
            long width = LatencyHistogram.bucketHigh(b) - low + 1;
            assertTrue(width * 16 <= low, "bucket " + b + " is at most 1/16 of its values wide");
        }
    }

    @Test
    void percentilesAreWithinOneSixteenthAboveTheTruth() {
        SplittableRandom r = new SplittableRandom(7);
        long[] values = new long[100_000];
        for (int i = 0; i < values.length; i++) {
            values[i] = 1_000 + (long) (Math.exp(r.nextDouble() * 12) * 100);     // 1 µs .. ~16 ms, skewed
        }
        LatencyHistogram h = of(values);
        java.util.Arrays.sort(values);
        for (double p : new double[]{1, 50, 90, 99, 99.9, 100}) {
            long truth = values[(int) Math.ceil(p / 100 * values.length) - 1];
            long reported = h.percentile(p).toNanos();
            assertTrue(reported >= truth && reported <= truth + truth / 16, "p" + p + ": " + reported + " vs " + truth);
        }
        assertEquals(values.length, h.count());
        double mean = java.util.Arrays.stream(values).average().orElseThrow();
        assertEquals(mean, h.mean().toNanos(), mean / 16);
    }

    @Test
    void anIntervalIsTheLaterSnapshotMinusTheEarlier() {
        LatencyHistogram before = of(100, 200, 300);
        LatencyHistogram after = before.plus(of(5_000, 5_000, 7_000));
        LatencyHistogram interval = after.minus(before);
        assertEquals(of(5_000, 5_000, 7_000), interval);
        assertEquals(3, interval.count());
        assertTrue(interval.percentile(50).toNanos() >= 5_000 && interval.percentile(50).toNanos() < 5_400);
        assertEquals(0, before.minus(after).count(), "counters that went down (a restart) count as nothing");
    }

    @Test
    void emptyAndInvalidInput() {
        assertEquals(Duration.ZERO, LatencyHistogram.empty().percentile(99));
        assertEquals(Duration.ZERO, LatencyHistogram.empty().mean());
        assertThrows(IllegalArgumentException.class, () -> LatencyHistogram.empty().percentile(101));
        assertThrows(IllegalArgumentException.class, () -> LatencyHistogram.empty().percentile(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> LatencyHistogram.of(new long[3]));
        long[] negative = new long[LatencyHistogram.BUCKETS];
        negative[5] = -1;
        assertThrows(IllegalArgumentException.class, () -> LatencyHistogram.of(negative));
        assertEquals(Duration.ofNanos(LatencyHistogram.bucketLow(LatencyHistogram.BUCKETS - 1)),
                of(Long.MAX_VALUE).max(), "values beyond the range report the last bucket's bottom");
    }
}
