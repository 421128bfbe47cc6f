package dev.baton.spi;

import dev.baton.BatonException;
import dev.baton.Metadata;

import java.nio.ByteBuffer;

/**
 * A frame queued on a {@link TransportConnection}: header fields plus one payload buffer that is written
 * as it is (gathering write, no copy for large payloads).
 *
 * <p>Ownership: from {@link TransportConnection#offer} until the transport calls exactly one of
 * {@link #onWritten()} or {@link #onDropped(BatonException)}, the frame and its payload belong to the
 * transport; the payload must not be modified, and the frame must not be offered again. Callers subclass it
 * so that a pending call <em>is</em> its own frame (no allocation per send); the frame is also its own link in
 * the transport's {@link FrameQueue}, so queueing allocates nothing either.
 */
public abstract class OutboundFrame {

    private int type;
    private int flags;
    private int status;
    private long requestId;
    private int serviceId;
    private int serverId;
    private int method;
    private long timeoutNs;
    private ByteBuffer payload;
    private Metadata metadata;
    private int encoding;
    /** The next frame in the {@link FrameQueue} this frame is in (a frame is in at most one at a time). */
    volatile OutboundFrame queueNext;

    /**
     * Sets every header field, and clears the compression wish. {@code timeoutNs} is the time left until the
     * deadline, 0 for none.
     */
    public final void setHeader(int type, int flags, int status, long requestId, int serviceId, int serverId,
                                int method, long timeoutNs) {
        this.encoding = 0;
        this.type = type;
        this.flags = flags;
        this.status = status;
        this.requestId = requestId;
        this.serviceId = serviceId;
        this.serverId = serverId;
        this.method = method;
        this.timeoutNs = timeoutNs;
    }

    /** Sets the payload: bytes [position, limit) are sent; the buffer's position is not moved. */
    public final void setPayload(ByteBuffer payload) {
        this.payload = payload;
    }

    /**
     * Sets the metadata sent in front of the payload, or null for none (the usual case, which costs nothing on the
     * wire). Only for a peer whose {@link PeerIdentity#protocolVersion()} is 3 or more: a transport drops the frame
     * with UNIMPLEMENTED rather than send metadata to an older peer.
     */
    public final void setMetadata(Metadata metadata) {
        this.metadata = metadata == null || metadata.isEmpty() ? null : metadata;
    }

    /**
     * Asks the transport to compress the payload with encoding {@code encoding} ({@link Compressor#id()}; 0 for none,
     * which {@link #setHeader} restores). A wish, not an order: the transport compresses only a REQUEST or successful
     * RESPONSE whose payload reaches its compression threshold, for a peer that advertised the encoding
     * ({@link PeerIdentity#acceptsEncoding}), and only when that makes it smaller. On a REQUEST it also asks the peer
     * to compress the response so.
     */
    public final void setEncoding(int encoding) {
        this.encoding = encoding;
    }

    /** Updates the time left before the frame is (re)sent. */
    public final void setTimeoutNs(long timeoutNs) {
        this.timeoutNs = timeoutNs;
    }

    public final int frameType() {
        return type;
    }

    public final int frameFlags() {
        return flags;
    }

    public final int frameStatus() {
        return status;
    }

    public final long frameRequestId() {
        return requestId;
    }

    public final int frameServiceId() {
        return serviceId;
    }

    public final int frameServerId() {
        return serverId;
    }

    public final int frameMethod() {
        return method;
    }

    public final long frameTimeoutNs() {
        return timeoutNs;
    }

    /** The compression asked for ({@link #setEncoding}); 0 for none. */
    public final int frameEncoding() {
        return encoding;
    }

    /** The payload, or null for none. */
    public final ByteBuffer payload() {
        return payload;
    }

    /** Payload size in bytes. */
    public final int payloadSize() {
        return payload == null ? 0 : payload.remaining();
    }

    /** The metadata, or null for none. */
    public final Metadata frameMetadata() {
        return metadata;
    }

    /** The bytes the metadata takes on the wire (0 for none). */
    public final int metadataSize() {
        Metadata m = metadata;
        return m == null ? 0 : m.encodedSize();
    }

    /** Every byte of the frame was handed to the operating system (or the peer's memory). */
    public abstract void onWritten();

    /** The frame was never written, for the reason given. Not a single byte of it reached the peer. */
    public abstract void onDropped(BatonException cause);
}
