package dev.baton.micrometer;

import dev.baton.LatencyHistogram;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The calls of one service, method and outcome: a count, their total time and a {@link LatencyHistogram} of
 * them, each a few uncontended atomic adds per call (Micrometer's own timer, with its time-windowed max and
 * histogram ring, cost about twice as much per call). Read by the registry's meters at scrape time.
 */
final class CallStats {

    private static final double[] QUANTILES = {0.5, 0.9, 0.99, 0.999};

    final AtomicLong count = new AtomicLong();
    final AtomicLong totalNanos = new AtomicLong();
    private final AtomicLongArray buckets = new AtomicLongArray(LatencyHistogram.BUCKETS);

    // ---- the percentiles of the last interval between scrapes, guarded by this
    private LatencyHistogram previous = LatencyHistogram.empty();
    private long computedAtNanos;
    private final double[] lastSeconds = new double[QUANTILES.length];

    void record(long nanos) {
        count.incrementAndGet();
        totalNanos.addAndGet(nanos);
        buckets.incrementAndGet(LatencyHistogram.bucketOf(nanos));
    }

    LatencyHistogram histogram() {
        long[] c = new long[LatencyHistogram.BUCKETS];
        for (int i = 0; i < c.length; i++) {
            c[i] = buckets.get(i);
        }
        return LatencyHistogram.of(c);
    }

    static int quantiles() {
        return QUANTILES.length;
    }

    static double quantile(int i) {
        return QUANTILES[i];
    }

    /**
     * Quantile {@code i} of the calls since the previous scrape, in seconds (NaN when none): the first read of a
     * scrape (more than {@code minIntervalNanos} after the last) moves the interval on; the others reuse it.
     */
    synchronized double percentileSeconds(int i, long minIntervalNanos) {
        long now = System.nanoTime();
        if (computedAtNanos == 0 || now - computedAtNanos > minIntervalNanos) {
            LatencyHistogram current = histogram();
            LatencyHistogram interval = current.minus(previous);
            for (int q = 0; q < QUANTILES.length; q++) {
                lastSeconds[q] = interval.count() == 0 ? Double.NaN
                        : interval.percentile(QUANTILES[q] * 100).toNanos() / 1e9;
            }
            previous = current;
            computedAtNanos = now;
        }
        return lastSeconds[i];
    }
}
