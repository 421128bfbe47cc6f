package dev.baton.internal.rpc;

import dev.baton.BatonException;
import dev.baton.Message;
import dev.baton.spi.FrameType;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.connection.BufferPool;

import java.nio.ByteBuffer;

/**
 * The links between the two sides of a stream: frames on the connection (STREAM_DATA, STREAM_CREDIT under the opening
 * request's id), or, in process, straight into the other side's flow.
 */
final class StreamLinks {

    /**
     * Where the remote link copies messages of 4 KiB to 16 MiB: direct buffers (a socket writes them without the
     * JDK's own copy into one), given back once written, so a stream of large messages makes no garbage. One pool for
     * the process, bounded like a transport's.
     */
    private static final BufferPool COPIES = new BufferPool(16L << 20);
    /** Smaller messages are copied to the heap: a TLAB allocation costs less than a pool's round trip. */
    private static final int POOLED_FROM = 4096;

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
                ByteBuffer copy = null;
                if (message != null) {
                    int size = message.remaining();     // past the pool's classes too: the GC frees those best
                    copy = (size >= POOLED_FROM && size <= BufferPool.MAX_POOLED_SIZE ? COPIES.acquire(size)
                            : ByteBuffer.allocate(size)).put(message.duplicate()).flip();
                }
                if (c.offer(new DataFrame(flags, id, serviceId, serverId, method, copy)) == TransportConnection.OFFERED) {
                    return true;
                }
                if (copy != null) {
                    COPIES.recycle(copy);       // not taken: still ours
                }
                return false;
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
                    other.onMessage(Message.wrap(ByteBuffer.allocate(message.remaining()).put(message.duplicate())
                            .flip()));
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

    /** A STREAM_DATA frame whose payload, a pooled copy of the message, goes back to the pool once written or dropped. */
    private static final class DataFrame extends OutboundFrame {
        private final ByteBuffer copy;

        DataFrame(int flags, long id, int serviceId, int serverId, int method, ByteBuffer copy) {
            setHeader(FrameType.STREAM_DATA, flags, 0, id, serviceId, serverId, method, 0);
            setPayload(copy);
            this.copy = copy;
        }

        @Override
        public void onWritten() {
            release();
        }

        @Override
        public void onDropped(BatonException cause) {
            release();
        }

        private void release() {
            if (copy != null) {
                COPIES.recycle(copy);
            }
        }
    }
}
