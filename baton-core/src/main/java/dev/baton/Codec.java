package dev.baton;

import java.nio.ByteBuffer;

/**
 * Turns values of one type into a payload and back, for {@link MethodDescriptor typed methods}. {@link Codecs} has
 * codecs for byte arrays, byte buffers, strings, {@link Message}s and no value; {@code baton-protobuf} has one for
 * protobuf messages. Implementations must be thread-safe (one instance serves every call of its methods at once)
 * and should be stateless.
 *
 * <h2>Encoding</h2>
 * {@link #encode} returns a buffer whose remaining bytes are the payload. Baton sends them without copying large
 * payloads (see {@link Client}), so the buffer may be a view of the value's own memory, as
 * {@link Codecs#byteBuffer()} and {@link Codecs#message()} return: the caller (or handler) then must not modify the
 * value until the call completes (or the answer is sent), exactly as with an untyped call. Baton reads the returned
 * buffer's position and limit once and does not change the value's.
 *
 * <h2>Decoding and ownership</h2>
 * {@link #decode} is called with a message that is valid only during the call, unless the codec
 * {@link #ownsMessage() owns} it:
 * <ul>
 *   <li>A codec that does not own the message (the default) must copy what it keeps: the message's buffer goes back
 *       to Baton's pool after {@code decode} returns (on the caller's side Baton closes the response; on the server's
 *       side the request is released once the call is answered) and is then reused for another message. Reading the
 *       message's buffer in place while decoding is fine, and is what keeps decoding large payloads cheap.</li>
 *   <li>A codec whose {@link #ownsMessage()} is true keeps the message itself. On the caller's side the response
 *       {@link Message} is then the decoded value's to release: Baton does not close it, and whoever holds the
 *       decoded value must close it when done (otherwise its pooled buffer is left to the garbage collector). On the
 *       server's side a request is always lent (see {@link ServerCall#request()}): it stays valid until the call is
 *       answered, and closing it does nothing.</li>
 * </ul>
 *
 * <h2>Failures</h2>
 * A codec reports a value it cannot encode or bytes it cannot decode by throwing any exception; Baton turns it into
 * a {@link BatonException} that names the method: INVALID_ARGUMENT when the caller's request cannot be encoded
 * (retry-safe: nothing was sent) or the server cannot decode it (the handler does not run), HANDLER_FAILED when the
 * server's response cannot be encoded, INTERNAL when the caller cannot decode the response. See
 * {@link MethodDescriptor}.
 *
 * @param <T> the type of the values
 */
public interface Codec<T> {

    /**
     * The payload for {@code value}: the returned buffer's remaining bytes. May be a view of {@code value}'s own
     * memory (no copy). Called on the thread that makes the call, or that returns the handler's result.
     */
    ByteBuffer encode(T value) throws Exception;

    /**
     * The value in {@code message}'s payload. Unless {@link #ownsMessage()} is true, the message is valid only until
     * this method returns: copy what you keep.
     */
    T decode(Message message) throws Exception;

    /**
     * True when {@link #decode} keeps the message it is given, so that a caller's response stays valid (and
     * unclosed) after decoding; its holder then closes it. False by default: Baton releases the message after
     * decoding.
     */
    default boolean ownsMessage() {
        return false;
    }
}
