package dev.baton.internal.wire;

import dev.baton.Status;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Reads a little-endian control message. Every read is bounds-checked: malformed input raises
 * {@link dev.baton.BatonException} with PROTOCOL_ERROR, never an unchecked buffer exception or a huge
 * allocation.
 */
public final class WireReader {

    private final ByteBuffer buf;

    public WireReader(ByteBuffer buffer) {
        this.buf = buffer.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    private void need(int n) {
        if (n < 0 || buf.remaining() < n) {
            throw Status.of(Status.Code.PROTOCOL_ERROR, "truncated control message").asException();
        }
    }

    public int getByte() {
        need(1);
        return buf.get();
    }

    public int getInt() {
        need(4);
        return buf.getInt();
    }

    public long getLong() {
        need(8);
        return buf.getLong();
    }

    public double getDouble() {
        need(8);
        return buf.getDouble();
    }

    public String getString() {
        int len = getInt();
        if (len == -1) {
            return null;
        }
        need(len);
        byte[] b = new byte[len];
        buf.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    public byte[] getBytes() {
        int len = getInt();
        need(len);
        byte[] b = new byte[len];
        buf.get(b);
        return b;
    }

    /** A count of items that each take at least {@code minItemBytes}: checked against what is left. */
    public int getCount(int minItemBytes) {
        int n = getInt();
        if (n < 0 || (long) n * Math.max(1, minItemBytes) > buf.remaining()) {
            throw Status.of(Status.Code.PROTOCOL_ERROR, "bad item count " + n).asException();
        }
        return n;
    }

    /** A reader of what is left, from here on; reading it leaves this one where it is. */
    public WireReader copy() {
        return new WireReader(buf);
    }

    public boolean hasRemaining() {
        return buf.hasRemaining();
    }
}
