package dev.baton;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Calls the servers of one named service. Obtained from {@link Node#client(String)}; cheap, immutable and
 * thread-safe: share one per service (derive per-call variants with {@link #withOptions}).
 *
 * <h2>Completion</h2>
 * Every call completes exactly once: with its response, or with a {@link BatonException} whose status says
 * why (NO_SUCH_SERVICE, NO_SUCH_SERVER, NO_SUCH_RANK, DEADLINE_EXCEEDED, UNAVAILABLE, HANDLER_FAILED,
 * MESSAGE_TOO_LARGE, RESOURCE_EXHAUSTED, ...), and {@link Status#retrySafe()} says whether it is known not to have
 * run. A call the server refused before any handler saw it moves to another server of the service when it named
 * none. A response that arrives after its call completed is dropped.
 * Cancelling the returned future cancels the call: the future is cancelled ({@code get()} throws
 * {@link java.util.concurrent.CancellationException}, as {@link java.util.concurrent.Future} specifies) and, if the
 * request was sent, the server is told (its {@link ServerCall#isCancelled()} turns true and the request's slot is
 * freed). Interrupting a thread blocked in {@link #call(int, ByteBuffer)} fails it with CANCELLED.
 *
 * <h2>Three ways to call</h2>
 * <ul>
 *   <li>{@link #call(int, ByteBuffer)}: blocks for the response, which the caller owns and closes;</li>
 *   <li>{@link #callAsync(int, ByteBuffer)}: a {@link CompletableFuture} (allocates the future and the
 *       response object; composable, cancellable);</li>
 *   <li>{@link #call(int, ByteBuffer, CallOptions, ResponseListener)}: a callback that borrows the response;
 *       nothing is allocated per call, the way to run millions of calls per second.</li>
 * </ul>
 *
 * <h2>Buffers</h2>
 * The request buffer is sent from in place (no copy for large payloads) and must not be modified until the
 * call completes. The response {@link Message} lends a pooled buffer: close it when done.
 *
 * <h2>Back-pressure</h2>
 * When the requests queued to a peer pass {@link NodeOptions#maxQueuedBytesPerPeer()} or
 * {@link NodeOptions#maxQueuedFramesPerPeer()}, or the peer already has as many of this node's two-way calls as
 * it serves at once (its {@link NodeOptions#maxConcurrentRequestsPerConnection()}, told in the handshake), a call
 * waits for room, up to its deadline, in whichever method started it ({@code callAsync} and {@code oneWay}
 * included); with {@link CallOptions#withFailFast(boolean) failFast} it fails at once with RESOURCE_EXHAUSTED
 * (retry-safe) instead. The first call on a new connection also waits for its handshake. Calls made on an I/O
 * thread (from an inline handler) always fail fast.
 *
 * <h2>Threads</h2>
 * Asynchronous completions run on the I/O thread that read the response (or, in process, the handler's
 * thread): keep dependent stages short, or use the {@code *Async} variants of {@link CompletableFuture}.
 * Blocking calls spin briefly before parking.
 *
 * <h2>Typed methods</h2>
 * The methods that take a {@link MethodDescriptor} call by name and type, {@code client.call(Echo.SAY, "hi")}: each
 * is one untyped call of the descriptor's number, with its codecs on either side ({@link Codec}, {@link Codecs}).
 */
public interface Client {

    /** The service this client calls. */
    String service();

    /** The options applied to calls that pass none. */
    CallOptions options();

    /** A client for the same service whose calls use {@code options} by default. */
    Client withOptions(CallOptions options);

    /**
     * A client for the same service whose calls also pass through {@code interceptors}, after the node's and this
     * client's own, in the order given ({@link ClientInterceptor}).
     */
    Client withInterceptors(ClientInterceptor... interceptors);

    /** The servers currently known for the service. */
    List<ServerInfo> servers();

    /**
     * Waits until at least {@code count} servers of the service are known, and returns them.
     * Throws {@link BatonException} with DEADLINE_EXCEEDED if they are not known within {@code timeout}.
     */
    List<ServerInfo> awaitServers(int count, Duration timeout) throws InterruptedException;

    CompletableFuture<Message> callAsync(int method, ByteBuffer request, CallOptions options);

    default CompletableFuture<Message> callAsync(int method, ByteBuffer request) {
        return callAsync(method, request, options());
    }

    default CompletableFuture<Message> callAsync(int method, byte[] request) {
        return callAsync(method, ByteBuffer.wrap(request), options());
    }

    default CompletableFuture<Message> callAsync(int method, MemorySegment request) {
        return callAsync(method, request.asByteBuffer(), options());
    }

    /**
     * Calls without allocating: the outcome goes to {@code listener}, which gets the response lent for the
     * duration of {@link ResponseListener#onResponse} (see {@link ResponseListener} for threads and rules).
     * Errors known before anything is sent (no such service, too large, closed node) reach the listener
     * too, on this thread, before this method returns. The call ends at its deadline at the latest; it has no
     * handle to cancel it by (use {@link #callAsync} for that).
     */
    void call(int method, ByteBuffer request, CallOptions options, ResponseListener listener);

    default void call(int method, ByteBuffer request, ResponseListener listener) {
        call(method, request, options(), listener);
    }

    /** Calls and waits for the response (or the deadline). Throws {@link BatonException} on failure. */
    Message call(int method, ByteBuffer request, CallOptions options);

    default Message call(int method, ByteBuffer request) {
        return call(method, request, options());
    }

    default Message call(int method, MemorySegment request) {
        return call(method, request.asByteBuffer(), options());
    }

    /** Calls and returns a copy of the response bytes. */
    default byte[] call(int method, byte[] request) {
        try (Message m = call(method, ByteBuffer.wrap(request), options())) {
            return m.toByteArray();
        }
    }

    /**
     * Opens a stream to {@code method} of a server of the service (one that registered it with
     * {@link Server.Builder#stream}): messages both ways with flow control, until the server ends it, it fails, it is
     * cancelled, or {@code options}' deadline passes (the whole stream's). Chosen like a call's server (by server id,
     * rank or round robin), then fixed: a stream never moves to another server, and one whose connection breaks
     * fails with UNAVAILABLE. Interceptors see it as a call of {@code method}, its observers are told how it ended.
     *
     * @throws BatonException when it cannot be opened at all: no such service, server or rank, a peer of protocol
     *                        version 3 or older (UNIMPLEMENTED), a closed node (all retry-safe)
     */
    ClientStream openStream(int method, CallOptions options);

    default ClientStream openStream(int method) {
        return openStream(method, options());
    }

    /**
     * Sends a request that expects no response. Returns once the request is queued (or throws
     * {@link BatonException} if it cannot be, e.g. no server or too large).
     */
    void oneWay(int method, ByteBuffer request, CallOptions options);

    default void oneWay(int method, ByteBuffer request) {
        oneWay(method, request, options());
    }

    // ------------------------------------------------------------------ typed methods

    /**
     * Calls a {@link MethodDescriptor typed method} and waits for its response: the request is encoded with the
     * method's request codec (without a copy where the codec allows, see {@link Codecs}), sent as an untyped call of
     * the method's number with {@code options} (made idempotent when the method is), and the response decoded with
     * its response codec, after which the response message is closed, unless that codec keeps it
     * ({@link Codec#ownsMessage()}: {@link Codecs#message()}, whose value the caller closes).
     *
     * <p>Throws {@link BatonException} as an untyped call does, and for codec failures: INVALID_ARGUMENT (retry-safe,
     * nothing sent) when the request cannot be encoded, INTERNAL when the response cannot be decoded; each
     * description names the method.
     */
    default <Req, Resp> Resp call(MethodDescriptor<Req, Resp> method, Req request, CallOptions options) {
        return TypedCalls.call(this, method, request, options);
    }

    /** {@link #call(MethodDescriptor, Object, CallOptions)} with this client's {@link #options()}. */
    default <Req, Resp> Resp call(MethodDescriptor<Req, Resp> method, Req request) {
        return TypedCalls.call(this, method, request, options());
    }

    /**
     * Calls a typed method asynchronously, as {@link #call(MethodDescriptor, Object, CallOptions)} does, and returns
     * its response's future: cancelling it cancels the call. A request that cannot be encoded gives a failed future
     * (INVALID_ARGUMENT, retry-safe); the response is decoded on the thread that completes the untyped call (an I/O
     * thread: keep codecs quick).
     */
    default <Req, Resp> CompletableFuture<Resp> callAsync(MethodDescriptor<Req, Resp> method, Req request,
                                                          CallOptions options) {
        return TypedCalls.callAsync(this, method, request, options);
    }

    /** {@link #callAsync(MethodDescriptor, Object, CallOptions)} with this client's {@link #options()}. */
    default <Req, Resp> CompletableFuture<Resp> callAsync(MethodDescriptor<Req, Resp> method, Req request) {
        return TypedCalls.callAsync(this, method, request, options());
    }

    /**
     * Sends a typed method's request expecting no response, as {@link #oneWay(int, ByteBuffer, CallOptions)} does;
     * throws INVALID_ARGUMENT (retry-safe) when the request cannot be encoded.
     */
    default <Req> void oneWay(MethodDescriptor<Req, ?> method, Req request, CallOptions options) {
        TypedCalls.oneWay(this, method, request, options);
    }

    /** {@link #oneWay(MethodDescriptor, Object, CallOptions)} with this client's {@link #options()}. */
    default <Req> void oneWay(MethodDescriptor<Req, ?> method, Req request) {
        TypedCalls.oneWay(this, method, request, options());
    }
}
