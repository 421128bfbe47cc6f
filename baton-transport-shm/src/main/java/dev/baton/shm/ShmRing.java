package dev.baton.shm;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One direction of a shared-memory connection: a single-producer single-consumer ring of bytes in a mapping that
 * two processes share. The producer is the writer role of one connection, the consumer the reading role of the
 * other; each role is one thread at a time (the connection core serialises it), so the ring needs no lock and no
 * atomic read-modify-write on its hot path.
 *
 * <pre>
 * control (3 cache lines of 128 bytes, so producer and consumer never write the same line)
 *   +0    writePosition  i64   producer: bytes published, ever (release); the consumer reads it (acquire)
 *   +8    writerClosed   i32   producer: 1 once it will write no more (a FIN)
 *   +128  readPosition   i64   consumer: bytes consumed, ever (release); the producer reads it (acquire)
 *   +256  readerParked   i32   consumer: 1 while its thread sleeps; the producer that clears it rings the bell
 *   +260  writerWaiting  i32   producer: 1 while it waits for room; the consumer that clears it rings the bell
 * data    capacity bytes (a power of two); byte at position p is at p &amp; (capacity - 1)
 * </pre>
 *
 * <h2>Waiting without a system call on the busy path</h2>
 * A side that is about to sleep sets its flag, then (after a full fence) looks at the ring again; the other side
 * publishes, then (after a full fence) looks at the flag: one of the two always sees the other (Dekker). Only a
 * side that finds the flag set, and wins clearing it, rings the doorbell (a byte on the connection's Unix
 * socket). While both sides are busy no flag is set and nothing enters the kernel.
 *
 * <h2>The other process is not trusted</h2>
 * Positions the peer writes are checked before use: the distance between the two positions must lie in
 * {@code [0, capacity]}, or the ring is corrupt and the connection fails with an {@link IOException} (the core
 * closes it, UNAVAILABLE). Every access goes through a bounds-checked segment or buffer, so a torn or hostile
 * ring can fail a connection but never read or write outside the mapping. Each side keeps its own position in a
 * field, so the peer cannot move it.
 */
final class ShmRing {

    static final int CONTROL_BYTES = 384;
    private static final long WRITE_POSITION = 0;
    private static final long WRITER_CLOSED = 8;
    private static final long READ_POSITION = 128;
    private static final long READER_PARKED = 256;
    private static final long WRITER_WAITING = 260;

    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private final MemorySegment control;
    private final ByteBuffer data;          // a view of the data region; absolute gets and puts only
    private final ByteBuffer view;          // the consumer's window on the data region (peek)
    private int peeked;                     // the bytes the last peek showed (consumer role only)
    private final int capacity;
    private final int mask;
    private long written;                   // the producer's position (producer role only)
    /**
     * The consumer's position as the producer last read it (producer role only). The producer reads the shared one
     * only when this leaves too little room: the line the consumer writes on every read then stays in the
     * consumer's cache, instead of crossing to the producer before every write and back before the consumer's
     * next store completes (two cache misses per message, both on the path of a round trip).
     */
    private long readSeen;
    private long consumed;                  // the consumer's position (consumer role only)

    /**
     * @param control  {@link #CONTROL_BYTES} bytes, 8-byte aligned, zero for a new ring
     * @param data     the data region; its size is the capacity, a power of two
     */
    ShmRing(MemorySegment control, MemorySegment data) {
        if (control.byteSize() != CONTROL_BYTES || Long.bitCount(data.byteSize()) != 1
                || data.byteSize() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("bad ring regions: control " + control.byteSize() + ", data "
                    + data.byteSize());
        }
        this.control = control;
        this.data = data.asByteBuffer();
        this.view = data.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        this.capacity = (int) data.byteSize();
        this.mask = capacity - 1;
    }

    int capacity() {
        return capacity;
    }

    // ------------------------------------------------------------------ the producer

    /**
     * Copies as much of {@code src} as there is room for and publishes it; returns the bytes taken (0: full).
     *
     * @throws IOException the consumer's position is impossible (a corrupt or hostile ring)
     */
    int write(ByteBuffer src) throws IOException {
        int n = copyIn(src, written);
        if (n > 0) {
            publish(written + n);
        }
        return n;
    }

    /**
     * Copies {@code srcs} in order, as far as there is room, and publishes them together: the consumer sees a batch
     * of frames whole (as far as the room went), never a header without its body. Returns the bytes taken.
     *
     * @throws IOException the consumer's position is impossible (a corrupt or hostile ring)
     */
    long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        long w = written;
        for (int k = offset; k < offset + length; k++) {
            ByteBuffer src = srcs[k];
            w += copyIn(src, w);
            if (src.hasRemaining()) {
                break;      // full
            }
        }
        long n = w - written;
        if (n > 0) {
            publish(w);
        }
        return n;
    }

    /** Copies as much of {@code src} as there is room for at position {@code w} (not published yet); the bytes. */
    private int copyIn(ByteBuffer src, long w) throws IOException {
        long used = w - readSeen;
        if (capacity - used < src.remaining()) {
            used = w - refreshReadSeen();
        }
        int n = (int) Math.min(capacity - used, src.remaining());
        if (n == 0) {
            return 0;
        }
        int at = (int) (w & mask);
        int first = Math.min(n, capacity - at);
        int from = src.position();
        data.put(at, src, from, first);
        if (n > first) {
            data.put(0, src, from + first, n - first);
        }
        src.position(from + n);
        return n;
    }

    private void publish(long w) {
        written = w;
        LONG.setRelease(control, WRITE_POSITION, w);
    }

    /** True when a write would take at least one byte (or find the ring corrupt). */
    boolean hasRoom() {
        // The kept position first; only when it says full, the shared one (the write that follows checks and keeps it).
        return written - readSeen != capacity || written - (long) LONG.getAcquire(control, READ_POSITION) != capacity;
    }

    /** Reads the consumer's position, checks it and keeps it; returns it. */
    private long refreshReadSeen() throws IOException {
        long r = (long) LONG.getAcquire(control, READ_POSITION);
        long used = written - r;
        if (used < 0 || used > capacity) {
            throw corrupt("read position", used);
        }
        readSeen = r;
        return r;
    }

    /** After publishing: true when the consumer was asleep and this call woke it (it must ring the bell). */
    boolean takeReaderParked() {
        VarHandle.fullFence();      // the publish before the look at the flag: see the class comment
        return (int) INT.getVolatile(control, READER_PARKED) != 0
                && INT.compareAndSet(control, READER_PARKED, 1, 0);
    }

    /** The producer found the ring full and waits: the consumer that frees room rings the bell. */
    void markWriterWaiting() {
        INT.setVolatile(control, WRITER_WAITING, 1);
        VarHandle.fullFence();
    }

    /** FIN: the consumer drains what was written, then reads the end of the stream. */
    void closeWriter() {
        INT.setRelease(control, WRITER_CLOSED, 1);
        VarHandle.fullFence();
    }

    // ------------------------------------------------------------------ the consumer

    /**
     * Copies what has arrived into {@code dst} and frees its room; returns the bytes read (0: nothing yet).
     *
     * @throws IOException the producer's position is impossible (a corrupt or hostile ring)
     */
    int read(ByteBuffer dst) throws IOException {
        long r = consumed;
        long available = arrived();
        int n = (int) Math.min(available, dst.remaining());
        if (n == 0) {
            return 0;
        }
        int at = (int) (r & mask);
        int first = Math.min(n, capacity - at);
        int to = dst.position();
        dst.put(to, data, at, first);
        if (n > first) {
            dst.put(to + first, data, 0, n - first);
        }
        dst.position(to + n);
        peeked = 0;
        consumed = r + n;
        LONG.setRelease(control, READ_POSITION, r + n);
        return n;
    }

    /**
     * The bytes that have arrived and lie contiguous from the consumer's position (to the ring's end at most), as the
     * [position, limit) of one reused little-endian view of the data region, or null when none have. They stay
     * unread, their room not free, until {@link #consume}.
     *
     * @throws IOException the producer's position is impossible (a corrupt or hostile ring)
     */
    ByteBuffer peek() throws IOException {
        long r = consumed;
        long available = arrived();
        if (available == 0) {
            peeked = 0;
            return null;
        }
        int at = (int) (r & mask);
        peeked = (int) Math.min(available, capacity - at);
        return view.limit(at + peeked).position(at);
    }

    /** Frees the room of the first {@code n} bytes the last {@link #peek} showed. */
    void consume(int n) {
        if (n < 0 || n > peeked) {
            throw new IllegalArgumentException("consuming " + n + " of " + peeked + " bytes shown");
        }
        peeked -= n;
        consumed += n;
        LONG.setRelease(control, READ_POSITION, consumed);
    }

    /** The bytes published and not consumed yet, checked: the producer's position is the other process's word. */
    private long arrived() throws IOException {
        long available = (long) LONG.getAcquire(control, WRITE_POSITION) - consumed;
        if (available < 0 || available > capacity) {
            throw corrupt("write position", available);
        }
        return available;
    }

    /** True when a read would return bytes (or find the ring corrupt). */
    boolean hasInput() {
        return (long) LONG.getAcquire(control, WRITE_POSITION) != consumed;
    }

    /** True once the producer closed its end (read it before {@link #hasInput()}: bytes before a FIN count). */
    boolean writerClosed() {
        return (int) INT.getAcquire(control, WRITER_CLOSED) != 0;
    }

    /** After consuming: true when the producer waited for room and this call woke it (it must ring the bell). */
    boolean takeWriterWaiting() {
        VarHandle.fullFence();
        return (int) INT.getVolatile(control, WRITER_WAITING) != 0
                && INT.compareAndSet(control, WRITER_WAITING, 1, 0);
    }

    /** The consumer is about to sleep: a producer that publishes from now on rings the bell. */
    void markReaderParked() {
        INT.setVolatile(control, READER_PARKED, 1);
        VarHandle.fullFence();
    }

    /** The consumer is awake again. */
    void clearReaderParked() {
        INT.setOpaque(control, READER_PARKED, 0);
    }

    private IOException corrupt(String what, long distance) {
        return new IOException("corrupt shared-memory ring: the peer's " + what + " is " + distance
                + " bytes from ours (capacity " + capacity + ")");
    }
}
