package dev.baton.accumulator;

import dev.baton.BatonException;
import dev.baton.Status;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The accumulator protocol's encoding: big-endian fixed-width integers and doubles, strings as a u16 byte
 * length then UTF-8, byte strings as an i32 length then the bytes, and {@code varint}s (unsigned LEB128: 7 bits
 * a byte, low bits first, at most 10 bytes) where small numbers dominate (timer histograms). Not thread-safe.
 */
final class Wire {

    private Wire() {
    }

    /** A growable output buffer, reused across messages by {@link #clear()}. */
    static final class Out {
        private byte[] bytes;
        private ByteBuffer buf;

        Out(int initialCapacity) {
            bytes = new byte[Math.max(64, initialCapacity)];
            buf = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
        }

        Out clear() {
            buf.clear();
            return this;
        }

        int position() {
            return buf.position();
        }

        /** Forgets what was written after {@code position}. */
        Out truncate(int position) {
            buf.position(position);
            return this;
        }

        private void ensure(int more) {
            if (buf.remaining() >= more) {
                return;
            }
            long wanted = Math.max((long) bytes.length * 2, (long) buf.position() + more);
            if (wanted > Integer.MAX_VALUE - 16) {
                throw Status.of(Status.Code.MESSAGE_TOO_LARGE, "accumulator message over 2 GiB").asException();
            }
            int pos = buf.position();
            bytes = Arrays.copyOf(bytes, (int) wanted);
            buf = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN).position(pos);
        }

        Out putByte(int v) {
            ensure(1);
            buf.put((byte) v);
            return this;
        }

        Out putInt(int v) {
            ensure(4);
            buf.putInt(v);
            return this;
        }

        /** Overwrites the int at {@code position} (for counts known only at the end). */
        Out putIntAt(int position, int v) {
            buf.putInt(position, v);
            return this;
        }

        Out putLong(long v) {
            ensure(8);
            buf.putLong(v);
            return this;
        }

        Out putDouble(double v) {
            ensure(8);
            buf.putDouble(v);
            return this;
        }

        /** {@code v} as an unsigned varint: 1 byte below 128, at most 10. */
        Out putVarLong(long v) {
            ensure(10);
            while ((v & ~0x7FL) != 0) {
                buf.put((byte) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            buf.put((byte) v);
            return this;
        }

        Out putBoolean(boolean v) {
            return putByte(v ? 1 : 0);
        }

        /** A string of at most 65535 UTF-8 bytes. */
        Out putString(String s) {
            return putUtf8(s.getBytes(StandardCharsets.UTF_8));
        }

        /** Bytes already encoded as UTF-8 (at most 65535). */
        Out putUtf8(byte[] utf8) {
            if (utf8.length > 0xFFFF) {
                throw new IllegalArgumentException("string longer than 65535 UTF-8 bytes");
            }
            ensure(2 + utf8.length);
            buf.putShort((short) utf8.length);
            buf.put(utf8);
            return this;
        }

        Out putBytes(byte[] b) {
            ensure(4 + b.length);
            buf.putInt(b.length);
            buf.put(b);
            return this;
        }

        Out putRaw(ByteBuffer b) {
            ensure(b.remaining());
            buf.put(b);
            return this;
        }

        /** A view of what was written, [0, position). Valid until the next write. */
        ByteBuffer view() {
            return ByteBuffer.wrap(bytes, 0, buf.position()).slice();
        }

        /** A copy of what was written, as a buffer nobody else holds. */
        ByteBuffer copy() {
            return ByteBuffer.wrap(Arrays.copyOf(bytes, buf.position()));
        }
    }

    /** Reads a message; a malformed one throws {@link BatonException} with INVALID_ARGUMENT. */
    static final class In {
        private final ByteBuffer buf;

        /** {@code buf} must be array-backed: use {@link Wire#in}. */
        private In(ByteBuffer buf) {
            this.buf = buf.slice().order(ByteOrder.BIG_ENDIAN);
        }

        boolean hasRemaining() {
            return buf.hasRemaining();
        }

        int getByte() {
            try {
                return buf.get() & 0xFF;
            } catch (BufferUnderflowException e) {
                throw truncated();
            }
        }

        /**
         * An unsigned varint as a long (a value of 2^63 or more comes out negative: callers range-check). More
         * than 10 bytes, or a 10th byte above 1, is malformed.
         */
        long getVarLong() {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                int b = getByte();
                if (shift == 63 && b > 1) {
                    throw malformed("varint over 64 bits");
                }
                v |= (long) (b & 0x7F) << shift;
                if ((b & 0x80) == 0) {
                    return v;
                }
            }
            throw malformed("varint over 10 bytes");
        }

        boolean getBoolean() {
            return getByte() != 0;
        }

        int getInt() {
            try {
                return buf.getInt();
            } catch (BufferUnderflowException e) {
                throw truncated();
            }
        }

        long getLong() {
            try {
                return buf.getLong();
            } catch (BufferUnderflowException e) {
                throw truncated();
            }
        }

        double getDouble() {
            try {
                return buf.getDouble();
            } catch (BufferUnderflowException e) {
                throw truncated();
            }
        }

        String getString() {
            int n;
            try {
                n = buf.getShort() & 0xFFFF;
            } catch (BufferUnderflowException e) {
                throw truncated();
            }
            if (n > buf.remaining()) {
                throw truncated();
            }
            String s = new String(buf.array(), buf.arrayOffset() + buf.position(), n, StandardCharsets.UTF_8);
            buf.position(buf.position() + n);
            return s;
        }

        byte[] getBytes() {
            int n = getInt();
            if (n < 0 || n > buf.remaining()) {
                throw truncated();
            }
            byte[] b = new byte[n];
            buf.get(b);
            return b;
        }

        /** The next {@code i32 length, bytes} as a read-only view, without a copy. */
        ByteBuffer getSlice() {
            int n = getInt();
            if (n < 0 || n > buf.remaining()) {
                throw truncated();
            }
            ByteBuffer s = buf.slice(buf.position(), n);
            buf.position(buf.position() + n);
            return s;
        }

        int remaining() {
            return buf.remaining();
        }

        private static BatonException truncated() {
            return malformed("truncated");
        }
    }

    /** The error of every malformed message: INVALID_ARGUMENT, "malformed accumulator message (detail)". */
    static BatonException malformed(String detail) {
        return Status.of(Status.Code.INVALID_ARGUMENT, "malformed accumulator message (" + detail + ")").asException();
    }

    /** A message as an {@link In}: heap buffers are read in place, direct ones copied once. */
    static In in(ByteBuffer message) {
        if (message.hasArray()) {
            return new In(message);
        }
        ByteBuffer copy = ByteBuffer.allocate(message.remaining());
        copy.put(message.duplicate()).flip();
        return new In(copy);
    }
}
