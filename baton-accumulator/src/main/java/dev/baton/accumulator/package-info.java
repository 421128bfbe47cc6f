/**
 * Distributed aggregation across the nodes of a Baton cluster: prpc's accumulator, done right. Start at
 * {@link dev.baton.accumulator.Accumulators}; the module's README.md has the full design, the wire format and
 * the guarantees.
 *
 * <h2>In one paragraph</h2>
 * Every node {@link dev.baton.accumulator.Accumulators#attach attaches} an {@code Accumulators} to its
 * {@link dev.baton.Node}. Writes go to per-thread cumulative cells (no lock, no atomic, no allocation, no
 * network). One flusher thread per node pushes what changed, every accumulator in one batched call, to the
 * accumulator server: server 0 of the service {@code _baton.accumulator}, which the master grants to exactly
 * one node (rank 0 by default, or a node that prefers it). Batches carry a per-client sequence number and are
 * re-sent identically until acknowledged, so each is applied exactly once. Each node keeps its own cumulative
 * contribution; when the server's node dies, another node is elected and every live node re-sends its whole
 * contribution, so nothing written by a live node is lost, and when the server's node closes normally the server
 * hands its state to a successor and nothing is lost at all. A name has one type cluster-wide; a mismatch is
 * a {@link dev.baton.BatonException} with ALREADY_EXISTS for the writer, never a silent merge.
 *
 * <h2>Classes</h2>
 * <ul>
 *   <li>Public: {@code Accumulators} (per node), {@code AccumulatorOptions}, the handles
 *       ({@code LongAccumulator}, {@code DoubleAccumulator}, {@code AverageAccumulator},
 *       {@code TimerAccumulator}, {@code CustomAccumulator}), {@code AccumulatorValue} (what reads return),
 *       {@code AggregatorType} and {@code Aggregators} (user-defined types), {@code ServerPlacement},
 *       {@code AccumulatorStats}.</li>
 *   <li>Package-private: {@code Cells} (the write path), {@code Partial} (partial aggregates and their
 *       encodings), {@code Flusher} (the node's background side: three {@code Duty} roles that a
 *       {@code DutyRunner} drives on ONE flush thread: {@code FlushRounds} for rounds and rebuilds,
 *       {@code ServerHosting} for election, hosting and hand-over, {@code PeerService} for the peer server),
 *       {@code ServerWatch} (where the server is), {@code AccumulatorServer}, {@code Protocol} (messages, with
 *       wire diagrams), {@code Wire}.</li>
 * </ul>
 */
package dev.baton.accumulator;
