package dev.baton.spi.connection;

import dev.baton.BatonException;
import dev.baton.Status;
import dev.baton.spi.FrameQueue;
import dev.baton.spi.FrameType;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The frames one write of a connection carries, and the buffers it writes them from: the writer's side of
 * the combining send ({@link FramedConnection}). Owned by whoever holds the connection's writer role; not
 * thread-safe, and allocation-free in steady state except for one view per large payload.
 *
 * <p>Small payloads ({@value #SMALL_PAYLOAD} B or less) are copied next to their 40-byte headers into one
 * direct send buffer, written with one {@code write}. A larger payload is written from the caller's own buffer
 * by a gathering write, between the segments of the send buffer that hold the headers around it; on a connection
 * that carries large bodies beside its stream ({@link OutOfBandBodies}), such a body is copied there instead and
 * only its descriptor goes next to its header. A frame is
 * reported written once its last byte went out; after a close, frames with any byte on the wire count as
 * written (the peer may have them) and all others as dropped, so the runtime re-routes only what never left.
 *
 * <p>A frame that asks for compression and may have it ({@link MessageCompression}) is compressed here, by the
 * writer, into a pooled buffer the batch holds until the frame is written or dropped; the frame's own payload is
 * left as it is (its sender's accounting and re-sends see the original).
 *
 * <p>The send buffer comes from the transport's pool when a batch needs it and goes back once the connection has
 * written nothing for a while ({@link #releaseIfIdle}), so an idle connection holds none. It starts at
 * {@value #IDLE_SEND_BUFFER_SIZE} bytes (a PING, a few small calls) and grows to {@value #SEND_BUFFER_SIZE} as soon
 * as a batch finds it full.
 */
final class SendBatch {

    /** Payloads up to this size are copied next to their header; larger ones are written in place. */
    static final int SMALL_PAYLOAD = 4096;
    static final int SEND_BUFFER_SIZE = 64 * 1024;
    /** The send buffer a connection starts with: a header and the largest payload copied next to it fit. */
    static final int IDLE_SEND_BUFFER_SIZE = 8 * 1024;
    private static final int MAX_FRAMES = 64;

    /** Where a batch goes, and who is told of each frame's fate (once, on the writer's thread). */
    interface Sink {
        int write(ByteBuffer src) throws IOException;

        long write(ByteBuffer[] srcs, int offset, int length) throws IOException;

        void written(OutboundFrame frame);

        void dropped(OutboundFrame frame, BatonException cause);

        /** Where large bodies go beside the stream; null when they go through it. */
        OutOfBandBodies outOfBand();

        /** A body of {@code bytes} went beside the stream: it counts as written. */
        void wroteAside(int bytes);
    }

    private final Sink sink;
    private final BufferPool pool;
    private final java.util.function.IntConsumer held;      // told of every change of the bytes it holds
    private final MessageCompression compression;
    private ByteBuffer sendBuffer;                              // null while idle
    private boolean growSendBuffer;                             // the last batch found it full
    private final OutboundFrame[] frames = new OutboundFrame[MAX_FRAMES];
    /** The compressed payload written for each frame of the batch in place of its own, or null. */
    private final ByteBuffer[] compressed = new ByteBuffer[MAX_FRAMES];
    private final long[] ends = new long[MAX_FRAMES];           // cumulative bytes up to each frame's end
    private final ByteBuffer[] iov = new ByteBuffer[MAX_FRAMES * 2 + 1];
    /** Views of sendBuffer for gathering writes, one per header segment a batch can have; made on first use. */
    private final ByteBuffer[] sendViews = new ByteBuffer[MAX_FRAMES + 1];
    private int count;
    private int done;               // frames of the batch already reported written
    private int iovCount;
    private int iovIndex;
    private long bytes;
    private long bytesWritten;
    private OutboundFrame carry;    // polled but did not fit in the previous batch

    SendBatch(Sink sink, BufferPool pool, java.util.function.IntConsumer held, MessageCompression compression) {
        this.sink = sink;
        this.pool = pool;
        this.held = held;
        this.compression = compression;
    }

    /** True while part of the current batch has not been written. */
    boolean pending() {
        return count > 0;
    }

    /**
     * Fills the next batch from {@code queue}; false when there was nothing to send. A frame whose metadata and
     * payload are larger than the peer's maximum message size (from its HELLO; {@code peer} is null before it
     * came) is dropped with MESSAGE_TOO_LARGE instead: sent, it would make the peer close the connection as a
     * protocol error. That happens to a frame offered before the handshake told the peer's maximum. A frame with
     * metadata for a peer that speaks protocol version 2 is dropped with UNIMPLEMENTED: that peer would read the
     * metadata as part of the message.
     */
    boolean build(FrameQueue queue, PeerIdentity peer) {
        long peerMax = peer == null ? Long.MAX_VALUE : peer.maxMessageSize();
        boolean peerSpeaksMetadata = peer == null || peer.speaksMetadata();
        int segmentStart = 0;
        boolean gathering = false;
        long total = 0;
        count = 0;
        done = 0;
        bytesWritten = 0;
        iovCount = 0;
        iovIndex = 0;
        ByteBuffer buf = null;
        OutOfBandBodies oob = null;        // asked once per batch, for its first large payload
        boolean oobAsked = peer == null;
        while (count < MAX_FRAMES) {
            OutboundFrame f = carry != null ? carry : queue.poll();
            carry = null;
            if (f == null) {
                break;
            }
            int size = f.payloadSize();
            int meta = f.metadataSize();
            if (size + (long) meta > peerMax) {
                sink.dropped(f, Status.of(Status.Code.MESSAGE_TOO_LARGE, "payload of " + size + (meta == 0 ? ""
                        : " bytes and metadata of " + meta) + " bytes exceeds the peer's maximum message size "
                        + peerMax).withRetrySafe(true).asException());
                continue;
            }
            if (meta != 0 && !peerSpeaksMetadata) {
                sink.dropped(f, metadataUnsupported(peer).asException());
                continue;
            }
            if (buf == null) {
                buf = buffer().clear();
            }
            boolean small = size <= SMALL_PAYLOAD;
            if (!small && !oobAsked) {
                oob = sink.outOfBand();
                oobAsked = true;
            }
            boolean aside = oob != null && size >= oob.threshold() && carriesMessage(f);
            int need = FrameLayout.HEADER_LENGTH + meta
                    + (small ? size : aside ? OutOfBandBodies.MAX_DESCRIPTOR : 0);     // always fits a 64 KiB buffer
            if (buf.remaining() < need) {
                carry = f;
                growSendBuffer = true;
                break;
            }
            // Held by the batch before its payload is touched: if that throws, dropAll still reports it.
            int i = count++;
            frames[i] = f;
            ByteBuffer payload = f.payload();
            int encoding = compression.encodingFor(f, peer, size);
            if (encoding != 0) {
                ByteBuffer c = compression.compress(encoding, payload);
                if (c == null) {
                    encoding = 0;
                } else {
                    payload = c;
                    size = c.remaining();
                    // Smaller now: copied if it fits where the header goes, else written from its own buffer.
                    small = size <= SMALL_PAYLOAD && buf.remaining() >= FrameLayout.HEADER_LENGTH + meta + size;
                    compressed[i] = small ? null : c;
                }
            }
            if (aside && encoding == 0) {
                int h = buf.position();
                int d = oob.put(payload, buf, h + FrameLayout.HEADER_LENGTH + meta);
                if (d >= 0) {
                    // The body went beside the stream: the frame carries its descriptor where the message goes.
                    FrameLayout.putHeader(buf, f, d);
                    buf.put(h + FrameLayout.OFF_ENCODING, (byte) FrameLayout.ENCODING_OUT_OF_BAND)
                            .put(h + FrameLayout.OFF_RESPONSE_ENCODING, (byte) compression.responseEncoding(f, peer));
                    if (meta != 0) {
                        f.frameMetadata().encode(buf);
                    }
                    buf.position(h + FrameLayout.HEADER_LENGTH + meta + d);
                    total += FrameLayout.HEADER_LENGTH + meta + d;
                    ends[i] = total;
                    sink.wroteAside(size);
                    continue;
                }
            }
            ends[i] = total + FrameLayout.HEADER_LENGTH + meta + size;
            FrameLayout.putHeader(buf, f, size);
            if (encoding != 0 || f.frameEncoding() != 0) {
                int h = buf.position() - FrameLayout.HEADER_LENGTH;
                buf.put(h + FrameLayout.OFF_ENCODING, (byte) encoding)
                        .put(h + FrameLayout.OFF_RESPONSE_ENCODING, (byte) compression.responseEncoding(f, peer));
            }
            if (meta != 0) {
                f.frameMetadata().encode(buf);
            }
            if (small) {
                if (size > 0) {
                    buf.put(buf.position(), payload, payload.position(), size);
                    buf.position(buf.position() + size);
                }
                if (encoding != 0) {
                    pool.recycle(payload);      // the compressed copy, now in the send buffer
                }
            } else {
                gathering = true;
                iov[iovCount++] = segment(segmentStart, buf.position());
                segmentStart = buf.position();
                iov[iovCount++] = payload.duplicate();      // a view: the caller's position must not move
            }
            total += FrameLayout.HEADER_LENGTH + meta + size;
        }
        if (count == 0) {
            return false;
        }
        if (gathering) {
            if (buf.position() > segmentStart) {
                iov[iovCount++] = segment(segmentStart, buf.position());
            }
        } else {
            buf.flip();
        }
        bytes = total;
        return true;
    }

    /** True for a frame whose message may be compressed or carried out of band: a request or a successful response. */
    private static boolean carriesMessage(OutboundFrame f) {
        int type = f.frameType();
        return type == FrameType.REQUEST || (type == FrameType.RESPONSE && f.frameStatus() == 0);
    }

    /** UNIMPLEMENTED, retry-safe (nothing was sent): a peer of protocol version 2 cannot take metadata. */
    static Status metadataUnsupported(PeerIdentity peer) {
        return Status.of(Status.Code.UNIMPLEMENTED, "the peer speaks protocol version " + peer.protocolVersion()
                + ", which carries no metadata (version " + ProtocolVersion.METADATA + " does)").withRetrySafe(true);
    }

    private ByteBuffer buffer() {
        if (sendBuffer != null && growSendBuffer && sendBuffer.capacity() < SEND_BUFFER_SIZE) {
            releaseBuffer();            // nothing of it is pending: build() runs only once the last batch went out
        }
        if (sendBuffer == null) {
            sendBuffer = pool.acquire(growSendBuffer ? SEND_BUFFER_SIZE : IDLE_SEND_BUFFER_SIZE);
            held.accept(sendBuffer.capacity());
        }
        return sendBuffer;
    }

    /** The send buffer's bytes [start, end) as the next of its views (no slice per batch). */
    private ByteBuffer segment(int start, int end) {
        int i = iovCount >> 1;
        ByteBuffer view = sendViews[i];
        if (view == null) {
            view = sendViews[i] = sendBuffer.duplicate();
        }
        view.clear().limit(end).position(start);
        return view;
    }

    /** Writes the current batch; true when all of it went out, false when the sink is full. */
    boolean write() throws IOException {
        while (bytesWritten < bytes) {
            long n;
            if (iovCount == 0) {
                n = sink.write(sendBuffer);
            } else {
                n = sink.write(iov, iovIndex, iovCount - iovIndex);
                while (iovIndex < iovCount && !iov[iovIndex].hasRemaining()) {
                    iov[iovIndex++] = null;
                }
            }
            if (n <= 0) {
                reportWritten();
                return false;
            }
            bytesWritten += n;
        }
        reportWritten();
        count = 0;
        return true;
    }

    /** Reports every frame whose last byte has been written. */
    private void reportWritten() {
        while (done < count && ends[done] <= bytesWritten) {
            OutboundFrame f = frames[done];
            frames[done] = null;
            releaseCompressed(done++);
            sink.written(f);
        }
    }

    /** Gives back the compressed copy of frame {@code i}'s payload, if it had one (written or not). */
    private void releaseCompressed(int i) {
        ByteBuffer c = compressed[i];
        if (c != null) {
            compressed[i] = null;
            pool.recycle(c);
        }
    }

    /** Gives the send buffer back to the pool when nothing is pending (the writer saw nothing go out for a while). */
    void releaseIfIdle() {
        if (carry == null) {
            releaseBuffer();
            growSendBuffer = false;
        }
    }

    private void releaseBuffer() {
        if (sendBuffer != null && count == 0) {
            ByteBuffer b = sendBuffer;
            sendBuffer = null;
            java.util.Arrays.fill(sendViews, null);     // views of a buffer that may now serve another connection
            held.accept(-b.capacity());
            pool.recycle(b);
        }
    }

    /** True while the connection holds a send buffer (for memory statistics and tests). */
    boolean holdsBuffer() {
        return sendBuffer != null;
    }

    /**
     * After a close: the rest of the batch (frames with any byte on the wire count as written) and everything
     * still in {@code queue} (dropped with {@code cause}). Gives the send buffer back.
     */
    void dropAll(FrameQueue queue, BatonException cause) {
        for (int i = done; i < count; i++) {
            OutboundFrame f = frames[i];
            frames[i] = null;
            releaseCompressed(i);
            long frameStart = i == 0 ? 0 : ends[i - 1];
            if (frameStart < bytesWritten) {
                sink.written(f);
            } else {
                sink.dropped(f, cause);
            }
        }
        count = 0;
        done = 0;
        for (int i = 0; i < iovCount; i++) {
            iov[i] = null;
        }
        iovCount = 0;
        OutboundFrame f = carry;
        carry = null;
        while (f != null || (f = queue.poll()) != null) {
            sink.dropped(f, cause);
            f = null;
        }
        releaseBuffer();
    }
}
