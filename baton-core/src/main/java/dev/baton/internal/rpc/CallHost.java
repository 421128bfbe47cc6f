package dev.baton.internal.rpc;

import dev.baton.Status;

/**
 * What a {@link PendingCall} needs from the node that made it: the narrow side of {@link CallSender}, so a
 * call record never reaches into the rest of the runtime.
 */
interface CallHost {

    /** The wheel that watches the call's deadline. */
    DeadlineTimer timer();

    /**
     * The call completed (its outcome is being delivered): counters, latency and the calls in flight.
     * {@code failure} is null when it succeeded.
     */
    void ended(PendingCall call, Status.Code failure);

    /** The call record is free again. */
    void recycle(PendingCall call);

    /**
     * Sends the call to another server of its service, or fails it: its attempt never reached a handler (not
     * written, or dropped), or it is idempotent and its connection broke.
     */
    void reroute(PendingCall call, Status cause);

    /** Sends the call to a server other than the one that refused it ({@code refusal}, retry-safe), or fails it. */
    void rerouteRefused(PendingCall call, Status refusal);

    /** True once the node is closing: calls end with CLOSED. */
    boolean closing();

    /**
     * Delivers the call's outcome (a failure already claimed) on the handler executor: for threads that must not
     * run user code (the timer, a connection's writer). From the timer thread the deliveries of one round go
     * in one task.
     */
    void deliverElsewhere(PendingCall call);

    /** The node's default call timeout, for messages. */
    long defaultTimeoutMs();
}
