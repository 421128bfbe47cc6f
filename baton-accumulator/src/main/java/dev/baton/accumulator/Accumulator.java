package dev.baton.accumulator;

import dev.baton.BatonException;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

/**
 * A named accumulator on one node: the handle writes go through. Obtained from {@link Accumulators}
 * ({@link Accumulators#longSum}, {@link Accumulators#timer}, ...); asking again for the same name and type
 * returns the same handle. Handles are thread-safe: any number of threads may write to one at once, each
 * into its own cell, without locks, allocation or network I/O (see {@link Accumulators}).
 *
 * <p>Writes reach the server when the node's flusher pushes them: after
 * {@link AccumulatorOptions#flushEvery()} writes by one thread, every {@link AccumulatorOptions#flushInterval()},
 * or on {@link Accumulators#flush()} / {@link Accumulators#awaitFlushed}. Reads return the global value as the
 * server has merged it.
 */
public abstract sealed class Accumulator
        permits LongAccumulator, DoubleAccumulator, AverageAccumulator, TimerAccumulator, CustomAccumulator {

    /** {@link #drain} result: something changed since the last drain. */
    static final int DIRTY = 1;
    /** {@link #drain} result: a cell could not be read consistently (its owner was mid-write); try again. */
    static final int INCOMPLETE = 2;

    final Accumulators owner;
    final String name;
    final String type;
    final byte[] nameUtf8;
    final Flusher flusher;
    final int flushEvery;

    private volatile Cells.Cell[] cells = new Cells.Cell[0];   // written under "this"

    // ---- flusher state, guarded by the flusher's lock
    /** The delta being sent (valid while this accumulator is in the pending batch). */
    final Partial inflight;
    /** This node's acknowledged contribution since generation {@link #gen}: what it re-sends to a new server. */
    final Partial acked;
    /** The server's generation of this name (bumped by each reset and erase) as this node last learned it. */
    long gen;
    /** True while {@link #inflight} is part of the outstanding batch. */
    boolean inBatch;
    /** True once the server accepted an entry for this name from this node (so it need not be sent unchanged). */
    boolean announced;
    /** True while {@link #acked} holds a contribution the server accepted (false again after an erase). */
    boolean contributes;

    /** The last rejection of this accumulator by the server (type mismatch, unknown type); null when fine. */
    volatile BatonException error;

    Accumulator(Accumulators owner, String name, String type) {
        this.owner = owner;
        this.name = name;
        this.type = type;
        this.nameUtf8 = name.getBytes(StandardCharsets.UTF_8);
        this.flusher = owner.flusher;
        int every = owner.options().flushEvery();
        this.flushEvery = every <= 0 ? Integer.MAX_VALUE : every;
        this.inflight = Partial.create(type);
        this.acked = Partial.create(type);
    }

    /** The accumulator's name. */
    public final String name() {
        return name;
    }

    /** Its aggregator type name (see {@link Aggregators}). */
    public final String type() {
        return type;
    }

    /**
     * The global value, as the server has merged it (this node's writes are included once flushed; call
     * {@link Accumulators#awaitFlushed} first to be sure). Empty if no node has flushed this name since it
     * was created or erased. Blocks for one round trip to the server. Throws {@link BatonException}:
     * ALREADY_EXISTS when the server holds this name with another type, or the failure of the call.
     */
    public final Optional<AccumulatorValue> readValue() {
        return owner.read(name);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + name + ", " + type + "]";
    }

    // ------------------------------------------------------------------ cells

    final void addCell(Cells.Cell cell) {
        synchronized (this) {
            Cells.Cell[] c = cells;
            Cells.Cell[] n = Arrays.copyOf(c, c.length + 1);
            n[c.length] = cell;
            cells = n;
        }
    }

    final Cells.Cell[] cells() {
        return cells;
    }

    /** Drops cells whose owner terminated, once drained. Called by the flusher. */
    final void removeCell(Cells.Cell cell) {
        synchronized (this) {
            Cells.Cell[] c = cells;
            int n = 0;
            Cells.Cell[] kept = new Cells.Cell[c.length];
            for (Cells.Cell x : c) {
                if (x != cell) {
                    kept[n++] = x;
                }
            }
            cells = Arrays.copyOf(kept, n);
        }
    }

    /** Asks for a flush after {@link #flushEvery} writes by one thread. Owner thread only. */
    final void counted(Cells.Cell c) {
        if (++c.pending >= flushEvery) {
            c.pending = 0;
            flusher.wake();
        }
    }

    /**
     * Flusher only: merges what every cell gained since the last drain into {@code delta} (a partial of this
     * type, reset by the caller). Returns {@link #DIRTY} and/or {@link #INCOMPLETE}.
     */
    abstract int drain(Partial delta);
}
