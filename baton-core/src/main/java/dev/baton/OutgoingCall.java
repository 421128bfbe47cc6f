package dev.baton;

/**
 * A call that is starting, as a {@link ClientInterceptor} sees it: its service, method and options, which the
 * interceptor may replace (most often to add {@link Metadata}). Valid only during
 * {@link ClientInterceptor#interceptCall}; not thread-safe.
 */
public interface OutgoingCall {

    /** The service called. */
    String service();

    /** The method number. */
    int method();

    /** The options the call goes out with, as the interceptors before this one left them. */
    CallOptions options();

    /** Sends the call with {@code options} instead (the next interceptors see them). */
    void options(CallOptions options);

    /** Adds (or replaces) one text entry of the request's metadata. */
    default void putMetadata(String key, String value) {
        CallOptions o = options();
        options(o.withMetadata(o.metadata().with(key, value)));
    }

    /** Adds (or replaces) one binary entry of the request's metadata. */
    default void putBinaryMetadata(String key, byte[] value) {
        CallOptions o = options();
        options(o.withMetadata(o.metadata().withBinary(key, value)));
    }
}
