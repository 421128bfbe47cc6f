package dev.baton.accumulator;

import dev.baton.accumulator.Cells.DoubleCell;
import dev.baton.accumulator.Partial.DoublePartial;

/**
 * A {@code double} sum, maximum or minimum ({@link Aggregators#DOUBLE_SUM}, {@link Aggregators#DOUBLE_MAX},
 * {@link Aggregators#DOUBLE_MIN}). Thread-safe; {@link #write} never blocks, locks or allocates (after a
 * thread's first write).
 *
 * <p>Maximum and minimum start from -Infinity and +Infinity (not from the smallest positive double, as
 * prpc's do), so they are right for negative values; like {@link Math#max}, a NaN written once makes the
 * result NaN. A sum is as exact as adding the values in some order; each flush may round once more.
 */
public final class DoubleAccumulator extends Accumulator {

    private final int op;
    private final double identity;
    private final ThreadLocal<DoubleCell> local = new ThreadLocal<>();
    /** The first writing thread's cell (see {@link LongAccumulator}). */
    private DoubleCell last;

    DoubleAccumulator(Accumulators owner, String name, String type) {
        super(owner, name, type);
        this.op = switch (type) {
            case Aggregators.DOUBLE_SUM -> DoublePartial.SUM;
            case Aggregators.DOUBLE_MAX -> DoublePartial.MAX;
            case Aggregators.DOUBLE_MIN -> DoublePartial.MIN;
            default -> throw new IllegalArgumentException(type);
        };
        this.identity = DoublePartial.identity(op);
    }

    /** Adds {@code value} to the sum, or folds it into the maximum or minimum. */
    public void write(double value) {
        DoubleCell c = last;
        if (c == null || c.owner != Thread.currentThread()) {
            c = cell();
        }
        double v = c.value;
        DoubleCell.VALUE.setOpaque(c, op == DoublePartial.SUM ? v + value
                : op == DoublePartial.MAX ? Math.max(v, value) : Math.min(v, value));
        counted(c);
    }

    /**
     * The global value (see {@link #readValue()}): 0.0 for an empty sum, -Infinity for an empty maximum,
     * +Infinity for an empty minimum.
     */
    public double read() {
        return readValue().map(v -> ((AccumulatorValue.DoubleValue) v).value()).orElse(identity);
    }

    private DoubleCell cell() {
        DoubleCell c = local.get();
        if (c == null) {
            c = new DoubleCell(identity);
            local.set(c);
            addCell(c);
        }
        DoubleCell l = last;
        if (l == null || !l.owner.isAlive()) {
            last = c;
        }
        return c;
    }

    @Override
    int drain(Partial delta) {
        DoublePartial d = (DoublePartial) delta;
        int result = 0;
        for (Cells.Cell x : cells()) {
            DoubleCell c = (DoubleCell) x;
            boolean ended = !c.owner.isAlive();
            double v = (double) DoubleCell.VALUE.getOpaque(c);
            double before = c.drained;
            if (Double.compare(v, before) != 0) {
                // Once the cumulative sum is infinite or NaN, it is its own delta (inf - inf would be NaN).
                d.add(op == DoublePartial.SUM && Double.isFinite(before) ? v - before : v);
                c.drained = v;
                result |= DIRTY;
            }
            if (ended) {
                removeCell(c);
            }
        }
        return result;
    }
}
