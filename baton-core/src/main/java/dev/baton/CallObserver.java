package dev.baton;

/**
 * Told how one call ended: what a {@link ClientInterceptor} or {@link ServerInterceptor} returns to follow the
 * call it saw start (to end a span, record a latency, log a failure).
 *
 * <p>Called exactly once per call it was returned for, on the thread that completed the call (an I/O thread, a
 * handler's thread, the caller's own): keep it short and never block in it. An exception it throws is logged and
 * ignored. Observers of one call run in the reverse order of their interceptors, so the first interceptor sees the
 * end last, as calls nest.
 */
@FunctionalInterface
public interface CallObserver {

    /**
     * The call ended with {@code status} ({@link Status#OK} on success; a cancelled or expired call ends with
     * CANCELLED or DEADLINE_EXCEEDED). {@code responseMetadata} is what the server sent with its answer,
     * {@link Metadata#EMPTY} when none (or no answer came).
     */
    void onEnd(Status status, Metadata responseMetadata);
}
