package dev.baton.accumulator;

/**
 * A user-defined aggregator (prpc's {@code Aggregator<VAL, Self>}): how values of type {@code V} fold into a
 * state of type {@code S}, how two states merge, and how a state travels and prints. Register it once per
 * JVM with {@link Aggregators#register}, under a {@link #name()} that is the same on every node, then create
 * accumulators of it with {@link Accumulators#custom}.
 *
 * <pre>{@code
 * // The set of ranks that wrote, as a bit set.
 * final class RankSet implements AggregatorType<BitSet, Integer> {
 *     public String name() { return "rank-set"; }
 *     public BitSet init() { return new BitSet(); }
 *     public BitSet mergeValue(BitSet s, Integer rank) { s.set(rank); return s; }
 *     public BitSet merge(BitSet s, BitSet other) { s.or(other); return s; }
 *     public byte[] serialize(BitSet s) { return s.toByteArray(); }
 *     public BitSet deserialize(byte[] bytes) { return BitSet.valueOf(bytes); }
 *     public String render(BitSet s) { return s.toString(); }
 * }
 * Aggregators.register(new RankSet());
 * CustomAccumulator<BitSet, Integer> ranks = accumulators.custom("ranks", "rank-set");
 * ranks.write(node.rank());
 * }</pre>
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li>{@link #merge} must be associative and commutative, and {@link #init()} its identity: writes are
 *       merged per thread, then per node, then on the server, in no fixed order; after a server failover the
 *       new server rebuilds each value from every node's cumulative state.</li>
 *   <li>{@code serialize} then {@code deserialize} must give back an equal state, on any JVM.</li>
 *   <li>The methods may mutate the state passed in and return it, or return a new one; Baton always uses the
 *       returned state. A state is never used by two threads at once: each writing thread has its own, and
 *       the node's flusher and the server take a state only after swapping it out.</li>
 *   <li>{@link #mergeValue} runs on the writing thread, under a lock shared only with the node's flusher (held
 *       by it just long enough to swap the state for a fresh {@code init()}). The other methods run on
 *       Baton's threads. None may block.</li>
 * </ul>
 * The type must be registered on every node that may host the accumulator server (every node whose
 * {@link AccumulatorOptions#serverPlacement()} is not {@link ServerPlacement#NEVER}); a server that does not
 * know a type rejects its values with INVALID_ARGUMENT, reported to the writer.
 *
 * @param <S> the state (partial aggregate)
 * @param <V> the values written
 */
public interface AggregatorType<S, V> {

    /** The type name: the same on every node, 1 to 255 UTF-8 bytes, not one of the built-in names. */
    String name();

    /** A new, empty state: the identity of {@link #merge}. */
    S init();

    /** Folds one value into {@code state}; returns the new state (often {@code state} itself). */
    S mergeValue(S state, V value);

    /** Merges {@code other} into {@code state}; returns the result. {@code other} is not used afterwards. */
    S merge(S state, S other);

    /** The state as bytes. */
    byte[] serialize(S state);

    /** A state from {@link #serialize}'s bytes. */
    S deserialize(byte[] bytes);

    /** The state for people (the {@code bin/baton accumulators} table, logs). */
    String render(S state);
}
