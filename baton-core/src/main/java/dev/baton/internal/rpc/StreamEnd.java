package dev.baton.internal.rpc;

import dev.baton.Message;

/** One side of a stream as the connection's frames reach it: {@link ClientStreamImpl} or {@link ServerStreamImpl}. */
interface StreamEnd {

    /** The side's flow: its inbox and its credit. */
    StreamFlow flow();

    /**
     * A STREAM_DATA frame arrived: {@code m} (owned from here; null for a half-close, which carries none), and
     * whether the other side sends nothing more. A flow-control violation ends the stream.
     */
    void onData(Message m, boolean halfClose);
}
