package dev.baton.internal.rpc;

import dev.baton.Message;

import java.nio.ByteBuffer;

/** The in-process link between the two sides of a stream: each side's sends go straight into the other's flow. */
final class StreamLinks {

    private StreamLinks() {
    }

    /**
     * A link into {@code other}. From the caller's side ({@code callerSide}) a half-close finishes the other side's
     * input; the server's side ends the stream by answering its call instead, and never half-closes.
     */
    static StreamFlow.Link local(StreamFlow other, boolean callerSide) {
        return new StreamFlow.Link() {
            @Override
            public boolean data(ByteBuffer message, boolean halfClose) {
                if (message != null) {
                    other.onMessage(Message.wrap(message));
                }
                if (halfClose && callerSide) {
                    other.onPeerFinished();
                }
                return true;
            }

            @Override
            public void credit(int bytes) {
                other.onCredit(bytes);
            }
        };
    }
}
