package dev.baton.internal.tcp;

import dev.baton.BatonException;
import dev.baton.Status;
import dev.baton.internal.tls.TlsContextSource;
import dev.baton.internal.tls.TlsFailures;
import dev.baton.spi.connection.BufferPool;
import dev.baton.spi.connection.FramedConnection;
import dev.baton.spi.connection.TransportCore;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.security.Principal;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * A Baton connection over TLS on a TCP socket: {@link FramedConnection}'s glue with an {@link SSLEngine} between the
 * core and the socket. The bytes inside TLS are exactly those of a plain connection (docs/protocol.md).
 *
 * <h2>Sequence</h2>
 * Once the socket is connected the loop thread runs the TLS handshake ({@link #advanceTls}); the core's state stays
 * CONNECTING (outbound) or HANDSHAKE (inbound) meanwhile, so its handshake timeout covers TLS's too, and frames
 * offered meanwhile just queue. When TLS is established the verified peer certificate's subject becomes
 * {@link #peerPrincipal()} and Baton's own handshake starts ({@link #startHandshake()}), encrypted like everything
 * after it. A failed TLS handshake closes the connection with UNAUTHENTICATED saying why; the accepting side also
 * logs it, once per remote host ({@link TlsFailures}). In TLS 1.3 a client finishes its handshake before the server
 * has checked the client's certificate: the server's refusal then arrives as an alert during Baton's handshake,
 * and is reported the same way.
 *
 * <h2>Threads and buffers</h2>
 * The engine is used by the reader role (the loop, or a caller polling) for {@code unwrap} and by the writer role
 * (any thread) for {@code wrap}; the engine serialises the two itself. Delegated tasks (certificate checks, key
 * exchange) run inline, on the thread that meets them: the loop during the handshake; but on a virtual thread, the
 * socket unwatched meanwhile, when the check may wait for the network ({@link TlsContextSource#checksMayBlock}).
 * Every buffer is bounded and held only while it holds bytes: {@code netIn} (ciphertext read, at most
 * {@value #NET_BUFFER_SIZE} bytes, always room for one whole record), {@code appIn} (plaintext of one record the core
 * had no room for, from the transport's pool) and {@code netOut} (the ciphertext of up to three records not yet taken
 * by the socket). A peer's input can make none of them grow; a record the engine cannot authenticate closes the
 * connection.
 *
 * <p>The two ciphertext buffers are heap buffers ({@link CipherBuffers}), unlike the rest of Baton's I/O buffers: the
 * engine encrypts and decrypts a record in place in them, and the JDK's AES-GCM runs several times faster over a
 * heap buffer than over a direct one (its intrinsics work on arrays; a direct buffer goes through them in copied
 * chunks). The socket then copies through the JDK's per-thread direct buffer, which costs far less.
 *
 * <h2>Written means sent</h2>
 * The core counts a frame written once its last byte was written. Here bytes the engine has encrypted but the
 * socket has not yet taken are reported only once it has ({@link #owed}), so a frame is never counted written
 * while its record sits in {@code netOut}, and a close then drops it as never sent.
 */
final class TlsConnection extends ChannelConnection {

    /**
     * Ciphertext read per system call at most; room for three full records, so always for one whole (the JDK's
     * largest, with large fragments accepted, is about 33 KiB).
     */
    static final int NET_BUFFER_SIZE = 64 * 1024;
    private static final System.Logger LOG = System.getLogger(TlsConnection.class.getName());
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final SSLEngine engine;
    private final TlsContextSource source;
    private int trustChecked;                       // the trust generation the peer was last checked by; loop only
    private X509Certificate[] peerChain;            // set once TLS is established; loop only
    private final TlsFailures failures;
    private final BufferPool pool;
    private final CipherBuffers cipherBuffers;
    private final boolean outbound;
    private final int packetSize;
    private final int appSize;
    private volatile boolean established;
    private final boolean offloadTasks;             // the certificate check may wait for the network
    private boolean tasksRunning;                   // loop only
    private volatile Principal peerPrincipal;
    /** Whether the reader left bytes that need no new socket input; read by the loop to schedule a drain. */
    private volatile boolean leftover;
    private volatile boolean readPaused;
    /** The writer left ciphertext unsent; a close_notify must not be written after part of a record. */
    private volatile boolean cipherPending;
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final Runnable drain = this::drain;

    // ---- the reader role's (the loop during the TLS handshake)
    private ByteBuffer netIn;       // write mode: [netInStart, position) is ciphertext not unwrapped; null when empty
    private int netInStart;         // moves as records are unwrapped; back to 0 before the next read (see fill)
    private ByteBuffer appIn;       // read mode: plaintext not yet handed to the core; null when empty
    private boolean inboundDone;

    // ---- the writer role's (the loop during the TLS handshake)
    private ByteBuffer netOut;      // read mode: ciphertext not yet written; null when empty
    /** Plaintext bytes consumed into {@link #netOut} but not yet reported to the core as written. */
    private long owed;
    private final ByteBuffer[] single = new ByteBuffer[1];

    TlsConnection(TransportCore core, IoLoop loop, SocketChannel channel, String remoteAddress, boolean outbound,
                  InetAddress admittedFrom, SSLEngine engine, TlsContextSource source, int trustGeneration,
                  TlsFailures failures, CipherBuffers cipherBuffers) {
        super(core, loop, channel, remoteAddress, outbound, admittedFrom);
        this.engine = engine;
        this.source = source;
        this.trustChecked = trustGeneration;
        this.failures = failures;
        this.cipherBuffers = cipherBuffers;
        this.pool = core.pool();
        this.outbound = outbound;
        this.packetSize = engine.getSession().getPacketBufferSize();
        this.appSize = engine.getSession().getApplicationBufferSize();
        this.offloadTasks = source.checksMayBlock();
    }

    @Override
    public Principal peerPrincipal() {
        return peerPrincipal;
    }

    // ================================================================== the TLS handshake (loop thread)

    @Override
    void connected() throws IOException {
        engine.beginHandshake();
        advanceTls();
    }

    @Override
    void onReadyOps(int ready) throws IOException {
        if (!established) {
            if (!tasksRunning) {
                advanceTls();
            }
            return;
        }
        if ((ready & SelectionKey.OP_WRITE) != 0) {
            onWritable();
        }
        if ((ready & SelectionKey.OP_READ) != 0 && isOpen()) {
            onReadable();
            if (leftover) {
                scheduleDrain();
            }
        }
    }

    /** Moves the TLS handshake as far as the socket allows; waits for OP_READ or OP_WRITE when it cannot go on. */
    private void advanceTls() {
        try {
            while (isOpen()) {
                switch (engine.getHandshakeStatus()) {
                    case NEED_WRAP -> {
                        if (!flushNetOut()) {
                            writeInterest();
                            return;
                        }
                        ByteBuffer out = cipherBuffers.acquire();
                        SSLEngineResult r;
                        try {
                            r = engine.wrap(EMPTY, out);
                        } catch (SSLException e) {
                            cipherBuffers.recycle(out);
                            throw e;
                        }
                        netOut = out.flip();
                        if (r.getStatus() != SSLEngineResult.Status.OK) {
                            throw new SSLException("TLS handshake stopped: " + r.getStatus());
                        }
                        if (!flushNetOut()) {
                            writeInterest();
                            return;
                        }
                        if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) {
                            tlsEstablished();
                            return;
                        }
                    }
                    case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                        SSLEngineResult r = unwrapOnce(null);
                        if (r == null || r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW) {
                            int n = fill();
                            if (n < 0) {
                                closeWith(Status.of(Status.Code.UNAVAILABLE, "TLS handshake with " + remoteAddress()
                                        + " failed: the peer closed the connection").asException());
                                return;
                            }
                            if (n == 0) {
                                return;     // OP_READ brings the rest
                            }
                        } else if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                            throw new SSLException("the peer closed TLS during its handshake");
                        } else if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) {
                            tlsEstablished();
                            return;
                        }
                    }
                    case NEED_TASK -> {
                        if (offloadTasks) {
                            offloadDelegatedTasks();
                            return;
                        }
                        EngineSteps.runTasks(engine);
                    }
                    default -> {
                        tlsEstablished();
                        return;
                    }
                }
            }
        } catch (SSLException e) {
            tlsFailed(e);
        } catch (IOException e) {
            fail(e);
        }
    }

    private void tlsEstablished() throws IOException {
        try {
            peerPrincipal = engine.getSession().getPeerPrincipal();
            var certificates = engine.getSession().getPeerCertificates();
            peerChain = Arrays.copyOf(certificates, certificates.length, X509Certificate[].class);
        } catch (SSLPeerUnverifiedException e) {
            throw new SSLException("the peer presented no certificate", e);     // never: both sides require one
        }
        established = true;
        startHandshake();
        if (netOut != null) {
            // Baton's 72-byte opening in one record into a socket that just finished a handshake: a short write
            // means the peer reads nothing.
            throw new IOException("handshake could not be written");
        }
        onReadable();       // the peer's opening may have come with its last handshake record
        if (leftover) {
            scheduleDrain();
        }
    }

    private void tlsFailed(SSLException e) {
        boolean notTls = TlsFailures.isNotTls(e);
        String why = TlsFailures.describe(e);
        if (!notTls) {
            EngineSteps.sendAlert(engine, channel, packetSize, cipherPending);
        }
        if (!outbound) {
            failures.refused(remoteHost(), remoteAddress(), why);
        }
        closeWith(unauthenticated(why, e));
    }

    /**
     * On every tick: lets the source look at its files and fetched revocation lists; when they brought other trust,
     * checks the peer's chain again and closes UNAUTHENTICATED if it is now refused (a revoked certificate is cut,
     * not only refused later).
     */
    @Override
    void afterTick(long nowNanos) {
        if (!established || !isOpen()) {
            return;
        }
        source.reloadIfChanged();
        int generation = source.trustGeneration();
        if (generation != trustChecked) {
            trustChecked = generation;
            String refused = source.refusal(peerChain, !outbound);
            if (refused != null) {
                String why = "TLS: closing the connection with " + remoteAddress() + ": the changed TLS trust refuses "
                        + "its peer: " + refused;
                LOG.log(System.Logger.Level.WARNING, why);
                closeWith(Status.of(Status.Code.UNAUTHENTICATED, why).asException());
            }
        }
    }

    private BatonException unauthenticated(String why, Throwable cause) {
        return Status.of(Status.Code.UNAUTHENTICATED, "TLS handshake with " + remoteAddress() + " failed: " + why)
                .withCause(cause).asException();
    }

    private String remoteHost() {
        try {
            return ((InetSocketAddress) channel.getRemoteAddress()).getAddress().getHostAddress();
        } catch (IOException | RuntimeException e) {
            return remoteAddress();
        }
    }

    /** Runs the handshake's tasks on a thread of their own, the socket unwatched meanwhile; then goes on. */
    private void offloadDelegatedTasks() {
        tasksRunning = true;
        pauseReadiness(true);
        EngineSteps.runTasksOffLoop(engine, ioLoop(), () -> {
            tasksRunning = false;
            if (isOpen()) {
                pauseReadiness(false);
                advanceTls();
            }
        });
    }

    // ================================================================== reading (the reader role)

    /** Reads ciphertext into {@link #netIn}, what it holds (less than a record) moved to the front; bytes, 0, or -1. */
    private int fill() throws IOException {
        if (netIn == null) {
            netIn = cipherBuffers.acquire();
        } else if (netInStart > 0) {
            int held = netIn.position() - netInStart;
            netIn.put(0, netIn, netInStart, held).position(held);
            netInStart = 0;
        }
        if (!netIn.hasRemaining()) {
            throw new SSLException("a TLS record larger than " + netIn.capacity() + " bytes");
        }
        return channel.read(netIn);
    }

    /**
     * Unwraps one record from {@link #netIn} into {@code dst}, or into {@link #appIn} when {@code dst} is null or
     * has less room than a record may hold. Null when {@link #netIn} holds no byte.
     */
    private SSLEngineResult unwrapOnce(ByteBuffer dst) throws IOException {
        if (netIn == null || netIn.position() == netInStart) {
            return null;
        }
        boolean staged = dst == null || dst.remaining() < appSize;
        ByteBuffer target = staged ? pool.acquire(appSize) : dst;
        SSLEngineResult r;
        int end = netIn.position();
        netIn.limit(end).position(netInStart);
        try {
            r = engine.unwrap(netIn, target);
        } finally {
            netInStart = netIn.position();
            netIn.limit(netIn.capacity()).position(end);
            if (netInStart == end) {
                netIn.clear();
                netInStart = 0;
            }
            if (staged) {
                target.flip();
                if (target.hasRemaining()) {
                    appIn = target;
                } else {
                    pool.recycle(target);
                }
            }
        }
        if (r.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
            if (staged) {
                throw new SSLException("a TLS record holds more than " + appSize + " bytes");
            }
            return unwrapOnce(null);     // dst had less room than this record needs: stage it
        }
        if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK && (established || !offloadTasks)) {
            EngineSteps.runTasks(engine);        // else the handshake's loop offloads them
        }
        return r;
    }

    @Override
    protected int readBytes(ByteBuffer dst) throws IOException {
        if (!established) {
            return 0;
        }
        int total = 0;
        boolean drained = false;
        try {
            while (dst.hasRemaining()) {
                if (appIn != null) {
                    total += takeStaged(dst);
                    continue;
                }
                if (inboundDone) {
                    return total > 0 ? total : -1;
                }
                SSLEngineResult r = unwrapOnce(dst);
                if (r != null && r.getStatus() != SSLEngineResult.Status.BUFFER_UNDERFLOW
                        && (r.bytesConsumed() > 0 || r.getStatus() == SSLEngineResult.Status.CLOSED)) {
                    if (appIn == null) {
                        total += r.bytesProduced();     // unwrapped straight into dst
                    }
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                        inboundDone = true;             // close_notify
                    } else {
                        checkPostHandshake(r.getHandshakeStatus());
                    }
                    continue;
                }
                if (drained) {
                    break;      // the last read took all the socket had (shortReadDrains)
                }
                int room = netIn == null ? NET_BUFFER_SIZE : netIn.capacity() - (netIn.position() - netInStart);
                int n = fill();
                if (n < 0) {
                    return total > 0 ? total : -1;
                }
                if (n == 0) {
                    break;
                }
                drained = n < room;
            }
        } catch (SSLException e) {
            return failedRead(e, total);
        } finally {
            releaseIdleInput();
        }
        return total;
    }

    /** Copies staged plaintext into {@code dst}; gives the stage back once empty. */
    private int takeStaged(ByteBuffer dst) {
        int n = Math.min(dst.remaining(), appIn.remaining());
        dst.put(dst.position(), appIn, appIn.position(), n);
        dst.position(dst.position() + n);
        appIn.position(appIn.position() + n);
        if (!appIn.hasRemaining()) {
            pool.recycle(appIn);
            appIn = null;
        }
        return n;
    }

    /**
     * After the handshake: a TLS 1.3 key update or session ticket is handled by the engine (its answer goes out
     * with the next record this side writes, at the latest the next keepalive PING); TLS 1.2 renegotiation is not
     * supported.
     */
    private void checkPostHandshake(SSLEngineResult.HandshakeStatus hs) throws SSLException {
        if ((hs == SSLEngineResult.HandshakeStatus.NEED_UNWRAP || hs == SSLEngineResult.HandshakeStatus.NEED_WRAP)
                && !"TLSv1.3".equals(engine.getSession().getProtocol())) {
            throw new SSLException("the peer asked for TLS renegotiation, which Baton does not support");
        }
    }

    /**
     * A TLS failure while reading. An alert before Baton's handshake completed is the peer refusing this side (a
     * TLS 1.3 server checks the client's certificate after the client finished): UNAUTHENTICATED, saying why.
     * Anything else (a record that fails authentication, garbage) breaks the connection.
     */
    private int failedRead(SSLException e, int total) throws IOException {
        if (remoteIdentity() == null && String.valueOf(e.getMessage()).contains("Received fatal alert")) {
            closeWith(unauthenticated(TlsFailures.describe(e), e));
            return total > 0 ? total : -1;
        }
        throw e;
    }

    /** Gives the input buffers back while they hold nothing, and tells the loop whether bytes were left. */
    private void releaseIdleInput() {
        if (netIn != null && netIn.position() == 0) {
            cipherBuffers.recycle(netIn);
            netIn = null;
        }
        boolean left = appIn != null || (netIn != null && wholeRecordBuffered(netIn, netInStart));
        leftover = left;
        if (left && !ioLoop().inLoop()) {
            scheduleDrain();    // a polling caller left them: the socket will not say so
        }
    }

    /** True when {@code in} (write mode) holds a whole TLS record from {@code start}: no socket input needed. */
    private static boolean wholeRecordBuffered(ByteBuffer in, int start) {
        int have = in.position() - start;
        return have >= 5 && have >= 5 + (((in.get(start + 3) & 0xff) << 8) | (in.get(start + 4) & 0xff));
    }

    private void scheduleDrain() {
        if (drainScheduled.compareAndSet(false, true)) {
            ioLoop().post(drain);
        }
    }

    /** On the loop: reads what the engine holds, since no socket event will announce it. */
    private void drain() {
        drainScheduled.set(false);
        if (!leftover || readPaused || !isOpen()) {
            return;         // resuming the read interest drains again
        }
        try {
            onReadable();
        } catch (IOException | RuntimeException e) {
            fail(e);
            return;
        }
        if (leftover) {
            scheduleDrain();        // a poller held the reader role, or the reader stopped after its batch
        }
    }

    @Override
    protected void readInterest(boolean on) {
        readPaused = !on;
        super.readInterest(on);
        if (on && leftover) {
            scheduleDrain();
        }
    }

    // ================================================================== writing (the writer role)

    @Override
    protected int writeBytes(ByteBuffer src) throws IOException {
        single[0] = src;
        try {
            return (int) writeBytes(single, 0, 1);
        } finally {
            single[0] = null;
        }
    }

    /**
     * Encrypts and writes; returns the plaintext bytes whose records the socket took in full (0 when it is full),
     * including those of earlier calls that waited in {@link #netOut}.
     */
    @Override
    protected long writeBytes(ByteBuffer[] srcs, int offset, int length) throws IOException {
        if (!flushNetOut()) {
            return 0;
        }
        long credit = owed;
        owed = 0;
        while (hasRemaining(srcs, offset, length)) {
            netOut = cipherBuffers.acquire();
            long consumed = 0;
            while (netOut.remaining() >= packetSize && hasRemaining(srcs, offset, length)) {
                SSLEngineResult r = engine.wrap(srcs, offset, length, netOut);
                if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                    throw new IOException("TLS session closed");
                }
                consumed += r.bytesConsumed();
                if (r.getStatus() != SSLEngineResult.Status.OK || r.bytesProduced() == 0) {
                    break;
                }
                if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                    EngineSteps.runTasks(engine);
                }
            }
            netOut.flip();
            owed = consumed;
            if (!flushNetOut()) {
                return credit;
            }
            credit += consumed;
            owed = 0;
        }
        return credit;
    }

    private static boolean hasRemaining(ByteBuffer[] srcs, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            if (srcs[i].hasRemaining()) {
                return true;
            }
        }
        return false;
    }

    /** Writes {@link #netOut}; true when nothing of it is left (it then goes back to the pool). */
    private boolean flushNetOut() throws IOException {
        ByteBuffer out = netOut;
        if (out == null) {
            return true;
        }
        if (out.hasRemaining()) {
            channel.write(out);
        }
        if (out.hasRemaining()) {
            cipherPending = true;
            return false;
        }
        netOut = null;
        cipherPending = false;
        cipherBuffers.recycle(out);
        return true;
    }

    // ================================================================== closing

    /** Sends close_notify (best effort, never after part of a record), then closes the socket. Any thread. */
    @Override
    protected void closeStream() {
        try {
            if (established && !cipherPending) {
                engine.closeOutbound();     // the engine now holds close_notify: sent as an alert is
                EngineSteps.sendAlert(engine, channel, packetSize, false);
            }
        } catch (RuntimeException e) {
            // the peer sees the end of the stream instead
        } finally {
            super.closeStream();
        }
    }
}
