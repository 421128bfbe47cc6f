package dev.baton;

/**
 * Handles the requests of one method. It answers through {@link ServerCall#reply} (now, or later from any
 * thread) or {@link ServerCall#fail}; an exception it throws before answering fails the call with
 * {@link Status.Code#HANDLER_FAILED} and the exception's message.
 *
 * <p>Where it runs is chosen at registration: {@link Server.Builder#inline} runs it on the I/O thread that
 * read the request (lowest latency; it must not block) or, for a caller in the same process, on the
 * caller's thread; {@link Server.Builder#blocking} on the node's handler executor (virtual threads unless
 * configured otherwise).
 */
@FunctionalInterface
public interface Handler {
    void handle(ServerCall call) throws Exception;
}
