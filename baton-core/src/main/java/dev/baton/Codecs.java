package dev.baton;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The codecs Baton ships: byte arrays, byte buffers, UTF-8 strings, {@link Message}s as they are, and no value.
 * Each is a stateless singleton, safe to share. Protobuf messages have theirs in {@code baton-protobuf}
 * ({@code dev.baton.protobuf.ProtobufCodec}).
 *
 * <table>
 *   <caption>What each codec copies</caption>
 *   <tr><th>codec</th><th>encode</th><th>decode</th></tr>
 *   <tr><td>{@link #bytes()}</td><td>no copy (wraps the array)</td><td>one copy into a new array</td></tr>
 *   <tr><td>{@link #byteBuffer()}</td><td>no copy (a view of the buffer)</td><td>one copy into a new heap
 *       buffer</td></tr>
 *   <tr><td>{@link #utf8()}</td><td>the string's encoding</td><td>one copy into an array, then the string's
 *       decoding</td></tr>
 *   <tr><td>{@link #message()}</td><td>no copy (a view of the message)</td><td>no copy: the message itself, which
 *       its holder owns</td></tr>
 *   <tr><td>{@link #empty()}</td><td>nothing</td><td>nothing</td></tr>
 * </table>
 */
public final class Codecs {

    private static final ByteBuffer NOTHING = ByteBuffer.allocate(0).asReadOnlyBuffer();

    private Codecs() {
    }

    /** Byte arrays: sent from the array itself (do not modify it until the call completes), decoded as a copy. */
    public static Codec<byte[]> bytes() {
        return Bytes.INSTANCE;
    }

    /**
     * Byte buffers: the remaining bytes are sent from the buffer in place (a view; the buffer's position is not
     * moved; do not modify it until the call completes), and a direct buffer or memory segment is written to the
     * socket without any copy. A received payload is decoded into a new heap buffer (one copy), positioned at 0:
     * for large payloads read in place, use {@link #message()} instead.
     */
    public static Codec<ByteBuffer> byteBuffer() {
        return Buffers.INSTANCE;
    }

    /**
     * Strings as UTF-8, strictly: a string with an unpaired surrogate cannot be encoded and bytes that are not valid
     * UTF-8 cannot be decoded (the call fails, see {@link Codec}), rather than either being replaced by {@code ?}.
     */
    public static Codec<String> utf8() {
        return Utf8.INSTANCE;
    }

    /**
     * {@link Message}s as they are, for payloads that must not be copied at all. Encoding sends the message's bytes
     * in place (the message must stay valid, and open, until the call completes or the answer is sent; Baton does
     * not close it). Decoding returns the received message itself ({@link Codec#ownsMessage()} is true): a
     * caller's response is then the caller's to {@link Message#close()}, which gives its pooled buffer back; a
     * server's request is lent, valid until the call is answered (see {@link ServerCall#request()}).
     */
    public static Codec<Message> message() {
        return Messages.INSTANCE;
    }

    /**
     * No value: encodes anything (null included) as an empty payload and decodes any payload as null, for methods
     * that take or return nothing.
     */
    public static Codec<Void> empty() {
        return Empty.INSTANCE;
    }

    private enum Bytes implements Codec<byte[]> {
        INSTANCE;

        @Override
        public ByteBuffer encode(byte[] value) {
            return ByteBuffer.wrap(Objects.requireNonNull(value, "a null byte[] cannot be encoded"));
        }

        @Override
        public byte[] decode(Message message) {
            return message.toByteArray();
        }

        @Override
        public String toString() {
            return "Codecs.bytes()";
        }
    }

    private enum Buffers implements Codec<ByteBuffer> {
        INSTANCE;

        @Override
        public ByteBuffer encode(ByteBuffer value) {
            return Objects.requireNonNull(value, "a null ByteBuffer cannot be encoded").slice();
        }

        @Override
        public ByteBuffer decode(Message message) {
            ByteBuffer copy = ByteBuffer.allocate(message.size());
            message.copyTo(copy);
            return copy.flip();
        }

        @Override
        public String toString() {
            return "Codecs.byteBuffer()";
        }
    }

    private enum Utf8 implements Codec<String> {
        INSTANCE;

        @Override
        public ByteBuffer encode(String value) throws Exception {
            Objects.requireNonNull(value, "a null String cannot be encoded");
            return StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(value));
        }

        @Override
        public String decode(Message message) throws Exception {
            // From an array: the decoder's fast path (a received payload is a direct buffer, decoded byte by byte).
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(message.toByteArray()))
                    .toString();
        }

        @Override
        public String toString() {
            return "Codecs.utf8()";
        }
    }

    private enum Messages implements Codec<Message> {
        INSTANCE;

        @Override
        public ByteBuffer encode(Message value) {
            return Objects.requireNonNull(value, "a null Message cannot be encoded").buffer();
        }

        @Override
        public Message decode(Message message) {
            return message;
        }

        @Override
        public boolean ownsMessage() {
            return true;
        }

        @Override
        public String toString() {
            return "Codecs.message()";
        }
    }

    private enum Empty implements Codec<Void> {
        INSTANCE;

        @Override
        public ByteBuffer encode(Void value) {
            return NOTHING;
        }

        @Override
        public Void decode(Message message) {
            return null;
        }

        @Override
        public String toString() {
            return "Codecs.empty()";
        }
    }
}
