package dev.baton;

/**
 * The caller's side of a stream ({@link Client#openStream}). Send messages, {@link #halfClose()} when there are no
 * more, and {@link #receive()} the server's until it returns null: the server ended the stream successfully, and
 * {@link #trailers()} holds the metadata it ended with. A stream the server ends with an error makes
 * {@code receive} (and {@code send}) throw that status.
 *
 * <p>Server streaming is a single {@code send} then {@code halfClose}; client streaming is many sends, then
 * {@code halfClose} and one {@code receive}. A stream lives until it ends, fails, is cancelled, or its deadline
 * passes (the whole stream's, from {@link CallOptions#timeout()}); {@link #close()} cancels one that is still open.
 * A stream whose connection breaks fails with UNAVAILABLE and is not re-sent (docs/failure-semantics.md#streams).
 */
public interface ClientStream extends MessageStream, AutoCloseable {

    /** Tells the server this side sends nothing more (it sees {@link ServerStream#receive()} return null). */
    void halfClose();

    /**
     * Cancels the stream: the server's side fails with CANCELLED, and so does this one. Does nothing once the stream
     * ended.
     */
    void cancel();

    /** True once the stream ended: successfully, with an error, or cancelled. */
    boolean isDone();

    /** The metadata the server ended the stream with; {@link Metadata#EMPTY} before the end or when none. */
    Metadata trailers();

    /** Cancels the stream if it has not ended. */
    @Override
    void close();
}
