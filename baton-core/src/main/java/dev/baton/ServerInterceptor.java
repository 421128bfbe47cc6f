package dev.baton;

/**
 * Sees every request a server accepts before its handler (or dealer) does, and how it ends: to check
 * credentials carried in {@link ServerCall#metadata()}, start a span, log, count. Registered for every server of a
 * node ({@link NodeOptions.Builder#serverInterceptor}) or for one server ({@link Server.Builder#intercept}); the
 * node's run first, then the server's, each in the order added.
 *
 * <p>Runs on the thread that dispatches the request (an I/O thread, or an in-process caller's) for methods the
 * server has (a request for a missing method is refused before any interceptor sees it); it must be quick and must
 * not block. It may set {@link ServerCall#responseMetadata}, or refuse the request by throwing a
 * {@link BatonException}: the caller gets that status, the handler never runs, and the interceptors after it never
 * see the request. Any other exception fails the request with INTERNAL. A server without interceptors pays nothing
 * for them.
 *
 * <p>Thread-safe: one instance sees requests from many threads at once.
 */
@FunctionalInterface
public interface ServerInterceptor {

    /**
     * A request is about to reach its handler. Returns an observer told once how it ends (answered, failed,
     * cancelled or expired), or null.
     */
    CallObserver interceptCall(ServerCall call);
}
