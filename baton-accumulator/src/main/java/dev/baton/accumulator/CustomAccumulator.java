package dev.baton.accumulator;

import dev.baton.accumulator.Cells.CustomCell;
import dev.baton.accumulator.Partial.CustomPartial;

/**
 * An accumulator of a user-defined {@link AggregatorType}. Thread-safe. {@link #write} runs the type's
 * {@code mergeValue} on the calling thread's own state, under a lock that only the flusher contends for (to
 * swap the state out); it does no network I/O.
 *
 * @param <S> the aggregator's state
 * @param <V> the values written
 */
public final class CustomAccumulator<S, V> extends Accumulator {

    private final AggregatorType<S, V> aggregator;
    private final ThreadLocal<CustomCell> local = new ThreadLocal<>();

    CustomAccumulator(Accumulators owner, String name, AggregatorType<S, V> aggregator) {
        super(owner, name, aggregator.name());
        this.aggregator = aggregator;
    }

    /** The aggregator type. */
    public AggregatorType<S, V> aggregator() {
        return aggregator;
    }

    /** Folds {@code value} into this thread's state. */
    @SuppressWarnings("unchecked")
    public void write(V value) {
        CustomCell c = local.get();
        if (c == null) {
            c = new CustomCell(aggregator.init());
            local.set(c);
            addCell(c);
        }
        synchronized (c) {
            c.state = aggregator.mergeValue((S) c.state, value);
            c.dirty = true;
        }
        counted(c);
    }

    /** The global state (see {@link #readValue()}), decoded; {@code init()} when nothing was written. */
    public S read() {
        return readValue().map(v -> ((AccumulatorValue.Custom) v).state(aggregator)).orElseGet(aggregator::init);
    }

    @Override
    int drain(Partial delta) {
        CustomPartial d = (CustomPartial) delta;
        int result = 0;
        for (Cells.Cell x : cells()) {
            CustomCell c = (CustomCell) x;
            boolean ended = !c.owner.isAlive();
            boolean dirty;
            synchronized (c) {
                dirty = c.dirty;
            }
            if (dirty) {
                Object fresh = aggregator.init();      // user code: called outside the cell's lock
                Object taken;
                synchronized (c) {
                    taken = c.state;
                    c.state = fresh;
                    c.dirty = false;
                }
                d.mergeState(taken);
                result |= DIRTY;
            }
            if (ended) {
                removeCell(c);
            }
        }
        return result;
    }
}
