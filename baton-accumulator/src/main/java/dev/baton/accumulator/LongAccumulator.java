package dev.baton.accumulator;

import dev.baton.accumulator.Cells.LongCell;
import dev.baton.accumulator.Partial.LongPartial;

/**
 * A {@code long} sum, maximum or minimum ({@link Aggregators#LONG_SUM}, {@link Aggregators#LONG_MAX},
 * {@link Aggregators#LONG_MIN}). Thread-safe; {@link #write} never blocks, locks or allocates (after a thread's
 * first write). A sum wraps around on overflow, as {@code long} addition does.
 *
 * <pre>{@code
 * LongAccumulator bytes = accumulators.longSum("bytes");
 * bytes.write(n);                     // any thread, any rate
 * accumulators.awaitFlushed(Duration.ofSeconds(5));
 * long total = bytes.read();          // over every node
 * }</pre>
 */
public final class LongAccumulator extends Accumulator {

    private final int op;
    private final long identity;
    private final ThreadLocal<LongCell> local = new ThreadLocal<>();
    /**
     * The first writing thread's cell, read without synchronization: a thread that finds another's cell here
     * (its final {@code owner} is always visible) takes the thread-local path instead. Replaced only when its
     * owner has terminated, so it does not bounce between the caches of several writers.
     */
    private LongCell last;

    LongAccumulator(Accumulators owner, String name, String type) {
        super(owner, name, type);
        this.op = switch (type) {
            case Aggregators.LONG_SUM -> LongPartial.SUM;
            case Aggregators.LONG_MAX -> LongPartial.MAX;
            case Aggregators.LONG_MIN -> LongPartial.MIN;
            default -> throw new IllegalArgumentException(type);
        };
        this.identity = LongPartial.identity(op);
    }

    /** Adds {@code value} to the sum, or folds it into the maximum or minimum. */
    public void write(long value) {
        LongCell c = last;
        if (c == null || c.owner != Thread.currentThread()) {
            c = cell();
        }
        long v = c.value;
        LongCell.VALUE.setOpaque(c, op == LongPartial.SUM ? v + value
                : op == LongPartial.MAX ? Math.max(v, value) : Math.min(v, value));
        counted(c);
    }

    /**
     * The global value (see {@link #readValue()}): 0 for an empty sum, {@link Long#MIN_VALUE} for an empty
     * maximum, {@link Long#MAX_VALUE} for an empty minimum.
     */
    public long read() {
        return readValue().map(v -> ((AccumulatorValue.LongValue) v).value()).orElse(identity);
    }

    private LongCell cell() {
        LongCell c = local.get();
        if (c == null) {
            c = new LongCell(identity);
            local.set(c);
            addCell(c);
        }
        LongCell l = last;
        if (l == null || !l.owner.isAlive()) {
            last = c;
        }
        return c;
    }

    @Override
    int drain(Partial delta) {
        LongPartial d = (LongPartial) delta;
        int result = 0;
        for (Cells.Cell x : cells()) {
            LongCell c = (LongCell) x;
            boolean ended = !c.owner.isAlive();     // before reading: the owner's last write is then visible
            long v = (long) LongCell.VALUE.getOpaque(c);
            if (v != c.drained) {
                d.add(op == LongPartial.SUM ? v - c.drained : v);
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
