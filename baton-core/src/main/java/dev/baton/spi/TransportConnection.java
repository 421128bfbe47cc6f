package dev.baton.spi;

import dev.baton.BatonException;

/**
 * One bidirectional connection to a peer. Carries calls in both directions.
 *
 * <p>Thread-safe: any thread may {@link #offer} frames; the transport serialises the writes (the first idle
 * caller becomes the writer and drains everyone's frames, see docs/concurrency.md).
 */
public interface TransportConnection {

    /** {@link #offer} result: queued (and possibly already written). */
    int OFFERED = 0;
    /** {@link #offer} result: the outstanding bytes or frames limit is reached; the frame was not taken. */
    int BACK_PRESSURED = 1;
    /** {@link #offer} result: the connection is closed; the frame was not taken. */
    int CLOSED = 2;

    /**
     * Queues a frame for sending without blocking. On {@link #OFFERED} the transport owns the frame until it
     * calls {@code onWritten} or {@code onDropped}; on any other result the caller still owns it.
     */
    int offer(OutboundFrame frame);

    /**
     * Waits until a frame of {@code bytes} would be accepted by {@link #offer}, or until {@code deadlineNanos}
     * ({@link System#nanoTime()} clock). Returns false on timeout or close. Must not be called on a transport
     * thread.
     */
    boolean awaitCapacity(int bytes, long deadlineNanos) throws InterruptedException;

    /**
     * Reads and dispatches, on the calling thread, whatever frames have arrived, unless another thread is
     * reading this connection. Frames are dispatched exactly as on an I/O thread (so inline handlers may run
     * here). Returns whether anything was read. Transports that cannot do this return false.
     */
    default boolean poll() {
        return false;
    }

    /**
     * The calling thread starts {@link #poll()}ing this connection over and over (a blocking caller spinning for its
     * response) and calls {@link #pollingStopped()} once it stops. While a thread polls, what arrives is read by it:
     * a transport whose event loop spins while idle may let that loop sleep meanwhile, and a peer need not wake it.
     * Every call is paired with one {@link #pollingStopped()} on the same thread; several threads may poll at once.
     */
    default void pollingStarted() {
    }

    /** The calling thread stopped polling ({@link #pollingStarted()}); the event loop watches the connection again. */
    default void pollingStopped() {
    }

    /**
     * True when the calling thread is the one that reads this connection right now (its I/O thread, or a
     * caller polling it): such a thread must not block waiting for a frame of this connection.
     */
    default boolean readByCurrentThread() {
        return false;
    }

    /** The peer's identity; null until the handshake completed. */
    PeerIdentity remoteIdentity();

    /**
     * Who the transport proved the peer to be: the subject of the certificate a TLS peer presented and the transport
     * verified; over shared memory, the peer's operating-system user, as the kernel reports it for the connection's
     * Unix socket; otherwise, with a cluster secret, the member key the peer signed its handshake with
     * ({@link MemberKey.KeyPrincipal}, set by the connection core before the connection opens). Null when nothing
     * authenticates the peer (plain TCP without a secret), and before the handshake completed.
     */
    default java.security.Principal peerPrincipal() {
        return null;
    }

    /** A short description of the remote address, for logs and errors. */
    String remoteAddress();

    /** True until closed or broken. */
    boolean isOpen();

    /**
     * Why the connection closed, as it will be reported to {@link FrameHandler#onClose}; null while open (or when
     * the transport cannot say). Set before {@link #isOpen()} turns false, so a caller that sees it closed can
     * tell its user why.
     */
    default BatonException closeCause() {
        return null;
    }

    /** Bytes queued but not yet written. */
    long queuedBytes();

    /**
     * When this connection last received anything ({@link System#nanoTime()}), pings included: what the master
     * shows as a node's lease age. -1 when the transport does not know.
     */
    default long lastReceivedNanos() {
        return -1;
    }

    /**
     * Liveness for this connection: when nothing was received or sent for {@code interval} a PING goes out (the
     * peer's transport answers PONG); when nothing arrived for {@code timeout} the connection is closed with
     * UNAVAILABLE. Zero turns either off. Over the master connection this is the node's lease.
     */
    void keepalive(java.time.Duration interval, java.time.Duration timeout);

    /** Closes the connection; unsent frames are dropped with {@code CLOSED}. Idempotent. */
    void close();

    /** State the connection's user attaches (the runtime keeps its per-connection call table here). */
    Object attachment();

    void attach(Object attachment);
}
