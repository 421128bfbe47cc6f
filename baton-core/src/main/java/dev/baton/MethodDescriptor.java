package dev.baton;

import java.util.Objects;

/**
 * A method of a service, typed: its number (what travels on the wire), a name for people (logs, errors), the
 * codecs of its request and response, and whether it is idempotent. Declare each once, next to the service, and
 * use it on both sides:
 *
 * <pre>{@code
 * final class Echo {
 *     static final MethodDescriptor<String, String> SAY =
 *             MethodDescriptor.of(0, "echo.say", Codecs.utf8(), Codecs.utf8()).withIdempotent(true);
 * }
 * node.newServer("echo").inline(Echo.SAY, (text, call) -> text).start();     // the server
 * String answer = client.call(Echo.SAY, "hello");                             // a caller
 * }</pre>
 *
 * <p>Typed methods are built on the untyped API ({@link Client#call(int, java.nio.ByteBuffer, CallOptions)},
 * {@link Server.Builder#inline(int, Handler)}) and are interchangeable with it on the wire: only the number
 * travels, so an untyped caller can call a typed server and the reverse. Two descriptors with the same number and
 * different codecs on the two sides are not detected: the receiving codec fails (below) or, worse, succeeds on
 * bytes it misreads. A server refuses a second handler for a number it already has, whatever the names
 * ({@link Server.Builder#inline(MethodDescriptor, TypedHandler)}).
 *
 * <h2>Failures</h2>
 * Every failure of a codec becomes a {@link BatonException} whose description names the method
 * ({@link #toString()}) and the codec's error:
 * <table>
 *   <caption>Codec failures</caption>
 *   <tr><th>what failed</th><th>code</th><th>retry-safe</th></tr>
 *   <tr><td>the caller's request codec: nothing is sent</td><td>INVALID_ARGUMENT</td><td>yes</td></tr>
 *   <tr><td>the server's request codec: the handler does not run</td><td>INVALID_ARGUMENT</td><td>no (the caller
 *       cannot tell from the wire; sending the same bytes again fails again)</td></tr>
 *   <tr><td>the server's response codec: the handler ran</td><td>HANDLER_FAILED</td><td>no</td></tr>
 *   <tr><td>the caller's response codec: the response is released</td><td>INTERNAL</td><td>no</td></tr>
 * </table>
 *
 * <p>Immutable and thread-safe.
 *
 * @param <Req>  the request type
 * @param <Resp> the response type
 */
public final class MethodDescriptor<Req, Resp> {

    /** The largest method number (the wire's field is 16 bits). */
    public static final int MAX_ID = 0xFFFF;
    /** The longest name, in characters. */
    public static final int MAX_NAME_LENGTH = 255;

    private final int id;
    private final String name;
    private final Codec<Req> requestCodec;
    private final Codec<Resp> responseCodec;
    private final boolean idempotent;

    private MethodDescriptor(int id, String name, Codec<Req> requestCodec, Codec<Resp> responseCodec,
                             boolean idempotent) {
        this.id = id;
        this.name = name;
        this.requestCodec = requestCodec;
        this.responseCodec = responseCodec;
        this.idempotent = idempotent;
    }

    /**
     * A method that is not idempotent (see {@link #withIdempotent}).
     *
     * @param id            the method number, 0 to {@value #MAX_ID}
     * @param name          1 to {@value #MAX_NAME_LENGTH} characters of {@code A-Z a-z 0-9 . _ - /}, such as
     *                      {@code "echo.say"}
     * @throws IllegalArgumentException for an id or a name out of these bounds
     */
    public static <Req, Resp> MethodDescriptor<Req, Resp> of(int id, String name, Codec<Req> requestCodec,
                                                             Codec<Resp> responseCodec) {
        if (id < 0 || id > MAX_ID) {
            throw new IllegalArgumentException("method id must be between 0 and " + MAX_ID + ", was " + id);
        }
        checkName(name);
        return new MethodDescriptor<>(id, name, Objects.requireNonNull(requestCodec, "requestCodec"),
                Objects.requireNonNull(responseCodec, "responseCodec"), false);
    }

    private static void checkName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("method name must be 1 to " + MAX_NAME_LENGTH + " characters, was "
                    + name.length());
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '.' || c == '_' || c == '-' || c == '/';
            if (!ok) {
                throw new IllegalArgumentException("method name may hold only A-Z a-z 0-9 . _ - /, \"" + name
                        + "\" has '" + c + "' at " + i);
            }
        }
    }

    /**
     * A copy that is (or is not) idempotent: safe to run twice. A typed call of an idempotent method goes out with
     * {@link CallOptions#withIdempotent idempotent} options, so a call whose connection breaks after it was
     * written is sent again to another server (docs/failure-semantics.md); a call is idempotent when its
     * descriptor or its options say so.
     */
    public MethodDescriptor<Req, Resp> withIdempotent(boolean idempotent) {
        return idempotent == this.idempotent ? this
                : new MethodDescriptor<>(id, name, requestCodec, responseCodec, idempotent);
    }

    /** The method number, sent on the wire. */
    public int id() {
        return id;
    }

    /** The method's name, for people: it never travels on the wire. */
    public String name() {
        return name;
    }

    /** The codec of requests. */
    public Codec<Req> requestCodec() {
        return requestCodec;
    }

    /** The codec of responses. */
    public Codec<Resp> responseCodec() {
        return responseCodec;
    }

    /** True when the method may safely run twice. */
    public boolean idempotent() {
        return idempotent;
    }

    /** The name and the number, such as {@code echo.say (#0)}: how errors name the method. */
    @Override
    public String toString() {
        return name + " (#" + id + ")";
    }
}
