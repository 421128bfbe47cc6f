package dev.baton.internal.rpc;

/**
 * What a {@link ServerCallImpl} needs from the node that serves it: the narrow side of
 * {@link InboundDispatcher}, so a served call never reaches into the rest of the runtime.
 */
interface ServingHost {

    /** The largest payload this node sends. */
    int maxMessageSize();

    /** The wheel that watches served calls' deadlines (once they outlive their dispatch). */
    DeadlineTimer timer();

    /** The caller of in-process calls: this node itself. */
    dev.baton.Caller localCaller();

    /** The call record is free again. */
    void recycle(ServerCallImpl call);

    /** A served call let go of its slot (answered, cancelled or expired): the node's drain counts it. */
    void servingEnded();
}
