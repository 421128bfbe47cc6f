package dev.baton.spi.connection;

import dev.baton.Metadata;
import dev.baton.spi.InboundHeader;

import java.nio.ByteBuffer;

/**
 * The header of the frame being delivered, decoded from the read buffer: one instance per connection, reused
 * for every frame, valid during one {@code onFrame} call. Owned by whoever holds the connection's reader role.
 */
final class FrameHeader implements InboundHeader {
    int type;
    int flags;
    int status;
    long requestId;
    int serviceId;
    int serverId;
    int method;
    long timeoutNs;
    int length;
    Metadata metadata;
    /** The message's encoding on the wire (0: not compressed); it is decompressed before delivery. */
    int encoding;
    int responseEncoding;
    /** When the bytes of the current read arrived (read lazily, on the first ask after the read); 0: not yet. */
    private long readNanos;

    /** Reads the fixed fields; {@code length} is the message's, after any metadata (which the caller sets). */
    void read(ByteBuffer b, int p, int length) {
        this.length = length;
        metadata = null;
        type = b.get(p + FrameLayout.OFF_TYPE);
        flags = Byte.toUnsignedInt(b.get(p + FrameLayout.OFF_FLAGS));
        status = Short.toUnsignedInt(b.getShort(p + FrameLayout.OFF_STATUS));
        requestId = b.getLong(p + FrameLayout.OFF_REQUEST_ID);
        serviceId = b.getInt(p + FrameLayout.OFF_SERVICE_ID);
        serverId = b.getInt(p + FrameLayout.OFF_SERVER_ID);
        method = Short.toUnsignedInt(b.getShort(p + FrameLayout.OFF_METHOD));
        timeoutNs = b.getLong(p + FrameLayout.OFF_TIMEOUT);
        encoding = Byte.toUnsignedInt(b.get(p + FrameLayout.OFF_ENCODING));
        responseEncoding = Byte.toUnsignedInt(b.get(p + FrameLayout.OFF_RESPONSE_ENCODING));
    }

    @Override
    public int type() {
        return type;
    }

    @Override
    public int flags() {
        return flags;
    }

    @Override
    public int status() {
        return status;
    }

    @Override
    public long requestId() {
        return requestId;
    }

    @Override
    public int serviceId() {
        return serviceId;
    }

    @Override
    public int serverId() {
        return serverId;
    }

    @Override
    public int method() {
        return method;
    }

    @Override
    public long timeoutNs() {
        return timeoutNs;
    }

    /** The reader took new bytes from the stream: frames parsed from now on were received now. */
    void newRead() {
        readNanos = 0;
    }

    /** The time of the read that brought this frame: one clock read per read, for all its frames. */
    @Override
    public long receivedNanos() {
        long t = readNanos;
        if (t == 0) {
            t = System.nanoTime();
            readNanos = t;
        }
        return t;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public int responseEncoding() {
        return responseEncoding;
    }

    @Override
    public Metadata metadata() {
        return metadata;
    }
}
