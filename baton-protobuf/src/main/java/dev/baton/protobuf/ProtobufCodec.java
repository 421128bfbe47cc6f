package dev.baton.protobuf;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;

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
 *   <li>Decoding parses the received payload in place: a payload received from another node sits in a pooled direct
 *       buffer, which is parsed without being copied first. Bytes and string fields are copied out of it (the
 *       parser's aliasing stays off), since the buffer goes back to the pool once decoding returns. A payload that
 *       was never copied into a direct buffer (in process, the sender's own heap buffer) is copied once by the
 *       parser.</li>
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
        return parser.parseFrom(message.buffer());
    }

    @Override
    public String toString() {
        return "ProtobufCodec[" + (type != null ? type : parser) + "]";
    }
}
