package dev.baton.compression;

import dev.baton.spi.connection.ConnectionLoop;
import dev.baton.spi.connection.FramedConnection;
import dev.baton.spi.connection.InPlaceInput;
import dev.baton.spi.connection.TransportCore;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;

/**
 * A real {@link FramedConnection} (handshake, frame reader, decompression, combining writer) over an in-memory byte
 * stream, driven by the calling thread: what it reads is a byte array handed over {@code chunk} bytes per read (as a
 * socket hands over what has arrived), what it writes is kept. Its loop is the calling thread: it runs what it is
 * asked to execute at once and what is posted after each step, as a transport's loop runs it after the event that
 * posted it.
 *
 * <p>For the frame stream fuzz target (its reader, copying or {@linkplain #inPlace in place}) and for making its
 * seeds (its writer: the real encoder). Not thread-safe: one test thread.
 */
final class StreamConnection extends FramedConnection implements InPlaceInput {

    private final ByteArrayOutputStream written = new ByteArrayOutputStream();
    private final Loop loop;
    private byte[] source = new byte[0];
    private int sourcePosition;
    private int chunk;
    private boolean inPlace;
    private long consumedInPlace;

    private StreamConnection(TransportCore core, Loop loop, boolean outbound) {
        super(core, loop, "fuzz", outbound, null);
        this.loop = loop;
    }

    /** An inbound connection in its handshake (this side's opening already written). */
    static StreamConnection open(TransportCore core) throws IOException {
        if (!core.admitHandshake(null)) {
            throw new IllegalStateException("the core refused the connection");
        }
        return start(new StreamConnection(core, new Loop(), false), core);
    }

    /** An outbound connection in its handshake: its byte stream connected, this side's opening already written. */
    static StreamConnection connect(TransportCore core) throws IOException {
        return start(new StreamConnection(core, new Loop(), true), core);
    }

    private static StreamConnection start(StreamConnection c, TransportCore core) throws IOException {
        core.track(c);
        c.startHandshake();
        c.loop.runTasks();
        return c;
    }

    /** Sets what the peer sends: {@code bytes}, {@code chunk} bytes per read (0: all that fits). */
    void receive(byte[] bytes, int chunk) {
        this.source = bytes;
        this.sourcePosition = 0;
        this.chunk = chunk <= 0 ? Integer.MAX_VALUE : chunk;
    }

    /**
     * Shows what it receives in place ({@link InPlaceInput}: {@code chunk} bytes at a time, as a ring shows what has
     * arrived), so the reader parses whole plain frames where they lie; off, the reader copies everything.
     */
    void inPlace(boolean on) {
        this.inPlace = on;
    }

    /** Bytes of {@link #receive} not read yet. */
    int unread() {
        return source.length - sourcePosition;
    }

    /** One readiness event and one tick of the loop, then the tasks they queued. */
    void step() throws IOException {
        onReadable();
        loop.runTasks();
        onTick(System.nanoTime());
        loop.runTasks();
    }

    /** Closes locally and runs the close's tasks. */
    void closeNow() {
        close();
        loop.runTasks();
    }

    /** What this side wrote since the last call (its opening, then frames). */
    byte[] takeWritten() {
        loop.runTasks();
        byte[] b = written.toByteArray();
        written.reset();
        return b;
    }

    @Override
    protected int writeBytes(ByteBuffer src) {
        int n = src.remaining();
        byte[] b = new byte[n];
        src.get(b);
        written.write(b, 0, n);
        return n;
    }

    @Override
    protected long writeBytes(ByteBuffer[] srcs, int offset, int length) {
        long n = 0;
        for (int i = offset; i < offset + length; i++) {
            n += writeBytes(srcs[i]);
        }
        return n;
    }

    @Override
    protected int readBytes(ByteBuffer dst) {
        int n = Math.min(Math.min(dst.remaining(), chunk), source.length - sourcePosition);
        dst.put(source, sourcePosition, n);
        sourcePosition += n;
        return n;
    }

    @Override
    public ByteBuffer inputInPlace() {
        int n = Math.min(chunk, source.length - sourcePosition);
        if (!inPlace || n == 0) {
            return null;
        }
        return ByteBuffer.wrap(source).order(ByteOrder.LITTLE_ENDIAN).limit(sourcePosition + n)
                .position(sourcePosition);
    }

    @Override
    public void consumeInPlace(int n) {
        sourcePosition += n;
        consumedInPlace += n;
    }

    /** The bytes the reader parsed in place so far. */
    long consumedInPlace() {
        return consumedInPlace;
    }

    @Override
    protected void requestWritable() {
    }

    @Override
    protected void readInterest(boolean on) {
    }

    @Override
    protected void closeStream() {
    }

    /** The calling thread's loop: posted tasks wait until {@link #runTasks()}. */
    private static final class Loop implements ConnectionLoop {
        private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();

        @Override
        public boolean inLoop() {
            return true;
        }

        @Override
        public void execute(Runnable task) {
            task.run();     // the calling thread is the loop's
        }

        @Override
        public void post(Runnable task) {
            tasks.add(task);
        }

        void runTasks() {
            for (Runnable r; (r = tasks.poll()) != null; ) {
                r.run();
            }
        }
    }
}
