package dev.baton.testkit.transport;

import dev.baton.Status;
import dev.baton.spi.connection.FramedConnection;
import dev.baton.spi.connection.TransportCore;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntBinaryOperator;

/**
 * A Baton connection over two in-memory {@link BytePipe}s: the glue between the pipes and the transport-neutral
 * {@link FramedConnection} (handshake, keepalive, combining writer, frame reader, close protocol), exactly as
 * {@code TcpConnection} is the glue to a socket. Its loop turns the pipes' signals into the core's hooks.
 *
 * <p>Readiness is edge-signalled and re-armed like a level-triggered selector: bytes written into the inbound
 * pipe, or room made in the outbound pipe for a waiting writer, set a bit in {@link #readyOps} and, when no bit
 * was set, queue the connection on its loop; the loop clears the bits and calls {@code onWritable} and
 * {@code onReadable}; if input is left (the reader stopped after its batch, or a polling caller held the reading
 * role), the connection signals itself again.
 */
final class LoopbackConnection extends FramedConnection {

    static final int READABLE = 1;
    static final int WRITABLE = 2;
    private static final IntBinaryOperator OR = (a, b) -> a | b;

    private final LoopbackLoop loop;
    private final AtomicInteger readyOps = new AtomicInteger();
    final ReadyQueue.Node readyNode = new ReadyQueue.Node(this);
    // Set once by join, before start: the writer and reader roles (any thread) read them after.
    private volatile BytePipe in;
    private volatile BytePipe out;

    // ---- the loop thread only
    private boolean registered;
    private boolean readInterest = true;

    LoopbackConnection(TransportCore core, LoopbackLoop loop, String remoteAddress, boolean outbound,
                       InetAddress admittedFrom) {
        super(core, loop, remoteAddress, outbound, admittedFrom);
        this.loop = loop;
    }

    /** Joins the connection to its pipes; before {@link #start()}. */
    void join(BytePipe in, BytePipe out) {
        this.in = in;
        this.out = out;
    }

    /** Registers with the loop, which sends this side's handshake. Any thread, after {@link #join}. */
    void start() {
        loop.execute(this::register);
    }

    private void register() {
        if (!isOpen()) {
            return;
        }
        registered = true;
        loop.add(this);
        try {
            startHandshake();
        } catch (IOException | RuntimeException e) {
            fail(e);
            return;
        }
        signal(READABLE);       // the peer may have written before this side was registered
    }

    /** The connect found no peer, or the peer refused it: closes with UNAVAILABLE. Any thread. */
    void refuse(String why) {
        closeWith(Status.of(Status.Code.UNAVAILABLE, "cannot connect to " + remoteAddress() + ": " + why)
                .asException());
    }

    // ------------------------------------------------------------------ readiness

    /** Marks {@code ops} ready and queues the connection on its loop unless it already is. Any thread. */
    void signal(int ops) {
        if (readyOps.getAndAccumulate(ops, OR) == 0) {
            loop.ready(readyNode);
        }
    }

    /** Runs the hooks for what was signalled since last time. The loop thread. */
    void onReady() {
        int ops = readyOps.getAndSet(0);
        if (!registered || !isOpen()) {
            return;     // register() looks for input itself; a closed connection is the close path's
        }
        try {
            if ((ops & WRITABLE) != 0) {
                onWritable();
            }
            if ((ops & READABLE) != 0 && readInterest) {
                onReadable();
                BytePipe pipe = in;
                if (readInterest && isOpen() && pipe.hasInput()) {
                    signal(READABLE);
                }
            }
        } catch (IOException | RuntimeException e) {
            fail(e);
        }
    }

    /** The loop's periodic check (handshake and keepalive timeouts, idle buffers). The loop thread. */
    void tick(long nowNanos) {
        onTick(nowNanos);
    }

    // ------------------------------------------------------------------ FramedConnection glue

    @Override
    protected int writeBytes(ByteBuffer src) throws IOException {
        BytePipe pipe = out;
        int n = pipe.write(src);
        if (n > 0) {
            pipe.published();
        }
        return n;
    }

    @Override
    protected long writeBytes(ByteBuffer[] srcs, int offset, int length) throws IOException {
        BytePipe pipe = out;
        long total = 0;
        for (int i = offset; i < offset + length; i++) {
            ByteBuffer src = srcs[i];
            total += pipe.write(src);
            if (src.hasRemaining()) {
                break;      // the pipe is full
            }
        }
        if (total > 0) {
            pipe.published();
        }
        return total;
    }

    @Override
    protected int readBytes(ByteBuffer dst) {
        return in.read(dst);
    }

    @Override
    protected void requestWritable() {
        out.awaitRoom();
    }

    @Override
    protected void readInterest(boolean on) {
        readInterest = on;
        if (on) {
            signal(READABLE);
        }
    }

    @Override
    protected void closeStream() {
        BytePipe o = out;
        BytePipe i = in;
        if (o != null) {
            o.closeWriter();
        }
        if (i != null) {
            i.closeReader();
        }
        loop.execute(() -> loop.remove(this));
    }
}
