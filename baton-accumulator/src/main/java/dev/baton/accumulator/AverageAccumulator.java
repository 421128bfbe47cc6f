package dev.baton.accumulator;

import dev.baton.accumulator.Cells.AverageCell;
import dev.baton.accumulator.Partial.AveragePartial;

import java.lang.invoke.VarHandle;

/**
 * The mean of the values written ({@link Aggregators#AVERAGE}): a count and a sum. Thread-safe;
 * {@link #write} never blocks, locks or allocates (after a thread's first write).
 */
public final class AverageAccumulator extends Accumulator {

    private final ThreadLocal<AverageCell> local = new ThreadLocal<>();
    /** The first writing thread's cell (see {@link LongAccumulator}). */
    private AverageCell last;

    AverageAccumulator(Accumulators owner, String name) {
        super(owner, name, Aggregators.AVERAGE);
    }

    /** Counts {@code value} into the mean. */
    public void write(double value) {
        AverageCell c = last;
        if (c == null || c.owner != Thread.currentThread()) {
            c = cell();
        }
        int s = c.seq;
        AverageCell.SEQ.setOpaque(c, s + 1);
        VarHandle.storeStoreFence();
        AverageCell.COUNT.setOpaque(c, c.count + 1);
        AverageCell.SUM.setOpaque(c, c.sum + value);
        AverageCell.SEQ.setRelease(c, s + 2);
        counted(c);
    }

    /** The global count, sum and mean (see {@link #readValue()}); count 0 when nothing was written. */
    public AccumulatorValue.Average read() {
        return readValue().map(v -> (AccumulatorValue.Average) v)
                .orElse(new AccumulatorValue.Average(name, 0, 0));
    }

    private AverageCell cell() {
        AverageCell c = local.get();
        if (c == null) {
            c = new AverageCell();
            local.set(c);
            addCell(c);
        }
        AverageCell l = last;
        if (l == null || !l.owner.isAlive()) {
            last = c;
        }
        return c;
    }

    @Override
    int drain(Partial delta) {
        AveragePartial d = (AveragePartial) delta;
        int result = 0;
        for (Cells.Cell x : cells()) {
            AverageCell c = (AverageCell) x;
            boolean ended = !c.owner.isAlive();
            boolean read = false;
            long count = 0;
            double sum = 0;
            for (int i = 0; i < Cells.SEQLOCK_TRIES && !read; i++) {
                int s1 = (int) AverageCell.SEQ.getAcquire(c);
                if ((s1 & 1) == 0) {
                    count = (long) AverageCell.COUNT.getOpaque(c);
                    sum = (double) AverageCell.SUM.getOpaque(c);
                    VarHandle.loadLoadFence();
                    read = (int) AverageCell.SEQ.getOpaque(c) == s1;
                }
                if (!read) {
                    Thread.onSpinWait();
                }
            }
            if (!read) {
                result |= INCOMPLETE;
                continue;
            }
            if (count != c.drainedCount) {
                double before = c.drainedSum;
                d.add(count - c.drainedCount, Double.isFinite(before) ? sum - before : sum);
                c.drainedCount = count;
                c.drainedSum = sum;
                result |= DIRTY;
            }
            if (ended) {
                removeCell(c);
            }
        }
        return result;
    }
}
