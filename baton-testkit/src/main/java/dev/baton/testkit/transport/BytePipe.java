package dev.baton.testkit.transport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One direction of a loopback connection: a bounded ring of bytes from the writer role of one
 * {@link LoopbackConnection} to the reading role of the other, standing in for a socket's send and receive
 * buffers. Because it is bounded, a writer meets what a TCP writer meets: partial writes, a full sink, and a
 * wait for room ({@link #awaitRoom()}) that the reader ends by taking bytes.
 *
 * <pre>
 *            readPosition                 writePosition
 *                 v                             v
 *   ring: ... ----[ bytes the reader has not read ]---- free ...   (positions grow forever; index = pos & mask)
 * </pre>
 *
 * <p>Each end tells the other: bytes written wake the reading connection ({@link LoopbackConnection#READABLE}),
 * room made for a waiting writer wakes the writing one ({@link LoopbackConnection#WRITABLE}). Closing the writing
 * end is a FIN (the reader drains what was written, then reads end of stream); closing the reading end is a reset
 * (the next write fails).
 *
 * <p>Thread-safety: one writer at a time and one reader at a time. The connection core serialises each role and
 * hands it between threads with a happens-before edge; the positions are volatile, so the reader sees the bytes
 * before the position that covers them, and the writer sees room only once the reader is done with it. Either end
 * may close from any thread. Allocates nothing after construction.
 */
final class BytePipe {

    private final ByteBuffer ring;
    private final int capacity;
    private final int mask;
    private volatile long readPosition;      // advanced by the reader only
    private volatile long writePosition;     // advanced by the writer only
    private volatile boolean writerClosed;
    private volatile boolean readerClosed;
    private final AtomicBoolean writerWaiting = new AtomicBoolean();
    // The two ends, set once before any byte moves (see LoopbackTransport.connect).
    private volatile LoopbackConnection writerEnd;
    private volatile LoopbackConnection readerEnd;

    /** @param capacity bytes the pipe holds; a power of two */
    BytePipe(int capacity) {
        if (Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two, was " + capacity);
        }
        this.ring = ByteBuffer.allocate(capacity);
        this.capacity = capacity;
        this.mask = capacity - 1;
    }

    void ends(LoopbackConnection writer, LoopbackConnection reader) {
        if (writer != null) {
            writerEnd = writer;
        }
        if (reader != null) {
            readerEnd = reader;
        }
    }

    // ------------------------------------------------------------------ the writer

    /**
     * Copies as much of {@code src} as there is room for; returns the bytes taken (0: the pipe is full). Does not
     * wake the reader: the caller calls {@link #published()} once after one or more writes.
     */
    int write(ByteBuffer src) throws IOException {
        if (readerClosed) {
            throw new IOException("connection reset: the peer closed it");
        }
        if (writerClosed) {
            throw new IOException("connection closed");
        }
        long w = writePosition;
        int free = capacity - (int) (w - readPosition);
        int n = Math.min(free, src.remaining());
        if (n == 0) {
            return 0;
        }
        int at = (int) (w & mask);
        int first = Math.min(n, capacity - at);
        int from = src.position();
        ring.put(at, src, from, first);
        if (n > first) {
            ring.put(0, src, from + first, n - first);
        }
        src.position(from + n);
        writePosition = w + n;      // publishes the bytes
        return n;
    }

    /** Wakes the reader after bytes were written. */
    void published() {
        LoopbackConnection reader = readerEnd;
        if (reader != null) {
            reader.signal(LoopbackConnection.READABLE);
        }
    }

    /**
     * The writer found the pipe full: it is woken ({@link LoopbackConnection#WRITABLE}) once the reader makes room,
     * or at once if it already has (or the reader is gone, so the next write fails instead of waiting forever).
     */
    void awaitRoom() {
        writerWaiting.set(true);
        // Set, then look: a reader that took bytes before the flag was visible is caught by this check.
        if ((hasRoom() || readerClosed) && writerWaiting.compareAndSet(true, false)) {
            wakeWriter();
        }
    }

    private boolean hasRoom() {
        return writePosition - readPosition < capacity;
    }

    /** FIN: the reader drains what was written, then reads end of stream. Idempotent; any thread. */
    void closeWriter() {
        writerClosed = true;
        published();
    }

    // ------------------------------------------------------------------ the reader

    /** Copies what has arrived into {@code dst}; returns the bytes read, 0 for none, -1 at end of stream. */
    int read(ByteBuffer dst) {
        boolean ended = writerClosed;       // read before the position: bytes written before a FIN are seen
        long r = readPosition;
        int available = (int) (writePosition - r);
        if (available == 0) {
            return ended ? -1 : 0;
        }
        int n = Math.min(available, dst.remaining());
        if (n == 0) {
            return 0;
        }
        int at = (int) (r & mask);
        int first = Math.min(n, capacity - at);
        int to = dst.position();
        dst.put(to, ring, at, first);
        if (n > first) {
            dst.put(to + first, ring, 0, n - first);
        }
        dst.position(to + n);
        readPosition = r + n;       // frees the room
        if (writerWaiting.get() && writerWaiting.compareAndSet(true, false)) {
            wakeWriter();
        }
        return n;
    }

    /** True when a read would return something: bytes, or the end of the stream. */
    boolean hasInput() {
        return writePosition != readPosition || writerClosed;
    }

    /** Reset: the writer's next write fails (and a waiting writer is woken to find out). Idempotent; any thread. */
    void closeReader() {
        readerClosed = true;
        if (writerWaiting.compareAndSet(true, false)) {
            wakeWriter();
        }
    }

    private void wakeWriter() {
        LoopbackConnection writer = writerEnd;
        if (writer != null) {
            writer.signal(LoopbackConnection.WRITABLE);
        }
    }
}
