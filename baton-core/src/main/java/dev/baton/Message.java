package dev.baton;

import dev.baton.spi.MessageAccess;
import dev.baton.spi.ObjectPool;
import dev.baton.spi.BufferRecycler;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * A received payload: a request as a handler sees it, or a response as a caller sees it.
 *
 * <p>Bytes received from the network sit in a pooled direct buffer, which this object lends to you without a
 * copy. On the in-process path the message is the caller's (or handler's) own buffer: it was never copied.
 *
 * <h2>Who releases it</h2>
 * <ul>
 *   <li>A response returned by {@link Client#call} or completing {@link Client#callAsync} is yours:
 *       {@link #close()} gives its buffer back to the pool. Closing is optional (an unclosed message is
 *       reclaimed by the garbage collector, the pool just misses it) but it is what keeps a busy process free
 *       of garbage. Do not read a message after closing it.</li>
 *   <li>A request ({@link ServerCall#request()}) and a response passed to a {@link ResponseListener} are
 *       <em>lent</em>: Baton releases them (a request once its answer is sent, a response when the listener
 *       returns) and reuses the object itself. {@code close()} on a lent message does nothing. Copy what you
 *       need to keep.</li>
 * </ul>
 *
 * <p>The absolute getters ({@link #getLong(int)}, {@link #copyTo}, ...) read without allocating anything;
 * {@link #buffer()} and {@link #segment()} create a view. Multi-byte getters read little-endian, the byte order
 * of Baton's wire protocol. Reading from several threads is safe; the views are independent.
 */
public final class Message implements AutoCloseable {

    private static final ByteBuffer EMPTY_BUFFER = ByteBuffer.allocate(0).asReadOnlyBuffer();
    private static final Message EMPTY = new Message(EMPTY_BUFFER, null, false);
    private static final AtomicIntegerFieldUpdater<Message> CLOSED =
            AtomicIntegerFieldUpdater.newUpdater(Message.class, "closed");
    /**
     * Lent message objects waiting for reuse (the runtime's, shared by every node of the process). With thread
     * slots: an I/O thread lends and takes back a shell per message, and a recycled shell refers to nothing.
     */
    private static final ObjectPool<Message> SHELLS = new ObjectPool<>(4096, true);

    static {
        MessageAccess.register(new Access());
    }

    private ByteBuffer data;
    private BufferRecycler recycler;
    private boolean lent;
    private Metadata metadata;          // null for none
    private volatile int closed;

    private Message(ByteBuffer data, BufferRecycler recycler, boolean lent) {
        this.data = data;
        this.recycler = recycler;
        this.lent = lent;
    }

    /** A message over {@code buffer}'s remaining bytes, with nothing to recycle. Does not copy. */
    public static Message wrap(ByteBuffer buffer) {
        return new Message(buffer.slice(), null, false);
    }

    /** A message over {@code bytes}. Does not copy. */
    public static Message wrap(byte[] bytes) {
        return new Message(ByteBuffer.wrap(bytes), null, false);
    }

    /**
     * For transports: a message over {@code buffer}'s [0, size) whose buffer goes back to {@code recycler}
     * on {@link #close()}.
     */
    public static Message pooled(ByteBuffer buffer, int size, BufferRecycler recycler) {
        return new Message(buffer.limit(size).position(0), recycler, false);
    }

    /** An empty message (one shared instance: closing it does nothing). */
    public static Message empty() {
        return EMPTY;
    }

    /**
     * The metadata that came with this message: a request's ({@link ServerCall#metadata()} says the same) or a
     * response's ({@link ServerCall#responseMetadata}); {@link Metadata#EMPTY} when none.
     */
    public Metadata metadata() {
        Metadata m = metadata;
        return m == null ? Metadata.EMPTY : m;
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

    /** The byte at {@code index} (0 is the first byte of the payload). */
    public byte getByte(int index) {
        return data.get(offset(index, 1));
    }

    /** The little-endian int at {@code index}. */
    public int getInt(int index) {
        int v = data.getInt(offset(index, 4));
        return data.order() == ByteOrder.LITTLE_ENDIAN ? v : Integer.reverseBytes(v);
    }

    /** The little-endian long at {@code index}. */
    public long getLong(int index) {
        long v = data.getLong(offset(index, 8));
        return data.order() == ByteOrder.LITTLE_ENDIAN ? v : Long.reverseBytes(v);
    }

    /**
     * Copies as much of the payload as fits into {@code dst}, from its position on, and advances that
     * position. Returns the number of bytes copied.
     */
    public int copyTo(ByteBuffer dst) {
        int n = Math.min(size(), dst.remaining());
        dst.put(dst.position(), data, data.position(), n);
        dst.position(dst.position() + n);
        return n;
    }

    /** A copy of the payload. */
    public byte[] toByteArray() {
        byte[] out = new byte[size()];
        data.get(data.position(), out);
        return out;
    }

    private int offset(int index, int width) {
        if (index < 0 || index > size() - width) {
            throw new IndexOutOfBoundsException("index " + index + " (+" + width + ") outside a payload of "
                    + size() + " bytes");
        }
        return data.position() + index;
    }

    /**
     * Returns the buffer to its pool. Idempotent. Does nothing on a lent message (a request, or a response
     * given to a {@link ResponseListener}): Baton releases those itself.
     */
    @Override
    public void close() {
        if (!lent && CLOSED.compareAndSet(this, 0, 1) && recycler != null) {
            recycler.recycle(data);
        }
    }

    @Override
    public String toString() {
        return "Message[" + size() + " bytes]";
    }

    /** The runtime's side of lent messages; see {@link MessageAccess}. */
    private static final class Access implements MessageAccess {

        @Override
        public Message lend(ByteBuffer buffer, BufferRecycler recycler) {
            Message m = SHELLS.poll();
            if (m == null) {
                return new Message(buffer, recycler, true);
            }
            m.data = buffer;
            m.recycler = recycler;
            m.lent = true;
            m.metadata = null;
            CLOSED.lazySet(m, 0);       // no fence: the shell reaches other threads only with the message
            return m;
        }

        @Override
        public Message withMetadata(Message m, Metadata metadata) {
            if (m == EMPTY) {
                m = new Message(EMPTY_BUFFER, null, false);
            }
            m.metadata = metadata;
            return m;
        }

        @Override
        public void release(Message m) {
            if (!m.lent) {
                m.close();
                return;
            }
            BufferRecycler r = m.recycler;
            ByteBuffer b = m.data;
            recycleShell(m);
            if (r != null) {
                r.recycle(b);
            }
        }

        @Override
        public Message own(Message m) {
            if (!m.lent) {
                return m;
            }
            Message owned = new Message(m.data, m.recycler, false);
            owned.metadata = m.metadata;
            recycleShell(m);
            return owned;
        }

        @Override
        public ByteBuffer data(Message m) {
            return m.data;
        }

        private static void recycleShell(Message m) {
            if (m.closed != 0) {
                // A second release would put the shell in the pool twice, and two later messages would share it.
                throw new IllegalStateException("a lent message was released twice");
            }
            m.data = EMPTY_BUFFER;
            m.recycler = null;
            m.metadata = null;
            CLOSED.lazySet(m, 1);
            SHELLS.offer(m);
        }
    }
}
