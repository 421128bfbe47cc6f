package dev.baton.accumulator;

/**
 * Counters of one {@link Accumulators} since it was attached. A snapshot; ask again for fresh numbers.
 *
 * @param batchesSent     batch calls made (every attempt, re-sends included)
 * @param entriesSent     accumulator entries in those calls
 * @param bytesSent       bytes in those calls
 * @param batchesAcked    batches the server acknowledged
 * @param rebuilds        times a new server asked this node for its whole contribution
 * @param failures        batch calls that failed (no server, server gone, deadline...) and were retried
 * @param errors          errors reported to the error handler (rejections, unexpected failures)
 * @param elections       times this node became the server (elected, or by taking it over)
 * @param handOvers       times this node handed the server over to another node
 * @param hostingServer   whether this node hosts the accumulator server now
 */
public record AccumulatorStats(long batchesSent, long entriesSent, long bytesSent, long batchesAcked, long rebuilds,
                               long failures, long errors, long elections, long handOvers, boolean hostingServer) {
}
