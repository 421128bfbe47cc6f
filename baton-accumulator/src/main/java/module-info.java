/**
 * Baton accumulators: distributed aggregation across the nodes of a cluster. See
 * {@link dev.baton.accumulator.Accumulators}.
 */
module dev.baton.accumulator {
    requires transitive dev.baton;

    exports dev.baton.accumulator;
}
