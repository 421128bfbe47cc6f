package dev.baton;

/**
 * The handler's side of a stream ({@link Server.Builder#stream}). The handler receives the caller's messages until
 * {@link #receive()} returns null (the caller half-closed), sends its own, and ends the stream by returning
 * (success: the caller's {@code receive} returns null after the last message) or by throwing (the caller gets
 * HANDLER_FAILED, or the {@link BatonException}'s status). Messages sent before the handler returns reach the caller
 * before the end.
 *
 * <p>When the caller cancels, or the deadline passes, {@code send} and {@code receive} throw CANCELLED or
 * DEADLINE_EXCEEDED and {@link #call()}'s {@link ServerCall#isCancelled()} turns true.
 */
public interface ServerStream extends MessageStream {

    /**
     * The call that opened the stream: its method, source rank, deadline, cancellation, metadata, and
     * {@link ServerCall#childOptions()} for the calls the handler makes. Answer through the stream, never through it.
     */
    ServerCall call();

    /** Sets the metadata the stream ends with (the caller's {@link ClientStream#trailers()}); before returning. */
    void trailers(Metadata trailers);
}
