package dev.baton.protobuf;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;

import dev.baton.Codec;
import dev.baton.Message;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * A {@link Codec} for protobuf messages of one type, for typed methods ({@link dev.baton.MethodDescriptor}):
 *
 * <pre>{@code
 * static final MethodDescriptor<GetRequest, GetResponse> GET = MethodDescriptor.of(3, "kv.get",
 *         ProtobufCodec.of(GetRequest.getDefaultInstance()), ProtobufCodec.of(GetResponse.getDefaultInstance()));
 * }</pre>
 *
 * <h2>Copies</h2>
 * <ul>
 *   <li>Encoding serializes the message once, straight into a heap buffer of exactly its
 *       {@link MessageLite#getSerializedSize() serialized size}; Baton sends that buffer as it is (for payloads over
 *       4 KiB the JDK copies a heap buffer through its own direct buffer on a socket write).</li>
 *   <li>Decoding copies the payload exactly once, out of the received (pooled, soon reused) buffer into an array of
 *       its own, and parses that array with aliasing on: bytes fields of the decoded message are views of that
 *       array, not further copies. (protobuf-java 4.x has no public parser that reads a direct buffer in place:
 *       {@code parser.parseFrom(ByteBuffer)} on a direct buffer copies it into an array and then copies each bytes
 *       field out again, twice the memory for a large {@code bytes} payload. Aliasing over the pooled buffer itself
 *       would be wrong, since it is reused once decoding returns.) So a decoded message holds no reference to
 *       Baton's buffers, and a bytes field keeps the payload's array reachable: keep a small field of a large
 *       message with {@code ByteString.copyFrom(field.toByteArray())} to let the rest go.</li>
 * </ul>
 *
 * <h2>Failures</h2>
 * A payload the parser refuses (not protobuf, truncated, missing required fields) fails decoding with the parser's
 * {@link com.google.protobuf.InvalidProtocolBufferException}, which Baton reports as INVALID_ARGUMENT to the caller
 * when a server cannot decode a request, and as INTERNAL to a caller that cannot decode a response; a null value
 * fails encoding. See {@link Codec}.
 *
 * <p>Immutable and thread-safe (protobuf messages and parsers are).
 *
 * @param <T> the message type
 */
public final class ProtobufCodec<T extends MessageLite> implements Codec<T> {

    private final Parser<T> parser;
    private final String type;

    private ProtobufCodec(Parser<T> parser, String type) {
        this.parser = parser;
        this.type = type;
    }

    /** A codec that parses with {@code parser}, such as {@code GetRequest.parser()}. */
    public static <T extends MessageLite> ProtobufCodec<T> of(Parser<T> parser) {
        return new ProtobufCodec<>(Objects.requireNonNull(parser, "parser"), null);
    }

    /** A codec for the type of {@code defaultInstance}, such as {@code GetRequest.getDefaultInstance()}. */
    public static <T extends MessageLite> ProtobufCodec<T> of(T defaultInstance) {
        Objects.requireNonNull(defaultInstance, "defaultInstance");
        @SuppressWarnings("unchecked")      // a generated message's parser parses its own type
        Parser<T> parser = (Parser<T>) defaultInstance.getParserForType();
        return new ProtobufCodec<>(parser, defaultInstance.getClass().getName());
    }

    /** The parser this codec decodes with. */
    public Parser<T> parser() {
        return parser;
    }

    @Override
    public ByteBuffer encode(T value) throws Exception {
        Objects.requireNonNull(value, "a null protobuf message cannot be encoded");
        int size = value.getSerializedSize();
        ByteBuffer out = ByteBuffer.allocate(size);
        CodedOutputStream stream = CodedOutputStream.newInstance(out);
        value.writeTo(stream);
        stream.flush();
        stream.checkNoSpaceLeft();      // the message wrote exactly what it said it would
        return out.clear();
    }

    @Override
    public T decode(Message message) throws Exception {
        // The one copy: out of a buffer Baton reuses, into an array nobody else holds or writes, hence safe to alias.
        CodedInputStream input = UnsafeByteOperations.unsafeWrap(message.toByteArray()).newCodedInput();
        input.enableAliasing(true);
        T value = parser.parseFrom(input);
        input.checkLastTagWas(0);       // the whole payload was one message (as parseFrom(byte[]) checks)
        return value;
    }

    @Override
    public String toString() {
        return "ProtobufCodec[" + (type != null ? type : parser) + "]";
    }
}
