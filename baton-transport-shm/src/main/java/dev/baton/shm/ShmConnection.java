package dev.baton.shm;

import dev.baton.Status;
import dev.baton.spi.connection.FramedConnection;
import dev.baton.spi.connection.InPlaceInput;
import dev.baton.spi.connection.TransportCore;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A Baton connection over shared memory: the glue between two {@link ShmRing}s and the transport-neutral
 * {@link FramedConnection} (handshake, keepalive, combining writer, frame reader, close protocol), as
 * {@code TcpConnection} is the glue to a socket. Next to the rings runs the connection's Unix socket, which carries
 * the set-up (the name of the ring file), the doorbell (one byte when the other side sleeps) and liveness (the
 * kernel closes it when the peer's process ends, however it ends).
 *
 * <h2>Set-up</h2>
 * The connecting side creates and maps the ring file, connects the socket and sends
 * {@code magic "BSHM" i32 | version u16 | name length u16 | name}; it writes its HELLO into its ring at once. The
 * accepting side reads the set-up, maps the file after checking it ({@link RingFile#open}), deletes its name, and
 * answers with its own HELLO through the other ring. Anything wrong closes the connection: the connecting side
 * sees its socket end and fails UNAVAILABLE.
 *
 * <h2>End of stream</h2>
 * {@link #closeStream()} marks this side's outbound ring closed (a FIN), rings the peer and closes the socket. The
 * peer reads what is left in the ring, then the end of the stream; a peer that died without a FIN is noticed the
 * same way, by its socket's end.
 */
final class ShmConnection extends FramedConnection implements ShmLoop.Ready, InPlaceInput {

    private static final VarHandle POLLERS;

    static {
        try {
            POLLERS = MethodHandles.lookup().findVarHandle(ShmConnection.class, "pollers", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static final int SETUP_MAGIC = 0x4d485342;      // "BSHM" read as little-endian bytes
    static final int SETUP_VERSION = 1;
    private static final int SETUP_MAX = 8 + 64;

    private final ShmLoop loop;
    private final SocketChannel socket;
    private final boolean client;
    private final Path ringPath;                        // the client's, to delete if the server never mapped it
    private final ShmDirectory directory;               // where ring and payload files are
    private final ShmPayloads payloads;                 // null: this side reads and writes no payload files
    private volatile boolean peerReadsPayloads;
    private final Runnable peerEnded;                   // the transport's: sweep what a dead peer left
    private final ByteBuffer dataBell = ByteBuffer.allocateDirect(1);      // rung by the writer role
    private final ByteBuffer roomBell = ByteBuffer.allocateDirect(1);      // rung by the reading role
    private volatile RingFile rings;                    // the server's is set by the set-up
    private volatile ShmRing in;
    private volatile ShmRing out;
    private volatile boolean peerGone;                  // the socket ended: the peer closed or died
    private volatile boolean wantsWrite;
    /** Threads polling this connection now ({@link #pollingStarted()}): they read the inbound ring, not the loop. */
    private volatile int pollers;

    // ---- the loop thread only
    private SelectionKey key;
    private boolean readInterest = true;
    private ByteBuffer setup;           // the server's set-up, as it arrives
    private ByteBuffer drain;           // doorbell bytes, read and discarded

    /** The connecting side: its rings are mapped already. */
    static ShmConnection client(TransportCore core, ShmLoop loop, String remote, SocketChannel socket, RingFile rings,
                                Path ringPath, ShmDirectory directory, long payloadBytes, Runnable peerEnded) {
        return new ShmConnection(core, loop, remote, true, null, socket, rings, ringPath, directory, payloadBytes,
                peerEnded);
    }

    /** A connection that never had a socket: the transport closes it at once with {@link #refuse}. */
    static ShmConnection refused(TransportCore core, ShmLoop loop, String remote) {
        return new ShmConnection(core, loop, remote, true, null, null, null, null, null, 0, () -> { });
    }

    /** The accepting side: its rings come with the set-up. */
    static ShmConnection server(TransportCore core, ShmLoop loop, String remote, SocketChannel socket,
                                InetAddress admittedFrom, ShmDirectory directory, long payloadBytes,
                                Runnable peerEnded) {
        return new ShmConnection(core, loop, remote, false, admittedFrom, socket, null, null, directory, payloadBytes,
                peerEnded);
    }

    private ShmConnection(TransportCore core, ShmLoop loop, String remote, boolean client, InetAddress admittedFrom,
                          SocketChannel socket, RingFile rings, Path ringPath, ShmDirectory directory,
                          long payloadBytes, Runnable peerEnded) {
        super(core, loop, remote, client, admittedFrom);
        this.loop = loop;
        this.socket = socket;
        this.client = client;
        this.ringPath = ringPath;
        this.directory = directory;
        this.peerEnded = peerEnded;
        this.payloads = payloadBytes > 0 ? new ShmPayloads(directory, payloadBytes, loop::post) : null;
        if (rings != null) {
            useRings(rings);
        }
    }

    private void useRings(RingFile r) {
        r.features(client, payloads != null ? RingFile.PAYLOAD_FILES : 0);
        this.rings = r;
        this.in = client ? r.down : r.up;
        this.out = client ? r.up : r.down;
    }

    /** Registers with the loop; the client sends its set-up and HELLO once its socket is connected. Any thread. */
    void start(boolean connected) {
        loop.execute(() -> register(connected));
    }

    private void register(boolean connected) {
        if (!isOpen()) {
            return;
        }
        try {
            key = loop.register(socket, connected ? SelectionKey.OP_READ : SelectionKey.OP_CONNECT, this);
            loop.add(this);
            if (client && connected) {
                sendSetup();
            }
        } catch (IOException | RuntimeException e) {
            fail(e);
        }
    }

    /**
     * The client: the set-up names the ring file; then this side's HELLO goes into its ring. The socket's other end
     * must be this user's, as the server checks this end (SO_PEERCRED): only then is it the peer
     * {@link #peerPrincipal()} says.
     */
    private void sendSetup() throws IOException {
        var peer = socket.getOption(jdk.net.ExtendedSocketOptions.SO_PEERCRED);
        if (!peer.user().equals(directory.owner())) {
            throw new IOException("the shared-memory socket is served by user " + peer.user().getName() + ", not "
                    + directory.owner().getName());
        }
        byte[] name = ringPath.getFileName().toString().getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(8 + name.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(SETUP_MAGIC).putShort((short) SETUP_VERSION).putShort((short) name.length).put(name).flip();
        socket.write(b);
        if (b.hasRemaining()) {
            throw new IOException("the set-up could not be written");      // a few bytes into an empty socket
        }
        startHandshake();
    }

    /** The "refused" of a connect that never got a socket. Any thread. */
    void refuse(String why) {
        closeWith(Status.of(Status.Code.UNAVAILABLE, "cannot connect to " + remoteAddress() + ": " + why)
                .asException());
    }

    // ------------------------------------------------------------------ the loop

    @Override
    public void onReady(SelectionKey k) throws IOException {
        if (k.isConnectable()) {
            if (socket.finishConnect()) {
                k.interestOps(SelectionKey.OP_READ);
                sendSetup();
            }
            return;
        }
        if (k.isReadable()) {
            if (rings == null) {
                readSetup();
            } else {
                drainBells();
            }
        }
    }

    @Override
    public void onFailure(Throwable t) {
        fail(t);
    }

    /** Reads the doorbell bytes (their only meaning is "look"), and the socket's end. */
    private void drainBells() throws IOException {
        if (drain == null) {
            drain = ByteBuffer.allocateDirect(64);
        }
        int n;
        do {
            drain.clear();
            n = socket.read(drain);
        } while (n > 0);
        if (n < 0) {
            peerGone = true;
            key.interestOps(0);     // the end is read: the rings tell the rest (service() reads to the end)
            peerEnded.run();
        }
    }

    /** The server: reads the set-up, maps the rings it names, and answers with this side's HELLO. */
    private void readSetup() throws IOException {
        if (setup == null) {
            setup = ByteBuffer.allocate(SETUP_MAX).order(ByteOrder.LITTLE_ENDIAN);
        }
        if (socket.read(setup) < 0) {
            throw new IOException("the peer closed its socket before the set-up");
        }
        if (setup.position() < 8) {
            return;
        }
        int magic = setup.getInt(0);
        int version = setup.getShort(4) & 0xffff;
        int length = setup.getShort(6) & 0xffff;
        if (magic != SETUP_MAGIC || version != SETUP_VERSION || length > SETUP_MAX - 8) {
            throw new IOException("bad shared-memory set-up (magic " + Integer.toHexString(magic) + ", version "
                    + version + ", name of " + length + " bytes)");
        }
        if (setup.position() < 8 + length) {
            return;
        }
        if (setup.position() > 8 + length) {
            throw new IOException("bytes after the shared-memory set-up");
        }
        String name = new String(setup.array(), 8, length, StandardCharsets.US_ASCII);
        Optional<Path> file = directory.ringFile(name);
        if (file.isEmpty()) {
            throw new IOException("the set-up names no ring file of ours: '" + name + "'");
        }
        setup = null;
        useRings(RingFile.open(file.get(), directory.owner()));
        startHandshake();
    }

    /** Reads and writes what the rings allow; returns whether it did anything. The loop thread. */
    int service() {
        ShmRing i = in;
        if (i == null || !isOpen()) {
            return 0;
        }
        int work = 0;
        try {
            if (wantsWrite && out.hasRoom()) {
                wantsWrite = false;
                onWritable();
                work++;
            }
            if (readInterest && (i.hasInput() || peerGone || i.writerClosed())) {
                onReadable();
                work++;
            }
        } catch (IOException | RuntimeException e) {
            fail(e);
        }
        return work;
    }

    /** True when {@link #service()} has something to do: the loop must not sleep. */
    boolean hasWork() {
        ShmRing i = in;
        return i != null && isOpen() && ((wantsWrite && out.hasRoom())
                || (readInterest && (i.hasInput() || peerGone || i.writerClosed())));
    }

    /**
     * The loop is about to sleep ({@link ShmLoop#isParked()} is already true): a peer that publishes from now on rings,
     * unless a thread polls the ring (it reads what comes, and marks the ring when it stops: {@link #pollingStopped}).
     */
    void parking() {
        ShmRing i = in;
        if (i != null && pollers == 0) {
            i.markReaderParked();
        }
    }

    /** True while some thread polls this connection: the loop need not spin for it. */
    boolean polled() {
        return pollers > 0;
    }

    @Override
    public void pollingStarted() {
        POLLERS.getAndAdd(this, 1);
        ShmRing i = in;
        if (i != null) {
            i.clearReaderParked();      // this thread watches the ring: the peer need not ring the loop for it
        }
    }

    /**
     * The last poller hands the ring back to the loop. A sleeping loop left the ring unmarked for the pollers, so the
     * ring is marked now, and a loop that has already missed input is woken. The loop sets its parked flag before it
     * reads {@link #pollers} and this side drops {@link #pollers} before it reads the flag (both full fences): one of
     * the two sees the other and marks the ring (a mark left after the loop woke costs at most one spurious bell).
     */
    @Override
    public void pollingStopped() {
        if ((int) POLLERS.getAndAdd(this, -1) == 1 && loop.isParked()) {
            ShmRing i = in;
            if (i != null) {
                i.markReaderParked();
                if (hasWork()) {
                    loop.wake();
                }
            }
        }
    }

    void awake() {
        ShmRing i = in;
        if (i != null) {
            i.clearReaderParked();
        }
    }

    void tick(long nowNanos) {
        onTick(nowNanos);
        ShmPayloads p = payloads;
        if (p != null) {
            p.tick(nowNanos);
        }
    }

    /**
     * The payload files, once both sides said they read them (the peer in the ring file's header, before its first
     * frame); null before, and for good when either side does not.
     */
    @Override
    protected ShmPayloads outOfBandBodies() {
        ShmPayloads p = payloads;
        if (p == null || peerReadsPayloads) {
            return p;
        }
        RingFile r = rings;
        try {
            if (r != null && (r.peerFeatures(client) & RingFile.PAYLOAD_FILES) != 0) {
                peerReadsPayloads = true;
                return p;
            }
        } catch (IllegalStateException unmapped) {
            // closed
        }
        return null;
    }

    /**
     * The peer's operating-system user: the kernel's word for the other end of the Unix socket, which both sides
     * check is this directory's owner at set-up (SO_PEERCRED). Null for a connection that never had a socket.
     */
    @Override
    public java.security.Principal peerPrincipal() {
        return socket == null ? null : directory.owner();
    }

    // ------------------------------------------------------------------ FramedConnection glue

    @Override
    protected int writeBytes(ByteBuffer src) throws IOException {
        ShmRing o = out;
        if (o == null) {
            return 0;
        }
        int n;
        try {
            n = o.write(src);
        } catch (IllegalStateException closed) {
            throw new IOException("connection closed");
        }
        if (n > 0 && o.takeReaderParked()) {
            ring(dataBell);
        }
        return n;
    }

    @Override
    protected long writeBytes(ByteBuffer[] srcs, int offset, int length) throws IOException {
        ShmRing o = out;
        if (o == null) {
            return 0;
        }
        long total;
        try {
            total = o.write(srcs, offset, length);
        } catch (IllegalStateException closed) {
            throw new IOException("connection closed");
        }
        if (total > 0 && o.takeReaderParked()) {
            ring(dataBell);
        }
        return total;
    }

    @Override
    protected int readBytes(ByteBuffer dst) throws IOException {
        ShmRing i = in;
        if (i == null) {
            return 0;
        }
        try {
            boolean ended = peerGone || i.writerClosed();   // before the read: bytes sent before the end count
            int n = i.read(dst);
            if (n > 0) {
                if (i.takeWriterWaiting()) {
                    ring(roomBell);
                }
                return n;
            }
            return ended && dst.hasRemaining() ? -1 : 0;
        } catch (IllegalStateException closed) {
            throw new IOException("connection closed");
        }
    }

    @Override
    public ByteBuffer inputInPlace() throws IOException {
        ShmRing i = in;
        try {
            return i == null ? null : i.peek();
        } catch (IllegalStateException closed) {
            throw new IOException("connection closed");
        }
    }

    @Override
    public void consumeInPlace(int n) throws IOException {
        ShmRing i = in;
        try {
            i.consume(n);
            if (i.takeWriterWaiting()) {
                ring(roomBell);
            }
        } catch (IllegalStateException closed) {
            throw new IOException("connection closed");
        }
    }

    @Override
    protected void requestWritable() {
        ShmRing o = out;
        if (o == null) {
            return;
        }
        wantsWrite = true;
        o.markWriterWaiting();
        loop.wake();        // the loop looks for room before it sleeps; a reader that freed some rings
    }

    @Override
    protected void readInterest(boolean on) {
        readInterest = on;
    }

    @Override
    protected void closeStream() {
        ShmRing o = out;
        if (o != null) {
            try {
                o.closeWriter();
            } catch (IllegalStateException alreadyUnmapped) {
                // nothing to tell
            }
        }
        try {
            if (socket != null) {
                socket.close();     // the peer sees the end of its socket: it reads what is left, then the end
            }
        } catch (IOException e) {
            // closing anyway
        }
        loop.execute(() -> {
            loop.remove(this);
            if (payloads != null) {
                payloads.close();
            }
            release(100);
        });
    }

    /** Unmaps the rings once no thread is inside them (a polling caller may be); deletes an unclaimed ring file. */
    private void release(int attempts) {
        if (ringPath != null) {
            try {
                Files.deleteIfExists(ringPath);     // the server never mapped it
            } catch (IOException e) {
                // best effort: a starting transport removes it
            }
        }
        RingFile r = rings;
        if (r != null && !r.unmap() && attempts > 0) {
            loop.post(() -> release(attempts - 1));
        }
    }

    /** Rings the peer's doorbell with {@code bell} (each role has its own buffer). A dead peer is noticed anyway. */
    private void ring(ByteBuffer bell) {
        bell.clear();
        try {
            socket.write(bell);
        } catch (IOException e) {
            // the socket's end reaches the loop: nothing to do here
        }
    }
}
