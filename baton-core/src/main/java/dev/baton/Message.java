package dev.baton;

import dev.baton.spi.BufferRecycler;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * A received payload: a request as a handler sees it, or a response as a caller sees it.
 *
 * <p>Bytes received from the network sit in a pooled direct buffer, which this object lends to you without a
 * copy. {@link #close()} gives the buffer back to the pool; it is optional (an unclosed message is reclaimed
 * by the garbage collector, the pool just misses it) but it is what keeps a busy process free of garbage.
 * Do not read a message after closing it. On the in-process path the message is the caller's (or handler's)
 * own buffer: it was never copied.
 *
 * <p>Not thread-safe for concurrent reading through {@link #buffer()} positions; the views it returns are
 * independent, so hand each thread its own {@code buffer()}.
 */
public final class Message implements AutoCloseable {

    private static final ByteBuffer EMPTY_BUFFER = ByteBuffer.allocate(0).asReadOnlyBuffer();
    private static final AtomicIntegerFieldUpdater<Message> CLOSED =
            AtomicIntegerFieldUpdater.newUpdater(Message.class, "closed");

    private final ByteBuffer data;
    private final BufferRecycler recycler;
    private volatile int closed;

    private Message(ByteBuffer data, BufferRecycler recycler) {
        this.data = data;
        this.recycler = recycler;
    }

    /** A message over {@code buffer}'s remaining bytes, with nothing to recycle. Does not copy. */
    public static Message wrap(ByteBuffer buffer) {
        return new Message(buffer.slice(), null);
    }

    /** A message over {@code bytes}. Does not copy. */
    public static Message wrap(byte[] bytes) {
        return new Message(ByteBuffer.wrap(bytes), null);
    }

    /**
     * For transports: a message over {@code buffer}'s [0, size) whose buffer goes back to {@code recycler}
     * on {@link #close()}.
     */
    public static Message pooled(ByteBuffer buffer, int size, BufferRecycler recycler) {
        return new Message(buffer.limit(size).position(0), recycler);
    }

    /** An empty message. */
    public static Message empty() {
        return new Message(EMPTY_BUFFER, null);
    }

    /** The payload size in bytes. */
    public int size() {
        return data.limit() - data.position();
    }

    /** A new read-only view of the payload, positioned at its first byte. Never copies. */
    public ByteBuffer buffer() {
        return data.asReadOnlyBuffer();
    }

    /** The payload as a memory segment (read-only), without a copy. */
    public MemorySegment segment() {
        return MemorySegment.ofBuffer(data.slice()).asReadOnly();
    }

    /** A copy of the payload. */
    public byte[] toByteArray() {
        byte[] out = new byte[size()];
        data.get(data.position(), out);
        return out;
    }

    /** Returns the buffer to its pool. Idempotent. */
    @Override
    public void close() {
        if (CLOSED.compareAndSet(this, 0, 1) && recycler != null) {
            recycler.recycle(data);
        }
    }

    @Override
    public String toString() {
        return "Message[" + size() + " bytes]";
    }
}
