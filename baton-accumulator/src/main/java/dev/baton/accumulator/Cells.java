package dev.baton.accumulator;

import dev.baton.LatencyHistogram;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Per-thread cells: where writes land. Each cell belongs to one accumulator and one writing thread (its
 * {@link Cell#owner}); only the owner writes it, only the flusher reads it. No lock, no atomic
 * read-modify-write, no allocation on the write path.
 *
 * <h2>Cumulative cells, deltas by difference</h2>
 * A cell never gets reset: it holds the owner's cumulative value since the cell was made, published with
 * opaque stores (a plain {@code mov} on x86, but never torn, never elided). The flusher remembers what it
 * drained last ({@code drained*} fields, flusher-only) and sends the difference. Sums telescope, so the
 * differences add up exactly to the cumulative value (exactly for longs, modulo 2^64; for doubles each
 * difference may round once, like any addition); max and min are idempotent, so the flusher sends the
 * cumulative value itself whenever it changed. This avoids prpc's buffer swap, which needs a lock or a
 * StoreLoad fence on the write path.
 *
 * <h2>Multi-field cells: a seqlock</h2>
 * Average and timer cells have several fields that must be read together. The owner bumps {@code seq} to an
 * odd value before writing them and to the next even value after (store-store ordered, so again plain stores
 * on x86); the flusher reads {@code seq}, the fields, then {@code seq} again, and retries if it changed or was
 * odd. The owner never waits; the flusher retries a bounded number of times and otherwise tries again in the
 * next round.
 *
 * <h2>Timer histograms</h2>
 * A timer cell also counts its values in a {@link LatencyHistogram} layout: one cumulative long per bucket,
 * incremented by the owner (opaque store) inside its seqlock section. The flusher reads the buckets after a
 * consistent read of the moments, so they include at least every value the moments count (acquire of the even
 * {@code seq}), possibly a few more in flight; it compares them with its own drained copy only when the moments'
 * count has passed the histogram's drained total, so the histogram is never behind and catches up exactly at
 * quiescence. The array is dense and allocated with the cell (the owner's first record), so recording never
 * allocates: {@value LatencyHistogram#BUCKETS} longs = 5376 bytes per cell, and as much again for the flusher's
 * drained copy (made on the cell's first drain).
 *
 * <h2>Happens-before</h2>
 * Writes made before a call to {@link Accumulators#awaitFlushed} are visible to the flusher because the call
 * increments a ticket (a volatile read-modify-write) that the flusher reads before it drains. A cell whose owner
 * has terminated is drained one last time (termination happens-before {@link Thread#isAlive()} returning false)
 * and dropped.
 */
final class Cells {

    private Cells() {
    }

    /** Attempts of a seqlock read before giving up for this round. */
    static final int SEQLOCK_TRIES = 64;

    abstract static class Cell {
        final Thread owner = Thread.currentThread();
        /** Writes since the owner last asked for a flush (owner-only). */
        int pending;
    }

    /** long-sum, long-max, long-min: one cumulative long. */
    static final class LongCell extends Cell {
        static final VarHandle VALUE = handle(LongCell.class, "value", long.class);
        long value;
        long drained;

        LongCell(long identity) {
            value = identity;
            drained = identity;
        }
    }

    /** double-sum, double-max, double-min: one cumulative double. */
    static final class DoubleCell extends Cell {
        static final VarHandle VALUE = handle(DoubleCell.class, "value", double.class);
        double value;
        double drained;

        DoubleCell(double identity) {
            value = identity;
            drained = identity;
        }
    }

    /** average: count and sum, under a seqlock. */
    static final class AverageCell extends Cell {
        static final VarHandle SEQ = handle(AverageCell.class, "seq", int.class);
        static final VarHandle COUNT = handle(AverageCell.class, "count", long.class);
        static final VarHandle SUM = handle(AverageCell.class, "sum", double.class);
        int seq;
        long count;
        double sum;
        long drainedCount;
        double drainedSum;
    }

    /**
     * timer: count, sums of x - shift and (x - shift)^2, min and max, under a seqlock. The shift is the
     * cell's first value, so the sum of squares does not cancel catastrophically when the variance is small
     * next to the mean. And the histogram's bucket counts (see the class comment).
     */
    static final class TimerCell extends Cell {
        /** Opaque access to {@link #buckets}' elements. */
        static final VarHandle BUCKET = MethodHandles.arrayElementVarHandle(long[].class);
        static final VarHandle SEQ = handle(TimerCell.class, "seq", int.class);
        static final VarHandle COUNT = handle(TimerCell.class, "count", long.class);
        static final VarHandle S1 = handle(TimerCell.class, "s1", double.class);
        static final VarHandle S2 = handle(TimerCell.class, "s2", double.class);
        static final VarHandle MIN = handle(TimerCell.class, "min", long.class);
        static final VarHandle MAX = handle(TimerCell.class, "max", long.class);
        static final VarHandle SHIFT = handle(TimerCell.class, "shift", long.class);
        int seq;
        long count;
        double s1;
        double s2;
        long min = Long.MAX_VALUE;
        long max = Long.MIN_VALUE;
        long shift;
        long drainedCount;
        double drainedS1;
        double drainedS2;
        /** Cumulative counts per {@link LatencyHistogram} bucket (owner writes, flusher reads). */
        final long[] buckets = new long[LatencyHistogram.BUCKETS];
        /** The flusher's copy of {@link #buckets} as last drained (null until the first drain), and its total. */
        long[] drainedBuckets;
        long drainedBucketTotal;
    }

    /** A user-defined type: the state, swapped out by the flusher under the cell's monitor. */
    static final class CustomCell extends Cell {
        Object state;       // guarded by this
        boolean dirty;      // guarded by this

        CustomCell(Object state) {
            this.state = state;
        }
    }

    private static VarHandle handle(Class<?> owner, String field, Class<?> type) {
        try {
            return MethodHandles.lookup().findVarHandle(owner, field, type);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
