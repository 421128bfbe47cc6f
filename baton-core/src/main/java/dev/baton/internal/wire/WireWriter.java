package dev.baton.internal.wire;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Builds a little-endian control message in a growable heap buffer. Control plane only; not thread-safe. */
public final class WireWriter {

    private ByteBuffer buf = ByteBuffer.allocate(128).order(ByteOrder.LITTLE_ENDIAN);

    private void ensure(int n) {
        if (buf.remaining() < n) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(buf.capacity() * 2, buf.position() + n))
                    .order(ByteOrder.LITTLE_ENDIAN);
            buf.flip();
            bigger.put(buf);
            buf = bigger;
        }
    }

    public WireWriter putByte(int v) {
        ensure(1);
        buf.put((byte) v);
        return this;
    }

    public WireWriter putInt(int v) {
        ensure(4);
        buf.putInt(v);
        return this;
    }

    public WireWriter putLong(long v) {
        ensure(8);
        buf.putLong(v);
        return this;
    }

    public WireWriter putDouble(double v) {
        ensure(8);
        buf.putDouble(v);
        return this;
    }

    /** A string as i32 byte length then UTF-8 bytes; null as length -1. */
    public WireWriter putString(String s) {
        if (s == null) {
            return putInt(-1);
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return putBytes(b);
    }

    /** Bytes as i32 length then the bytes. */
    public WireWriter putBytes(byte[] b) {
        ensure(4 + b.length);
        buf.putInt(b.length).put(b);
        return this;
    }

    /** The bytes written so far, as a buffer positioned at 0. The writer must not be used afterwards. */
    public ByteBuffer toBuffer() {
        return buf.flip();
    }
}
