package dev.baton;

/**
 * Sees every call a client makes before it is sent, and how it ends: for auth tokens, tracing, logging and
 * metrics. Registered for every client of a node ({@link NodeOptions.Builder#clientInterceptor}) or for one
 * client ({@link Client#withInterceptors}); the node's run first, then the client's, each in the order added.
 *
 * <p>Runs on the calling thread, before the call is routed; it must be quick and must not block. It may change the
 * call's options ({@link OutgoingCall#options(CallOptions)}, e.g. to add metadata), or refuse the call by throwing
 * a {@link BatonException}: the call then fails with that status (retry-safe: nothing was sent), and the
 * interceptors after it never see the call. Any other exception fails the call with INTERNAL. A client without
 * interceptors pays nothing for them.
 *
 * <p>Thread-safe: one instance sees calls from many threads at once.
 */
@FunctionalInterface
public interface ClientInterceptor {

    /**
     * A call is starting. Returns an observer told once how it ends, or null when the end does not interest this
     * interceptor.
     */
    CallObserver interceptCall(OutgoingCall call);
}
