package dev.baton.spi.connection;

import dev.baton.BatonException;
import dev.baton.spi.LogLimiter;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportSettings;
import dev.baton.spi.TransportStats;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What every {@link FramedConnection} of one transport shares: the node's context (handler, settings,
 * identity), the pool of receive and send buffers, the budget of large frames in progress, the admission of
 * connections into their handshake, the set of live connections, and the counters behind
 * {@link TransportStats}. A transport creates one and passes it to each connection it makes.
 *
 * <p>Thread-safe.
 */
public final class TransportCore {

    private static final System.Logger LOG = System.getLogger(TransportCore.class.getName());

    private final TransportContext context;
    private final BufferPool pool;
    private final ReceiveBudget budget;
    private final Set<FramedConnection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger pendingHandshakes = new AtomicInteger();
    private final Map<InetAddress, Integer> pendingByAddress = new ConcurrentHashMap<>();
    private final AtomicLong connectionsOpened = new AtomicLong();
    private final AtomicLong protocolErrors = new AtomicLong();
    private final AtomicLong refusedConnections = new AtomicLong();
    private final AtomicLong heldBufferBytes = new AtomicLong();
    /** Bytes read from and written to connections that have closed (open ones count their own). */
    private final AtomicLong closedBytesRead = new AtomicLong();
    private final AtomicLong closedBytesWritten = new AtomicLong();
    private final AtomicLong messagesCompressed = new AtomicLong();
    private final AtomicLong compressionSavedBytes = new AtomicLong();
    private final AtomicLong messagesDecompressed = new AtomicLong();
    private final LogLimiter authFailures = new LogLimiter(60_000_000_000L);
    private final LogLimiter peerWarnings = new LogLimiter(60_000_000_000L);

    public TransportCore(TransportContext context, BufferPool pool) {
        this.context = context;
        this.pool = pool;
        this.budget = new ReceiveBudget(context.settings().receiveBudgetBytes());
    }

    public TransportContext context() {
        return context;
    }

    public TransportSettings settings() {
        return context.settings();
    }

    public BufferPool pool() {
        return pool;
    }

    ReceiveBudget budget() {
        return budget;
    }

    /**
     * Admits a connection accepted from {@code remote} into its handshake, or returns false when
     * {@link TransportSettings#maxPendingHandshakes()} (or the per-address bound, loopback exempt) is reached: the
     * transport then closes it at once, before creating anything for it. An admitted connection is counted until
     * its handshake completes or it closes; pass {@code remote} to the connection's constructor so it can
     * release its place.
     */
    public boolean admitHandshake(InetAddress remote) {
        TransportSettings s = settings();
        if (pendingHandshakes.incrementAndGet() > s.maxPendingHandshakes()) {
            pendingHandshakes.decrementAndGet();
            return refuse(remote, "connections in their handshake");
        }
        if (remote != null && !remote.isLoopbackAddress()) {
            boolean[] over = new boolean[1];
            pendingByAddress.compute(remote, (a, n) -> {
                int next = n == null ? 1 : n + 1;
                over[0] = next > s.maxPendingHandshakesPerAddress();
                return over[0] ? n : Integer.valueOf(next);
            });
            if (over[0]) {
                pendingHandshakes.decrementAndGet();
                return refuse(remote, "connections in their handshake from " + remote);
            }
        }
        return true;
    }

    private boolean refuse(InetAddress remote, String what) {
        // Logged once per thousand refusals: a flood must not become a flood of log lines.
        if (refusedConnections.getAndIncrement() % 1000 == 0) {
            LOG.log(System.Logger.Level.WARNING, "refusing a connection from {0}: too many {1} (refused so far: {2})",
                    remote, what, refusedConnections.get());
        }
        return false;
    }

    /**
     * Logs a warning that a connection to {@code remoteAddress} is closed because of what its peer did (a protocol
     * error, a handshake or keepalive timeout, a stalled frame, a failed accept): at most once a minute per remote
     * host and {@code kind}, with how many were held back since, so that a thousand bad connections from one host
     * are a line a minute, not a thousand lines.
     */
    public void warnAboutPeer(String remoteAddress, String kind, String message) {
        long held = peerWarnings.admit(hostOf(remoteAddress) + ' ' + kind);
        if (held == 0) {
            LOG.log(System.Logger.Level.WARNING, "closing connection {0}: {1}", remoteAddress, message);
        } else if (held > 0) {
            LOG.log(System.Logger.Level.WARNING, "closing connection {0}: {1} ({2} more from that host since the last"
                    + " such line)", remoteAddress, message, held);
        }
    }

    /** The host part of an address as {@code InetSocketAddress.toString()} writes it ({@code host/ip:port}). */
    private static String hostOf(String remoteAddress) {
        int colon = remoteAddress.lastIndexOf(':');
        return colon > 0 ? remoteAddress.substring(0, colon) : remoteAddress;
    }

    /**
     * Gives back the place {@link #admitHandshake} gave a connection from {@code remote}. A connection does it
     * itself when its handshake ends; a transport calls it only when it could not build the connection it admitted.
     */
    public void releaseAdmission(InetAddress remote) {
        pendingHandshakes.decrementAndGet();
        if (remote != null && !remote.isLoopbackAddress()) {
            pendingByAddress.computeIfPresent(remote, (a, n) -> n <= 1 ? null : n - 1);
        }
    }

    /** Tracks {@code c} until it closes; {@link #closeAll} closes it. Call once the connection is constructed. */
    public void track(FramedConnection c) {
        connections.add(c);
    }

    /** Closes every connection of the transport. */
    public void closeAll() {
        for (FramedConnection c : List.copyOf(connections)) {
            c.close();
        }
    }

    /** Counters of this transport since it started. */
    public TransportStats stats() {
        long queued = 0;
        long read = closedBytesRead.get();
        long written = closedBytesWritten.get();
        for (FramedConnection c : connections) {
            queued += c.queuedBytes();
            read += c.bytesRead();
            written += c.bytesWritten();
        }
        return new TransportStats(connectionsOpened.get(), connections.size(), pendingHandshakes.get(),
                refusedConnections.get(), protocolErrors.get(), queued, heldBufferBytes.get(),
                pool.retainedBytes(), budget.inUseBytes(), pool.allocations(), read, written, messagesCompressed.get(),
                compressionSavedBytes.get(), messagesDecompressed.get());
    }

    // ---------------------------------------------------------------- from connections

    void bufferHeld(int bytes) {
        heldBufferBytes.addAndGet(bytes);
    }

    void compressed(int size, int sent) {
        messagesCompressed.incrementAndGet();
        compressionSavedBytes.addAndGet(size - sent);
    }

    void decompressed() {
        messagesDecompressed.incrementAndGet();
    }

    void protocolError() {
        protocolErrors.incrementAndGet();
    }

    /**
     * A peer failed the cluster-secret check: a warning, at most once per {@code key} (its address) per minute, so
     * a peer that retries, or floods, costs a line a minute.
     */
    void authenticationFailed(Object key, String why) {
        long held = authFailures.admit(key);
        if (held >= 0) {
            LOG.log(System.Logger.Level.WARNING, "refused a connection: {0}{1}", why,
                    held == 0 ? "" : " (and " + held + " more from there since the last report)");
        }
    }

    void opened(FramedConnection c) {
        connectionsOpened.incrementAndGet();
        context.handler().onOpen(c);
    }

    void closed(FramedConnection c, BatonException cause) {
        if (connections.remove(c)) {
            closedBytesRead.addAndGet(c.bytesRead());
            closedBytesWritten.addAndGet(c.bytesWritten());
        }
        try {
            context.handler().onClose(c, cause);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "connection close handler failed", e);
        }
    }

    static void written(OutboundFrame f) {
        try {
            f.onWritten();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "onWritten failed", e);
        }
    }

    static void dropped(OutboundFrame f, BatonException cause) {
        try {
            f.onDropped(cause);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "onDropped failed", e);
        }
    }
}
