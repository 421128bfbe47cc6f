package dev.baton;

import java.nio.ByteBuffer;

/**
 * One side of a stream: messages in both directions, in order, with flow control. {@link ClientStream} is the
 * caller's side ({@link Client#openStream}), {@link ServerStream} the handler's ({@link Server.Builder#stream}).
 *
 * <h2>Flow control</h2>
 * Each side may have at most {@value #WINDOW} bytes of messages sent that the other has not yet received (taken with
 * {@link #receive}); a larger message goes alone. {@link #send} waits for room, up to the stream's deadline: a slow
 * reader therefore bounds its writer's memory, on both sides, whatever the number of messages.
 *
 * <h2>Threads</h2>
 * One thread at a time may send, and one (the same or another) may receive. {@link #send} copies the message, so its
 * buffer may be reused at once.
 */
public interface MessageStream {

    /** Bytes a side may have in flight to the other, not yet received. */
    int WINDOW = 1 << 20;

    /**
     * Sends one message: waits until the peer has room for it (flow control), then queues a copy. Throws
     * {@link BatonException} when the stream has failed, been cancelled, ended or reached its deadline (that status),
     * or when this side already finished sending (CLOSED).
     */
    void send(ByteBuffer message);

    /** Sends {@code message}'s bytes. */
    default void send(byte[] message) {
        send(ByteBuffer.wrap(message));
    }

    /**
     * The next message from the other side, waiting for it up to the stream's deadline; null once the other side
     * has finished sending and every message was received. The message is the caller's: close it when done. Throws
     * {@link BatonException} when the stream failed, was cancelled, or its deadline passed.
     */
    Message receive();

    /** The metadata the stream was opened with (the caller's request metadata); {@link Metadata#EMPTY} for none. */
    Metadata metadata();

    /** The deadline on this process's {@link System#nanoTime()} clock. */
    long deadlineNanos();
}
