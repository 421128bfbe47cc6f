/**
 * Baton accumulators: distributed aggregation across the nodes of a cluster. See
 * {@link dev.baton.accumulator.Accumulators}.
 */
module dev.baton.accumulator {
    requires transitive dev.baton;
    requires static info.picocli;

    exports dev.baton.accumulator;
    exports dev.baton.accumulator.cli;
    opens dev.baton.accumulator.cli to info.picocli;
}
