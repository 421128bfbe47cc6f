package dev.baton.accumulator;

import dev.baton.LatencyHistogram;
import dev.baton.accumulator.Cells.TimerCell;
import dev.baton.accumulator.Partial.TimerPartial;

import java.lang.invoke.VarHandle;
import java.time.Duration;

/**
 * Statistics of durations ({@link Aggregators#TIMER}): count, total, mean, variance, min and max, and a
 * {@link LatencyHistogram} of them, merged across threads and nodes, for percentiles. Record nanoseconds with
 * {@link #record(long)}: the histogram's buckets and the rendering's units assume nanoseconds (other units
 * still give exact moments, but coarse percentiles labelled ns). Thread-safe; recording never blocks, locks or
 * allocates (after a thread's first record, which allocates its cell and its histogram, 5.3 KiB).
 *
 * <pre>{@code
 * TimerAccumulator step = accumulators.timer("step");
 * long start = System.nanoTime();
 * train();
 * step.record(System.nanoTime() - start);
 * }</pre>
 */
public final class TimerAccumulator extends Accumulator {

    private final ThreadLocal<TimerCell> local = new ThreadLocal<>();
    /** The first writing thread's cell (see {@link LongAccumulator}). */
    private TimerCell last;

    TimerAccumulator(Accumulators owner, String name) {
        super(owner, name, Aggregators.TIMER);
    }

    /** Records one duration in nanoseconds. */
    public void record(long nanos) {
        TimerCell c = last;
        if (c == null || c.owner != Thread.currentThread()) {
            c = cell();
        }
        int s = c.seq;
        TimerCell.SEQ.setOpaque(c, s + 1);
        VarHandle.storeStoreFence();
        long n = c.count;
        if (n == 0) {
            TimerCell.SHIFT.setOpaque(c, nanos);
        }
        double x = (double) (nanos - c.shift);
        TimerCell.COUNT.setOpaque(c, n + 1);
        TimerCell.S1.setOpaque(c, c.s1 + x);
        TimerCell.S2.setOpaque(c, c.s2 + x * x);
        if (nanos < c.min) {
            TimerCell.MIN.setOpaque(c, nanos);
        }
        if (nanos > c.max) {
            TimerCell.MAX.setOpaque(c, nanos);
        }
        long[] h = c.buckets;
        int b = LatencyHistogram.bucketOf(nanos);
        TimerCell.BUCKET.setOpaque(h, b, h[b] + 1);
        TimerCell.SEQ.setRelease(c, s + 2);
        counted(c);
    }

    /** Records {@code duration} in nanoseconds (saturated to {@code long}). */
    public void record(Duration duration) {
        long ns;
        try {
            ns = duration.toNanos();
        } catch (ArithmeticException e) {
            ns = duration.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        record(ns);
    }

    /** Records the time since {@code startNanos}, a {@link System#nanoTime()} reading. */
    public void recordSince(long startNanos) {
        record(System.nanoTime() - startNanos);
    }

    /** The global statistics (see {@link #readValue()}); count 0 when nothing was recorded. */
    public AccumulatorValue.Timer read() {
        return readValue().map(v -> (AccumulatorValue.Timer) v)
                .orElse(new AccumulatorValue.Timer(name, 0, 0, Double.NaN, Double.NaN, Long.MAX_VALUE, Long.MIN_VALUE));
    }

    private TimerCell cell() {
        TimerCell c = local.get();
        if (c == null) {
            c = new TimerCell();
            local.set(c);
            addCell(c);
        }
        TimerCell l = last;
        if (l == null || !l.owner.isAlive()) {
            last = c;
        }
        return c;
    }

    @Override
    int drain(Partial delta) {
        TimerPartial d = (TimerPartial) delta;
        int result = 0;
        for (Cells.Cell x : cells()) {
            TimerCell c = (TimerCell) x;
            boolean ended = !c.owner.isAlive();
            boolean read = false;
            long count = 0;
            long min = 0;
            long max = 0;
            long shift = 0;
            double s1 = 0;
            double s2 = 0;
            for (int i = 0; i < Cells.SEQLOCK_TRIES && !read; i++) {
                int seq1 = (int) TimerCell.SEQ.getAcquire(c);
                if ((seq1 & 1) == 0) {
                    count = (long) TimerCell.COUNT.getOpaque(c);
                    s1 = (double) TimerCell.S1.getOpaque(c);
                    s2 = (double) TimerCell.S2.getOpaque(c);
                    min = (long) TimerCell.MIN.getOpaque(c);
                    max = (long) TimerCell.MAX.getOpaque(c);
                    shift = (long) TimerCell.SHIFT.getOpaque(c);
                    VarHandle.loadLoadFence();
                    read = (int) TimerCell.SEQ.getOpaque(c) == seq1;
                }
                if (!read) {
                    Thread.onSpinWait();
                }
            }
            if (!read) {
                result |= INCOMPLETE;
                continue;
            }
            if (count - c.drainedBucketTotal > 0) {
                // Read after the even seq: every value the moments count is in the buckets (maybe more).
                result |= drainBuckets(c, d);
            }
            long n = count - c.drainedCount;
            if (n != 0) {
                double ds1 = s1 - c.drainedS1;
                double ds2 = s2 - c.drainedS2;
                // The delta's mean and squared deviations, from its shifted sums.
                double mean = shift + ds1 / n;
                double m2 = Math.max(0, ds2 - ds1 * ds1 / n);
                d.add(n, mean, m2, min, max);
                c.drainedCount = count;
                c.drainedS1 = s1;
                c.drainedS2 = s2;
                result |= DIRTY;
            }
            if (ended) {
                removeCell(c);
            }
        }
        return result;
    }

    /** Adds what {@code c}'s buckets gained since the last drain to {@code d}; flusher only. */
    private static int drainBuckets(TimerCell c, TimerPartial d) {
        long[] drained = c.drainedBuckets;
        if (drained == null) {
            drained = c.drainedBuckets = new long[LatencyHistogram.BUCKETS];
        }
        long[] h = c.buckets;
        long gained = 0;
        for (int i = 0; i < h.length; i++) {
            long v = (long) TimerCell.BUCKET.getOpaque(h, i);
            long dv = v - drained[i];
            if (dv != 0) {
                d.addBucket(i, dv);
                drained[i] = v;
                gained += dv;
            }
        }
        c.drainedBucketTotal += gained;
        return gained != 0 ? DIRTY : 0;
    }
}
