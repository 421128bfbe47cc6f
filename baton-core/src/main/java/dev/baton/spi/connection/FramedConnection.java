package dev.baton.spi.connection;

import dev.baton.BatonException;
import dev.baton.Message;
import dev.baton.Status;
import dev.baton.spi.ClusterSecret;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.MemberKey;
import dev.baton.spi.MessageAccess;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportSettings;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The transport-neutral core of a Baton connection: everything but moving bytes. A transport subclasses it
 * with the glue to its byte stream (four small methods: write, gathering write, read, and asking its loop
 * for a writability event) and calls the {@code on*} hooks from its event loop; the rest is here, once, for
 * every transport (TCP, TLS over an {@code SSLEngine}, a shared-memory ring):
 *
 * <ul>
 *   <li><b>State and close protocol</b>: CONNECTING (outbound, until the transport calls
 *       {@link #startHandshake()}), HANDSHAKE, OPEN, CLOSED. {@link #closeWith} is idempotent from any thread: it
 *       closes the byte stream, wakes callers waiting for capacity, reports {@code onClose} from the loop's task
 *       queue (never inline), and lets whoever holds the writer role drop what was not sent.</li>
 *   <li><b>Handshake</b> ({@link Handshake}): each side sends its preface and HELLO at once; the connection opens
 *       once the peer's has been read, with a cluster secret once the peer proved it ({@link SecretHandshake}),
 *       unless the runtime refuses the peer ({@code FrameHandler.refusal}). Frames offered earlier wait in the queue.</li>
 *   <li><b>Keepalive</b>: on the loop's tick, a PING after {@code keepaliveInterval} without receiving or
 *       sending, a close after {@code keepaliveTimeout} without receiving; handshake timeout; PING answered with
 *       PONG here, never reaching the runtime.</li>
 *   <li><b>Send accounting, back-pressure and the combining writer</b> ({@link CombiningWriter}): REQUEST frames
 *       are held to {@code maxQueuedFrames} and {@code maxQueuedBytes} ({@code BACK_PRESSURED}); answers are never
 *       refused, and a peer that leaves more than {@code maxConcurrentRequests} +
 *       {@value TransportSettings#ANSWER_BACKLOG_RESERVE} of them unread is disconnected. Any thread
 *       {@link #offer}s; the thread that moves the work-in-progress counter from 0 becomes the writer and drains
 *       everyone's frames in batches ({@link SendBatch}). When the byte sink is full the writer role passes to the
 *       loop thread ({@link #requestWritable()}, then {@link #onWritable()}). During the handshake the loop thread
 *       holds the role, so early frames just queue. While the loop thread dispatches a read batch it holds the
 *       writer role of the connection it reads, so a batch's answers share writes (sent every
 *       {@value #MID_BATCH_FLUSH_FRAMES} frames and at the end).</li>
 *   <li><b>The frame reader</b> ({@link FrameReader}): one thread reads at a time, the loop or a caller that
 *       {@link #poll()}s while it waits for its response.</li>
 *   <li><b>Memory that follows use</b>: the read and send buffers come from the transport's pool when traffic
 *       needs them and go back after {@value #IDLE_BUFFER_RELEASE_MS} ms without any, so an idle connection holds
 *       none; before its handshake completes a connection holds a small fixed amount.</li>
 * </ul>
 *
 * <p>Thread-safe, as {@link TransportConnection} requires.
 */
public abstract class FramedConnection implements TransportConnection {

    private static final System.Logger LOG = System.getLogger(FramedConnection.class.getName());
    private static final MessageAccess MESSAGES = MessageAccess.get();

    static final int CONNECTING = 0;
    static final int HANDSHAKE = 1;
    static final int OPEN = 2;
    static final int CLOSED = 3;

    static final int MID_BATCH_FLUSH_FRAMES = 16;
    static final long IDLE_BUFFER_RELEASE_MS = 100;
    private static final long IDLE_BUFFER_RELEASE_NS = IDLE_BUFFER_RELEASE_MS * 1_000_000L;

    final TransportCore core;
    private final ConnectionLoop loop;
    private final String remoteAddress;
    private final InetAddress admittedFrom;     // counted in the core's handshakes until the handshake ends
    private final boolean outbound;
    private final AtomicInteger state = new AtomicInteger();
    private final AtomicBoolean handshakeCounted;
    private volatile BatonException closeCause;
    private volatile PeerIdentity remoteIdentity;
    private volatile Object attachment;
    private final long createdNanos = System.nanoTime();

    // ---- send side
    private final CombiningWriter writer;

    // ---- receive side: owned by whoever holds `reading` (the loop, or a polling caller)
    private final AtomicBoolean reading = new AtomicBoolean();
    private final FrameReader reader;
    /** True while the loop dispatches a read batch holding the writer role (see readAsWriter). */
    private boolean dispatchingAsWriter;
    private final PollingMark pollingMark = new PollingMark();

    // ---- loop thread only
    /** With a cluster secret, until the peer proved it; null otherwise. */
    private SecretHandshake secretHandshake;
    /** The member key the peer proved in its handshake, or null; written before the connection opens. */
    private MemberKey.KeyPrincipal provedKey;
    private long lastPingNanos;
    private volatile long keepaliveIntervalNs;
    private volatile long keepaliveTimeoutNs;
    private final Runnable syncReadInterest = this::syncReadInterest;

    /**
     * @param core          what the transport's connections share
     * @param loop          the event loop this connection belongs to
     * @param remoteAddress a description of the peer, for logs and errors
     * @param outbound      true for a connection this side opened: it starts CONNECTING, and the transport calls
     *                      {@link #startHandshake()} once its byte stream is connected; an inbound one starts in
     *                      its HANDSHAKE
     * @param admittedFrom  for an inbound connection, the remote address the transport admitted with
     *                      {@link TransportCore#admitHandshake} (every inbound connection must be admitted first);
     *                      null for an outbound one
     */
    protected FramedConnection(TransportCore core, ConnectionLoop loop, String remoteAddress, boolean outbound,
                               InetAddress admittedFrom) {
        this.core = core;
        this.loop = loop;
        this.remoteAddress = remoteAddress;
        this.outbound = outbound;
        this.admittedFrom = admittedFrom;
        this.handshakeCounted = new AtomicBoolean(!outbound);
        TransportSettings s = core.settings();
        this.writer = new CombiningWriter(this, core);
        this.reader = new FrameReader(this, core);
        this.state.set(outbound ? CONNECTING : HANDSHAKE);
        keepalive(s.keepaliveInterval(), s.keepaliveTimeout());
    }

    // ================================================================== the glue a transport provides

    /** Writes from {@code src}; returns the bytes written, 0 when the sink is full. Writer role held. */
    protected abstract int writeBytes(ByteBuffer src) throws IOException;

    /** Gathering write; returns the bytes written, 0 when the sink is full. Writer role held. */
    protected abstract long writeBytes(ByteBuffer[] srcs, int offset, int length) throws IOException;

    /** Reads into {@code dst}; returns the bytes read, 0 when none are ready, -1 at the end of the stream. */
    protected abstract int readBytes(ByteBuffer dst) throws IOException;

    /** True when a short read took all the stream held and more will be reported (a socket's): stop, no read for 0. */
    protected boolean shortReadDrains() {
        return false;
    }

    /**
     * The sink took less than it was offered: call {@link #onWritable()} on the loop thread once it can take
     * more (TCP: interest in OP_WRITE). Called on the loop thread.
     */
    protected abstract void requestWritable();

    /**
     * Stops ({@code false}) or resumes reporting readability: the reader waits for room in the receive budget.
     * Called on the loop thread. A transport that cannot stop may ignore it; {@link #onReadable()} then returns
     * at once while the reader waits.
     */
    protected abstract void readInterest(boolean on);

    /** Releases the byte stream (the socket, the ring). Called once, on close, from any thread. */
    protected abstract void closeStream();

    /** Large bodies beside the byte stream; null (default): none, and encoding 255 is a protocol error. Any thread. */
    protected OutOfBandBodies outOfBandBodies() {
        return null;
    }

    // ================================================================== hooks the transport calls

    /**
     * Sends this side's preface and HELLO, and with a cluster secret its CHALLENGE. The byte stream is connected; the
     * loop thread.
     */
    protected final void startHandshake() throws IOException {
        state.compareAndSet(CONNECTING, HANDSHAKE);
        ByteBuffer opening = ByteBuffer.allocate(Handshake.LENGTH + SecretHandshake.FRAME_LENGTH)
                .order(ByteOrder.LITTLE_ENDIAN);
        TransportSettings s = core.settings();
        Handshake.encode(opening, core.context().nodeId(), core.context().rank().getAsInt(), core.context().role(),
                s.maxConcurrentRequests(), s.maxMessageSize(), s.protocolVersion(), s.acceptedEncodings(),
                SecretHandshake.helloFlags(s));
        secretHandshake = SecretHandshake.afterOpening(opening, s, outbound, "the peer at " + remoteAddress);
        writeHandshake(opening.flip());
    }

    private void writeHandshake(ByteBuffer b) throws IOException {
        writeBytes(b);      // into a stream that carried nothing else: a short write means the peer is not reading
        if (b.hasRemaining()) {
            throw new IOException("handshake could not be written");
        }
    }

    /** The stream has bytes to read (or reached its end): read and dispatch. The loop thread. */
    protected final void onReadable() throws IOException {
        if (!reading.compareAndSet(false, true)) {
            return;     // a caller is polling this connection right now; the loop is told again if bytes are left
        }
        try {
            readAsWriter();
        } finally {
            reading.set(false);
        }
    }

    /** The sink can take bytes again after {@link #requestWritable()}. The loop thread. */
    protected final void onWritable() {
        writer.onWritable();
    }

    /**
     * Periodic checks, on the loop thread (every 25 ms or so): handshake timeout, keepalive PING and timeout, a
     * large frame that stalls or waits for budget, and buffers idle long enough to go back to the pool.
     */
    protected final void onTick(long nowNanos) {
        int s = state.get();
        if (s == OPEN) {
            tickOpen(nowNanos);
            return;
        }
        long timeoutNs = core.settings().handshakeTimeout().toNanos();
        if ((s == CONNECTING || s == HANDSHAKE) && nowNanos - createdNanos > timeoutNs) {
            core.warnAboutPeer(remoteAddress, "handshake timeout", "no handshake within " + timeoutNs / 1_000_000L + " ms");
            closeWith(unavailable("handshake with " + remoteAddress + " timed out", null));
        }
    }

    private void tickOpen(long nowNanos) {
        reader.sampleActivity(nowNanos);
        writer.sampleActivity(nowNanos);
        // While the reader has stopped to wait for receive budget, the silence is this side's, not the peer's.
        long silent = reader.waitingForBudget() ? 0 : nowNanos - reader.lastReadNanos;
        long timeout = keepaliveTimeoutNs;
        long interval = keepaliveIntervalNs;
        if (timeout > 0 && silent > timeout) {
            core.warnAboutPeer(remoteAddress, "keepalive timeout", "nothing received for " + silent / 1_000_000L + " ms");
            closeWith(unavailable("connection to " + remoteAddress + " timed out: nothing received for "
                    + silent / 1_000_000L + " ms", null));
            return;
        }
        if (interval > 0 && (silent > interval || nowNanos - writer.lastWriteNanos() > interval)
                && nowNanos - lastPingNanos > interval) {
            // Ping when we heard nothing (is the peer alive?) and when we sent nothing (the peer's own timeout
            // counts what it receives: a node that only listens must still renew its lease).
            lastPingNanos = nowNanos;
            offer(new LivenessFrame(FrameType.PING, nowNanos));
        }
        String stalled = reader.checkProgress(nowNanos);
        if (stalled != null) {
            core.warnAboutPeer(remoteAddress, "stalled", stalled);
            closeWith(unavailable("connection to " + remoteAddress + " closed: " + stalled, null));
            return;
        }
        if (reading.compareAndSet(false, true)) {
            boolean resume;
            try {
                resume = reader.retryBudget();
                reader.releaseIfIdle(nowNanos, IDLE_BUFFER_RELEASE_NS);
            } finally {
                reading.set(false);
            }
            if (resume) {
                syncReadInterest();
                try {
                    onReadable();       // the header waiting in the read buffer may need no new bytes
                } catch (IOException e) {
                    fail(e);
                }
            }
        }
        writer.releaseIfIdle(nowNanos, IDLE_BUFFER_RELEASE_NS);
    }

    /** Closes with {@code cause} (idempotent, any thread); the first cause is the one reported. */
    protected final void closeWith(BatonException cause) {
        if (closeCause == null) {
            closeCause = cause;     // before CLOSED is visible, so a writer that sees CLOSED drops with it
        }
        int s;
        do {
            s = state.get();
            if (s == CLOSED) {
                return;
            }
        } while (!state.compareAndSet(s, CLOSED));
        endHandshakeCount();
        try {
            closeStream();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing the stream of " + remoteAddress, e);
        }
        writer.wakeWaiters();
        // Reported from the loop's task queue, never inline: the thread that noticed may be a sender holding its
        // own locks (the master's coordination lock, say), and the handler takes others.
        loop.post(() -> core.closed(this, cause));
        loop.execute(() -> {
            if (reading.compareAndSet(false, true)) {
                try {
                    reader.releaseAll();
                } finally {
                    reading.set(false);
                }
            }
            writer.afterClose();
        });
        writer.dropWhenFree();
    }

    /** Closes after an I/O failure or an unexpected exception on the loop. Any thread. */
    protected final void fail(Throwable t) {
        if (t instanceof IOException) {
            closeWith(unavailable("connection to " + remoteAddress + " broke: " + t.getMessage(), null));
        } else {
            LOG.log(System.Logger.Level.ERROR, "unexpected error on connection " + remoteAddress, t);
            closeWith(Status.of(Status.Code.INTERNAL, "connection " + remoteAddress + ": " + t).withCause(t).asException());
        }
    }

    /** The loop this connection belongs to. */
    protected final ConnectionLoop loop() {
        return loop;
    }

    // ================================================================== sending

    @Override
    public final int offer(OutboundFrame frame) {
        return writer.offer(frame);
    }

    @Override
    public final boolean awaitCapacity(int bytes, long deadlineNanos) throws InterruptedException {
        return writer.awaitCapacity(bytes, deadlineNanos);
    }

    @Override
    public final long lastReceivedNanos() {
        return reader.lastReadNanos;
    }

    /** Bytes read from this connection since it opened (bodies carried out of band included). */
    public final long bytesRead() {
        return reader.bytesRead();
    }

    /** Bytes written to this connection since it opened (bodies carried out of band included). */
    public final long bytesWritten() {
        return writer.bytesWritten();
    }

    @Override
    public final long queuedBytes() {
        return writer.queuedBytes();
    }

    // ---- for the writer

    @Override
    public final BatonException closeCause() {
        return closeCause;
    }

    // ================================================================== receiving

    /**
     * Reads and dispatches. While it does, the loop holds the writer role (when it is free), so the answers
     * inline handlers give to a whole batch of requests go out in one gathering write at the end instead of
     * one write each.
     */
    private void readAsWriter() throws IOException {
        boolean holdsWriterRole = state.get() == OPEN && writer.tryTakeRole();
        dispatchingAsWriter = holdsWriterRole;
        try {
            reader.readAndDispatch();
        } finally {
            dispatchingAsWriter = false;
            if (holdsWriterRole) {
                writer.writeLoop();
            }
        }
    }

    /**
     * Reads and dispatches what has arrived, on the calling thread, if no other thread is reading. A caller that
     * spins for its response calls this instead of waiting for the loop to wake up: on a machine where a
     * cross-core wake-up costs 20-40 µs, that is most of a round trip.
     */
    @Override
    public final boolean poll() {
        if (state.get() != OPEN || !reading.compareAndSet(false, true)) {
            return false;
        }
        pollingMark.pollStarted();
        try {
            long before = reader.bytesRead();
            // Not as the writer: a handler or continuation run from here may send on this connection and must be
            // able to write it itself.
            reader.readAndDispatch();
            return reader.bytesRead() != before;
        } catch (IOException | RuntimeException e) {
            fail(e);
            return false;
        } finally {
            pollingMark.pollEnded();
            reading.set(false);
        }
    }

    /** True while the calling thread dispatches frames of some connection through {@link #poll()}. */
    public static boolean isPollingThread() {
        return PollingMark.current() != null;
    }

    @Override
    public final boolean readByCurrentThread() {
        return loop.inLoop() || PollingMark.current() == this;
    }

    // ---- called by the reader (which holds the reading role)

    int state() {
        return state.get();
    }

    /** The peer's opening was read ({@code b} at {@code at}): open, wait for its proof, or refuse it. */
    void onPeerOpening(PeerIdentity peer, int helloFlags, ByteBuffer b, int at) {
        ClusterSecret secret = core.settings().clusterSecret();
        String refusal = SecretHandshake.checkOpening(secret, core.context().nodeId(), peer, helloFlags,
                "the peer at " + remoteAddress);
        if (refusal != null) {
            refuseUnauthenticated(refusal);
        } else if (secret == null) {
            onHandshake(peer);
        } else if (secretHandshake == null) {
            protocolError("the transport read the peer's opening before it sent its own");
        } else {
            secretHandshake.peerOpening(b, at, helloFlags, peer);
        }
    }

    /** How long the peer's next CHALLENGE, PROOF or MEMBER_KEY is: all the reader may read of the stream for now. */
    int secretFrameLength() {
        return secretHandshake.nextFrameLength();   // not null: the reader asks only while the handshake proves
    }

    /** The member key the peer proved in its handshake (with a cluster secret, both sides having one), or null. */
    @Override
    public java.security.Principal peerPrincipal() {
        return provedKey;
    }

    /** A whole CHALLENGE, PROOF or MEMBER_KEY of the peer's at {@code b}'s position (the reader advances past it). */
    void onSecretFrame(ByteBuffer b) throws IOException {
        SecretHandshake h = secretHandshake;      // not null: the state stays HANDSHAKE after an opening only with it
        boolean challengedBefore = h.challenged();
        String refusal = h.onFrame(b);
        if (refusal != null) {
            refuseUnauthenticated(refusal);
        } else if (!challengedBefore) {
            writeHandshake(h.proof());
        } else if (h.proved()) {
            secretHandshake = null;
            provedKey = h.peerKey();
            onHandshake(h.provedPeer());
        }
    }

    /** The peer failed the secret's check: closed; the opener reports it, the acceptor logs it (rate-limited). */
    private void refuseUnauthenticated(String why) {
        if (!outbound) {
            core.authenticationFailed(admittedFrom != null ? admittedFrom : remoteAddress, why);
        }
        closeWith(Status.of(Status.Code.UNAUTHENTICATED, why).asException());
    }

    /** The peer's opening was read (and its secret proved): unless the handler refuses it, opens and sends. */
    void onHandshake(PeerIdentity peer) {
        String refused = core.context().handler().refusal(this, peer);
        if (refused != null) {
            refuseUnauthenticated(refused);
            return;
        }
        remoteIdentity = peer;
        if (!state.compareAndSet(HANDSHAKE, OPEN)) {
            return;
        }
        endHandshakeCount();
        core.opened(this);
        // The loop held the writer role through the handshake: send what queued meanwhile.
        onWritable();
    }

    private void endHandshakeCount() {
        if (handshakeCounted.compareAndSet(true, false)) {
            core.releaseAdmission(admittedFrom);
        }
    }

    /** One frame arrived; liveness is the transport's business, everything else goes to the handler. */
    void deliver(InboundHeader header, Message payload) {
        pollingMark.beforeDelivery(this);
        int type = header.type();
        if (type == FrameType.PING) {
            MESSAGES.release(payload);
            offer(new LivenessFrame(FrameType.PONG, header.requestId()));
        } else if (type == FrameType.PONG) {
            MESSAGES.release(payload);
        } else {
            core.context().handler().onFrame(this, header, payload);
        }
        if (dispatchingAsWriter && writer.offeredSinceFlush() >= MID_BATCH_FLUSH_FRAMES) {
            // Send what the batch produced so far, so the peer works on it while we go on: 64 pipelined calls, one
            // connection: 0.76 M -> 1.2-1.3 M calls/s. (It costs syscalls: 4 x 64 calls spread over 2 servers,
            // CPU-bound on 2 cores: 1.7 M -> 1.35 M.)
            writer.flushAll();
        }
    }

    /**
     * The reader started or stopped waiting for budget: the loop sets the stream's read interest to match. The task
     * applies the state at the time it runs, so a pause and a resume may run in either order.
     */
    void syncReadInterestLater() {
        loop.execute(syncReadInterest);
    }

    private void syncReadInterest() {
        if (state.get() != CLOSED) {
            readInterest(!reader.waitingForBudget());
        }
    }

    void protocolError(String why) {
        core.warnAboutPeer(remoteAddress, "protocol error", "protocol error: " + why);
        core.protocolError();
        closeWith(Status.of(Status.Code.PROTOCOL_ERROR, remoteAddress + ": " + why).asException());
    }

    void endOfStream() {      // closed unread by a TLS port, say: say what the plain side can suspect
        closeWith(unavailable("connection closed by " + remoteAddress + (state.get() == HANDSHAKE && reader.bytesRead()
                == 0 ? " before it sent anything (does it require TLS, which this side does not speak?)" : ""), null));
    }

    // ================================================================== TransportConnection

    @Override
    public final void keepalive(Duration interval, Duration timeout) {
        keepaliveIntervalNs = Math.max(0, interval.toNanos());
        keepaliveTimeoutNs = Math.max(0, timeout.toNanos());
    }

    @Override
    public final void close() {
        closeWith(Status.of(Status.Code.CLOSED, "connection to " + remoteAddress + " closed locally").asException());
    }

    @Override
    public final PeerIdentity remoteIdentity() {
        return remoteIdentity;
    }

    @Override
    public final String remoteAddress() {
        return remoteAddress;
    }

    @Override
    public final boolean isOpen() {
        return state.get() != CLOSED;
    }

    @Override
    public final Object attachment() {
        return attachment;
    }

    @Override
    public final void attach(Object attachment) {
        this.attachment = attachment;
    }

    /** True while this connection holds a read or send buffer (an idle one holds none). For tests. */
    public final boolean holdsBuffers() {
        return reader.holdsBuffer() || writer.holdsBuffer();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + remoteAddress + (outbound ? ", outbound" : ", inbound") + ", "
                + state.get() + "]";
    }

    static BatonException unavailable(String message, Throwable cause) {
        Status s = Status.of(Status.Code.UNAVAILABLE, message);
        return (cause == null ? s : s.withCause(cause)).asException();
    }
}
