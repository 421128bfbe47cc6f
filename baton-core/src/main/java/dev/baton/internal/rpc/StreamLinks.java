package dev.baton.internal.rpc;

import dev.baton.Message;
import dev.baton.spi.FrameType;
import dev.baton.spi.TransportConnection;

import java.nio.ByteBuffer;

/**
 * The links between the two sides of a stream: frames on the connection (STREAM_DATA, STREAM_CREDIT under the opening
 * request's id), or, in process, straight into the other side's flow.
 */
final class StreamLinks {

    private StreamLinks() {
    }

    /**
     * A link over connection {@code c} for the stream opened by request {@code id} (to {@code serviceId},
     * {@code serverId}, {@code method}); {@code toServer} on the caller's side. Frames are sent and forgotten: a closed
     * connection fails the stream through the call that opened it.
     */
    static StreamFlow.Link remote(TransportConnection c, long id, int serviceId, int serverId, int method,
                                  boolean toServer) {
        int direction = toServer ? FrameType.FLAG_TO_SERVER : 0;
        return new StreamFlow.Link() {
            @Override
            public boolean data(ByteBuffer message, boolean halfClose) {
                int flags = direction | (halfClose ? FrameType.FLAG_HALF_CLOSE : 0);
                return c.offer(new SimpleFrame(FrameType.STREAM_DATA, flags, 0, id, serviceId, serverId, method,
                        message)) == TransportConnection.OFFERED;
            }

            @Override
            public void credit(int bytes) {
                SimpleFrame f = new SimpleFrame(FrameType.STREAM_CREDIT, direction, 0, id, serviceId, serverId, method,
                        null);
                f.setTimeoutNs(bytes);
                c.offer(f);
            }
        };
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
