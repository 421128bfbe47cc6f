package dev.baton;

import java.time.Duration;

/**
 * A registered server instance of a named service, hosted by a {@link Node}. Created with
 * {@link Node#newServer(String)}; visible to every node's clients once {@link Builder#start()} returns and
 * the registration has propagated.
 *
 * <p>Thread-safe. {@link #close()} deregisters it: clients stop choosing it, requests that still arrive are refused
 * (retry-safe: the caller moves them to another server), requests already received are still answered, and
 * dealers' {@code recvRequest} keeps handing out queued requests and returns null once the queue is drained.
 * What no dealer took within the node's {@link NodeOptions#drainTimeout()} is refused then (retry-safe: it never
 * ran). {@code close} does not wait for the drain.
 */
public interface Server extends AutoCloseable {

    /** The service name. */
    String service();

    /** This server's id within its service. */
    int serverId();

    /** The service's numeric id. */
    int serviceId();

    /** The node that hosts it. */
    Node node();

    /** A new dealer over this server's request queue. */
    Dealer dealer();

    @Override
    void close();

    /**
     * Configures a server before registering it. Not thread-safe; use from one thread.
     *
     * <pre>{@code
     * Server echo = node.newServer("echo")
     *     .inline(0, call -> call.reply(call.request().buffer()))
     *     .blocking(1, call -> call.reply(compute(call.request())))
     *     .start();
     * }</pre>
     */
    interface Builder {

        /** Asks for a specific server id; {@link Status.Code#ALREADY_EXISTS} at start if it is taken. */
        Builder serverId(int serverId);

        /** Runs {@code handler} for {@code method} on the I/O thread. For short, non-blocking handlers. */
        Builder inline(int method, Handler handler);

        /** Runs {@code handler} for {@code method} on the node's handler executor; it may block. */
        Builder blocking(int method, Handler handler);

        /** Invokes {@code handler} on the I/O thread and answers when its stage completes. */
        Builder async(int method, AsyncHandler handler);

        /**
         * Serves the streams opened to {@code method} ({@link Client#openStream}) with {@code handler}, on the node's
         * handler executor. A stream method takes no calls, and a call method no streams (NO_SUCH_METHOD).
         */
        Builder stream(int method, StreamHandler handler);

        /**
         * Runs {@code handler} for the typed {@code method} on the I/O thread, as {@link #inline(int, Handler)}: the
         * request is decoded with the method's request codec (INVALID_ARGUMENT to the caller, the handler not run,
         * when it cannot be), and the value returned encoded with its response codec (HANDLER_FAILED when it cannot
         * be). Throws {@link IllegalArgumentException}, naming the method, when its number already has a handler.
         */
        default <Req, Resp> Builder inline(MethodDescriptor<Req, Resp> method, TypedHandler<Req, Resp> handler) {
            return TypedCalls.register(method, handler, () -> inline(method.id(), TypedCalls.handler(method, handler)));
        }

        /**
         * Runs {@code handler} for the typed {@code method} on the node's handler executor (it may block); see
         * {@link #inline(MethodDescriptor, TypedHandler)}.
         */
        default <Req, Resp> Builder blocking(MethodDescriptor<Req, Resp> method, TypedHandler<Req, Resp> handler) {
            return TypedCalls.register(method, handler,
                    () -> blocking(method.id(), TypedCalls.handler(method, handler)));
        }

        /**
         * Invokes {@code handler} for the typed {@code method} on the I/O thread and answers with its stage's value,
         * encoded; see {@link #inline(MethodDescriptor, TypedHandler)}.
         */
        default <Req, Resp> Builder async(MethodDescriptor<Req, Resp> method, TypedAsyncHandler<Req, Resp> handler) {
            return TypedCalls.register(method, handler, () -> async(method.id(), TypedCalls.async(method, handler)));
        }

        /**
         * Adds an interceptor of this server's requests; it runs after the node's, in the order added
         * ({@link ServerInterceptor}).
         */
        Builder intercept(ServerInterceptor interceptor);

        /** Capacity of the queue that feeds {@link Dealer}s (requests for methods without a handler). */
        Builder dealerQueueCapacity(int capacity);

        /** Registers the server with the registry and returns it, or throws {@link BatonException}. */
        Server start();

        /** Like {@link #start()} with a bound on the registration's wait. */
        Server start(Duration timeout);
    }
}
