package dev.baton.accumulator;

/**
 * Whether a node may host the accumulator server, and how keenly ({@link AccumulatorOptions#serverPlacement()}).
 *
 * <p>The server is server 0 of the service {@code _baton.accumulator}; the master grants that id to exactly
 * one node at a time. When there is none (at start, or after the host died), every eligible node stands for
 * election after a delay that favours, in order: a node that {@link #PREFER}s it, rank 0, then lower ranks.
 * A running server hands itself over (without losing anything) to a node of higher standing when one
 * attaches, so the server ends up on the preferred node, or on rank 0 by default.
 */
public enum ServerPlacement {
    /** Host the server: stand for election at once, and take the server over from a less preferred node. */
    PREFER,
    /** Host the server when no better node does (rank 0 is preferred to the others). */
    DEFAULT,
    /** Never host the server (a pure client: light processes, tools). */
    NEVER
}
