package dev.baton;

/**
 * Serves the streams of one method ({@link Server.Builder#stream}). Runs on the node's handler executor (a virtual
 * thread unless configured otherwise), so it may block in {@link ServerStream#receive} and
 * {@link ServerStream#send}; the stream ends when it returns (success) or throws (the error reaches the caller).
 */
@FunctionalInterface
public interface StreamHandler {
    void handle(ServerStream stream) throws Exception;
}
