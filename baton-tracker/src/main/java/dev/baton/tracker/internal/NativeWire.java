package dev.baton.tracker.internal;

import dev.baton.Status;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The layout of the {@code baton.tracker} service's requests and responses: a few fixed-width fields and
 * strings, big-endian, no framing of its own (a Baton message is already one frame).
 *
 * <pre>
 * string  = u16 length, then that many bytes of UTF-8
 * bytes   = u16 length, then that many bytes
 *
 * method 1 REGISTER    request:  string key | string service | i32 serverId | bytes guardSecret (0..64)
 *                      response: i64 registrationId
 * method 2 UNREGISTER  request:  i64 registrationId                           response: empty
 * method 3 REQUEST     request:  string key | i32 priority | i64 limitMs
 *                      response: i64 leaseId | string service | i32 serverId | i32 rank
 *                                | i64 expiresAtEpochMs | string token
 * method 4 RELEASE     request:  i64 leaseId                                  response: empty
 * method 5 SUMMARY     request:  empty                                        response: UTF-8 JSON (docs/tracker.md)
 * </pre>
 *
 * A request that does not parse fails with INVALID_ARGUMENT. Stateless; thread-safe.
 */
public final class NativeWire {

    /** The service the tracker's node serves. */
    public static final String SERVICE = "baton.tracker";
    public static final int REGISTER = 1;
    public static final int UNREGISTER = 2;
    public static final int REQUEST = 3;
    public static final int RELEASE = 4;
    public static final int SUMMARY = 5;
    /** Keys and service names, in characters, as on the TVM side. */
    public static final int MAX_NAME_CHARS = 256;
    public static final int MAX_SECRET_BYTES = 64;

    private NativeWire() {
    }

    /** Grows as it is written; {@link #done()} gives the bytes to send. Not thread-safe. */
    public static final class Writer {
        private ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.BIG_ENDIAN);

        public Writer i32(int v) {
            room(4).putInt(v);
            return this;
        }

        public Writer i64(long v) {
            room(8).putLong(v);
            return this;
        }

        public Writer string(String s) {
            return bytes(s.getBytes(StandardCharsets.UTF_8));
        }

        public Writer bytes(byte[] v) {
            if (v.length > 0xFFFF) {
                throw new IllegalArgumentException("a field of " + v.length + " bytes is over 65535");
            }
            room(2 + v.length).putShort((short) v.length).put(v);
            return this;
        }

        public ByteBuffer done() {
            return b.flip();
        }

        private ByteBuffer room(int n) {
            if (b.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(b.capacity() * 2, b.position() + n));
                b = bigger.put(b.flip());
            }
            return b;
        }
    }

    /** Reads one message; every getter throws INVALID_ARGUMENT on a short or bad message. Not thread-safe. */
    public static final class Reader {
        private final ByteBuffer b;
        private final String what;

        public Reader(ByteBuffer message, String what) {
            this.b = message.slice().order(ByteOrder.BIG_ENDIAN);
            this.what = what;
        }

        public int i32() {
            try {
                return b.getInt();
            } catch (BufferUnderflowException e) {
                throw bad("ends early");
            }
        }

        public long i64() {
            try {
                return b.getLong();
            } catch (BufferUnderflowException e) {
                throw bad("ends early");
            }
        }

        public byte[] bytes() {
            try {
                int n = Short.toUnsignedInt(b.getShort());
                if (n > b.remaining()) {
                    throw bad("ends early");        // before allocating what the length claims
                }
                byte[] v = new byte[n];
                b.get(v);
                return v;
            } catch (BufferUnderflowException e) {
                throw bad("ends early");
            }
        }

        public String string() {
            return new String(bytes(), StandardCharsets.UTF_8);
        }

        /** A name (key, service): 1 to {@link #MAX_NAME_CHARS} characters. */
        public String name(String field) {
            String s = string();
            if (s.isEmpty() || s.length() > MAX_NAME_CHARS) {
                throw bad(field + " must be 1 to " + MAX_NAME_CHARS + " characters, was " + s.length());
            }
            return s;
        }

        /** Throws unless every byte was read. */
        public void end() {
            if (b.hasRemaining()) {
                throw bad("has " + b.remaining() + " bytes too many");
            }
        }

        private RuntimeException bad(String why) {
            return Status.of(Status.Code.INVALID_ARGUMENT, "tracker " + what + ": the message " + why).asException();
        }
    }
}
