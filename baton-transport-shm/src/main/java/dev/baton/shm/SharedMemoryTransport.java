package dev.baton.shm;

import dev.baton.NodeInfo;
import dev.baton.SharedMemory;
import dev.baton.Status;
import dev.baton.spi.HostIdentity;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.TransportSettings;
import dev.baton.spi.TransportStats;
import dev.baton.spi.connection.BufferPool;
import dev.baton.spi.connection.FramedConnection;
import dev.baton.spi.connection.TransportCore;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A transport for nodes on one host: a node reaches every node with its own {@linkplain NodeInfo#hostId() host
 * identity} through shared memory, and every other node (and the master) through TCP, with no change to the code
 * that uses it.
 *
 * <pre>{@code
 * Node node = Node.join(NodeOptions.builder().transport(SharedMemoryTransport.factory()).build());
 * }</pre>
 *
 * <h2>How</h2>
 * Each connection is two single-producer single-consumer byte rings ({@link ShmRing}) in one file of the user's
 * shared-memory directory ({@link ShmDirectory}, {@code /dev/shm/baton-<user>}), mapped by both processes through
 * {@code java.lang.foreign} and unlinked as soon as both have it ({@link RingFile}); the connection core
 * ({@link FramedConnection}: handshake, combining writer, frame reader, keepalive, close protocol) runs over them
 * exactly as over a socket. A node that listens also listens on a Unix socket in that directory; a connection's
 * socket carries its set-up, its doorbell (a byte, sent only when the other side sleeps) and its liveness (the
 * kernel closes it when a process ends, so a peer killed with SIGKILL is noticed at once, not after a keepalive
 * timeout).
 *
 * <p>A node whose options name no transport gets this one (through {@link ShmProvider}) whenever this module is
 * on its path, in the mode of {@code NodeOptions.sharedMemory()}; name it in the options to set the ring size or
 * the directory.
 *
 * <h2>Modes</h2>
 * {@link SharedMemory#PREFERRED} (the default) uses shared memory when it can and TCP otherwise;
 * {@link SharedMemory#DISABLED} never uses it (the node is a plain TCP node); {@link SharedMemory#REQUIRED} reaches
 * other nodes only through shared memory: a connect to a node on another host, or one that does not listen here,
 * fails with UNAVAILABLE (benchmarks and tests use it to be sure which path they measure). The master is always
 * reached by TCP.
 *
 * <h2>Threads</h2>
 * {@link TransportSettings#ioThreads()} loops ({@link ShmLoop}) named {@code baton-shm-<name>-<i>}, started by the
 * first listen or shared-memory connect, which poll their rings for {@link Builder#idleSpin} (at least
 * {@link TransportSettings#ioSpin()}) after their last work and then sleep until a doorbell; plus the TCP
 * transport's own threads.
 *
 * <p>Thread-safe. {@link #close()} closes every connection, stops the loops, removes this node's socket file and
 * closes the TCP transport; it is idempotent.
 */
public final class SharedMemoryTransport implements Transport {

    private static final System.Logger LOG = System.getLogger(SharedMemoryTransport.class.getName());
    /** The capacity of each ring unless the builder says otherwise: 1 MiB each way. */
    public static final int DEFAULT_RING_BYTES = 1 << 20;
    /** Bytes of payload files each direction of a connection may have, unless the builder says otherwise. */
    public static final long DEFAULT_PAYLOAD_BYTES = 512L << 20;
    /** How long a loop polls its rings after its last work, unless the builder says otherwise: 50 µs. */
    public static final Duration DEFAULT_IDLE_SPIN = Duration.ofNanos(50_000);
    private static final long POOL_BYTES = 64L << 20;
    private static final long LOOP_STOP_TIMEOUT_MS = 2_000;
    private static final int SWEEPS_AFTER_PEER_END = 4;
    private static final long SWEEP_DELAY_NS = 50_000_000L;
    private static final long SWEEP_INTERVAL_NS = 1_000_000_000L;

    private final TransportCore core;
    private final Transport network;        // TCP, or TLS: the master and nodes on other hosts
    private final SharedMemory mode;
    private final int ringBytes;
    private final long payloadBytes;
    private final long idleSpinNs;
    private final ShmDirectory directory;       // null: shared memory is off or unavailable
    private final String hostId = HostIdentity.current();
    private final TransportSettings settings;
    private volatile ShmLoop[] loops = new ShmLoop[0];      // started on first use; written under this
    private final AtomicInteger nextLoop = new AtomicInteger();
    private final AtomicInteger accepted = new AtomicInteger();
    private ServerSocketChannel listener;       // guarded by this
    private Path socketPath;                    // guarded by this
    private volatile boolean closed;            // written under this
    private volatile int sweepsLeft;
    private volatile long nextSweepNanos;

    private SharedMemoryTransport(TransportContext context, Builder b) {
        this.mode = b.mode;
        this.ringBytes = b.ringBytes;
        this.payloadBytes = b.payloadBytes;
        this.idleSpinNs = Math.max(b.idleSpin.toNanos(), context.settings().ioSpin().toNanos());
        this.directory = mode == SharedMemory.DISABLED ? null : openDirectory(b.directory);
        this.core = new TransportCore(context, new BufferPool(POOL_BYTES));
        this.network = (b.network != null ? b.network : TransportFactory.tcp()).create(context);
        this.settings = context.settings();
    }

    /**
     * The loops, started by the first listen or shared-memory connect: a transport that only ever reaches the
     * master (a node's control connection has one of its own) starts none.
     */
    private ShmLoop[] loops() {
        ShmLoop[] l = loops;
        if (l.length > 0) {
            return l;
        }
        synchronized (this) {
            ensureOpen();
            if (loops.length == 0) {
                ShmLoop[] started = new ShmLoop[settings.ioThreads()];
                try {
                    for (int i = 0; i < started.length; i++) {
                        started[i] = new ShmLoop("baton-shm-" + core.context().name() + "-" + i,
                                idleSpinNs, i == 0 ? this::sweepIfDue : now -> { });
                    }
                } catch (IOException e) {
                    for (ShmLoop made : started) {
                        if (made != null) {
                            made.shutdown(LOOP_STOP_TIMEOUT_MS);
                        }
                    }
                    throw Status.of(Status.Code.UNAVAILABLE, "cannot open a selector: " + e).withCause(e)
                            .asException();
                }
                for (ShmLoop made : started) {
                    made.start();
                }
                loops = started;
            }
            return loops;
        }
    }

    private static ShmDirectory openDirectory(Path configured) {
        try {
            return ShmDirectory.open(configured != null ? configured : ShmDirectory.defaultPath());
        } catch (IOException | UnsupportedOperationException e) {
            LOG.log(System.Logger.Level.WARNING, "shared memory is not available, using TCP only: {0}", e.toString());
            return null;
        }
    }

    /** A factory of shared-memory transports with the defaults: {@link SharedMemory#PREFERRED}, 1 MiB rings. */
    public static TransportFactory factory() {
        return builder().build();
    }

    /** A factory of shared-memory transports in {@code mode}, with 1 MiB rings. */
    public static TransportFactory factory(SharedMemory mode) {
        return builder().mode(mode).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options of the transports a factory makes. */
    public static final class Builder {
        private SharedMemory mode = SharedMemory.PREFERRED;
        private int ringBytes = DEFAULT_RING_BYTES;
        private long payloadBytes = DEFAULT_PAYLOAD_BYTES;
        private TransportFactory network;
        private Duration idleSpin = DEFAULT_IDLE_SPIN;
        private Path directory;

        private Builder() {
        }

        public Builder mode(SharedMemory mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * Bytes of each ring (each direction of each connection), a power of two from 4 KiB to 1 GiB. Messages
         * larger than a ring stream through it in parts; a larger ring lets more be in flight.
         */
        public Builder ringBytes(int ringBytes) {
            if (Integer.bitCount(ringBytes) != 1 || ringBytes < RingFile.MIN_CAPACITY
                    || ringBytes > RingFile.MAX_CAPACITY) {
                throw new IllegalArgumentException("ringBytes must be a power of two from " + RingFile.MIN_CAPACITY
                        + " to " + RingFile.MAX_CAPACITY + ", was " + ringBytes);
            }
            this.ringBytes = ringBytes;
            return this;
        }

        /**
         * The transport for the master and for nodes on other hosts (default {@link TransportFactory#tcp()}): a node
         * with TLS gets its TLS factory here, so its neighbours on this host talk over shared memory and everyone
         * else over TLS. A shared-memory peer's {@link dev.baton.spi.TransportConnection#peerPrincipal() principal} is
         * the operating-system user the kernel reports for its socket, never a certificate.
         */
        public Builder network(TransportFactory network) {
            this.network = Objects.requireNonNull(network, "network");
            return this;
        }

        /**
         * The most bytes of payload files each direction of a connection may have (default 512 MiB); 0 sends every
         * body through the ring. Bodies of 64 KiB or more go into these files, beside the ring, and are lent to the
         * reader in place; a body that finds no room (the reader still holds the others) goes through the ring. Files
         * are made as bodies need them, with their pages, and given back after a second unused: the budget bounds
         * the memory, it does not reserve it.
         */
        public Builder payloadBytes(long payloadBytes) {
            if (payloadBytes < 0) {
                throw new IllegalArgumentException("payloadBytes must not be negative, was " + payloadBytes);
            }
            this.payloadBytes = payloadBytes;
            return this;
        }

        /**
         * How long a loop keeps polling its rings after its last work before it sleeps (the node's
         * {@code ioSpin} when that is longer); default 50 µs. A poll reads one shared position and makes no system
         * call, and the next message of a busy peer usually comes within it, so it saves the peer a doorbell and
         * this loop a wake-up (20-40 µs here) on every message; a sleeping loop costs nothing. Zero sleeps at once.
         * This is the most a loop spins: on a crowded host (its thread kept off its core while it wants to run) it
         * spins less, down to not at all, and gets its spin back once it runs freely (docs/shm.md).
         */
        public Builder idleSpin(Duration idleSpin) {
            if (idleSpin.isNegative()) {
                throw new IllegalArgumentException("idleSpin must not be negative, was " + idleSpin);
            }
            this.idleSpin = idleSpin;
            return this;
        }

        /**
         * The directory where this user's nodes meet (default {@code /dev/shm/baton-<user>}); made owner-only if
         * missing, and refused (TCP only) if it exists and is not this user's own with {@code rwx------}.
         */
        public Builder directory(Path directory) {
            this.directory = Objects.requireNonNull(directory, "directory");
            return this;
        }

        public TransportFactory build() {
            Builder copy = new Builder();
            copy.mode = mode;
            copy.ringBytes = ringBytes;
            copy.payloadBytes = payloadBytes;
            copy.network = network;
            copy.idleSpin = idleSpin;
            copy.directory = directory;
            return context -> new SharedMemoryTransport(context, copy);
        }
    }

    // ------------------------------------------------------------------ listening

    @Override
    public InetSocketAddress listen(InetSocketAddress bind) throws IOException {
        InetSocketAddress bound = network.listen(bind);
        synchronized (this) {
            ensureOpen();
            if (directory != null && listener == null) {
                // Once per node (its control-connection transport never listens): sweep what dead processes left.
                directory.removeStale();
                Path path = directory.socketOf(core.context().nodeId());
                Files.deleteIfExists(path);
                ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    server.bind(UnixDomainSocketAddress.of(path));
                    server.configureBlocking(false);
                } catch (IOException e) {
                    server.close();
                    Files.deleteIfExists(path);
                    throw e;
                }
                listener = server;
                socketPath = path;
                ShmLoop first = loops()[0];
                first.execute(() -> {
                    try {
                        first.register(server, SelectionKey.OP_ACCEPT, new Acceptor(server));
                    } catch (IOException e) {
                        LOG.log(System.Logger.Level.WARNING, "cannot accept on {0}: {1}", path, e.toString());
                    }
                });
            }
        }
        return bound;
    }

    /** Accepts shared-memory connections on the first loop. */
    private final class Acceptor implements ShmLoop.Ready {
        private final ServerSocketChannel server;

        Acceptor(ServerSocketChannel server) {
            this.server = server;
        }

        @Override
        public void onReady(SelectionKey key) throws IOException {
            for (int i = 0; i < 64; i++) {
                SocketChannel ch = server.accept();
                if (ch == null) {
                    return;
                }
                accept(ch);
            }
        }

        @Override
        public void onFailure(Throwable t) {
            if (!closed) {
                LOG.log(System.Logger.Level.WARNING, "accepting a shared-memory connection failed", t);
            }
        }
    }

    /** Every path that does not hand {@code ch} to a connection closes it. */
    private void accept(SocketChannel ch) throws IOException {
        InetAddress from = InetAddress.getLoopbackAddress();
        boolean admitted = false;
        try {
            var peer = ch.getOption(jdk.net.ExtendedSocketOptions.SO_PEERCRED);
            if (!peer.user().equals(directory.owner())) {
                LOG.log(System.Logger.Level.WARNING, "refusing a shared-memory connection from user {0}",
                        peer.user().getName());
                ch.close();
                return;
            }
            synchronized (this) {
                if (closed || !core.admitHandshake(from)) {
                    ch.close();
                    return;
                }
                admitted = true;
                ch.configureBlocking(false);
                ShmConnection c = ShmConnection.server(core, nextLoop(), "shm:client-" + accepted.incrementAndGet(),
                        ch, from, directory, payloadBytes, this::peerEnded);
                admitted = false;       // the connection gives its place back now
                core.track(c);
                c.start(true);
            }
        } catch (IOException | RuntimeException e) {
            if (admitted) {
                core.releaseAdmission(from);
            }
            ch.close();
            throw e;
        }
    }

    // ------------------------------------------------------------------ connecting

    @Override
    public TransportConnection connect(InetSocketAddress remote, Function<TransportConnection, Object> attachment) {
        ensureOpen();
        return network.connect(remote, attachment);
    }

    @Override
    public TransportConnection connect(NodeInfo node, Function<TransportConnection, Object> attachment) {
        ensureOpen();
        if (mode == SharedMemory.DISABLED) {
            return network.connect(node.address(), attachment);
        }
        String unreachable;
        if (directory == null) {
            unreachable = "shared memory is not available on this node";
        } else if (hostId.isEmpty() || !hostId.equals(node.hostId())) {
            unreachable = "it runs on another host (" + (node.hostId().isEmpty() ? "unknown" : node.hostId()) + ")";
        } else {
            Optional<Path> socket = directory.findSocket(node.nodeId());
            if (socket.isEmpty()) {
                unreachable = "it does not listen for shared memory in " + directory.path();
            } else {
                TransportConnection c = connectShm(node, socket.get(), attachment);
                if (c != null) {
                    return c;
                }
                unreachable = "its socket " + socket.get() + " refused the connection";
            }
        }
        if (mode == SharedMemory.PREFERRED) {
            return network.connect(node.address(), attachment);
        }
        ShmConnection refused = ShmConnection.refused(core, nextLoop(), describe(node));
        refused.attach(attachment.apply(refused));
        core.track(refused);
        refused.refuse("shared memory is required, but " + unreachable);
        return refused;
    }

    /** A shared-memory connection to {@code node}, or null when its socket cannot be reached. */
    private TransportConnection connectShm(NodeInfo node, Path socket, Function<TransportConnection, Object> attachment) {
        Path ringPath = directory.newRingFile();
        RingFile rings;
        try {
            rings = RingFile.create(ringPath, ringBytes);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot create ring file {0}: {1}", ringPath, e.toString());
            return null;
        }
        SocketChannel ch = null;
        boolean connected;
        try {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.configureBlocking(false);
            connected = ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot connect to {0}: {1}", socket, e.toString());
            rings.unmap();
            deleteQuietly(ringPath);
            closeQuietly(ch);
            return null;
        }
        ShmConnection c = ShmConnection.client(core, nextLoop(), describe(node), ch, rings, ringPath, directory,
                payloadBytes, this::peerEnded);
        c.attach(attachment.apply(c));
        core.track(c);
        if (closed) {
            c.close();      // close() ran since ensureOpen, and its closeAll may have missed c
            return c;
        }
        c.start(connected);
        return c;
    }

    private static String describe(NodeInfo node) {
        return "shm:" + node.name() + "@" + node.address();
    }

    // ------------------------------------------------------------------ what dead peers leave

    /**
     * A peer's socket ended (it closed, or its process died): sweep the directory a few times over the next
     * seconds, since a process that died is gone only once its parent has reaped it. Any thread.
     */
    private void peerEnded() {
        sweepsLeft = SWEEPS_AFTER_PEER_END;
        nextSweepNanos = System.nanoTime() + SWEEP_DELAY_NS;
    }

    /** On the first loop's tick: removes what dead processes left, when a sweep is due. */
    private void sweepIfDue(long now) {
        if (directory != null && sweepsLeft > 0 && now - nextSweepNanos >= 0) {
            sweepsLeft--;
            nextSweepNanos = now + SWEEP_INTERVAL_NS;
            directory.removeStale();
        }
    }

    // ------------------------------------------------------------------ the rest

    @Override
    public boolean inTransportThread() {
        if (FramedConnection.isPollingThread()) {
            return true;
        }
        for (ShmLoop l : loops) {
            if (l.inLoop()) {
                return true;
            }
        }
        return network.inTransportThread();
    }

    @Override
    public String pathOf(TransportConnection connection) {
        return connection instanceof ShmConnection ? "shm" : network.pathOf(connection);
    }

    @Override
    public TransportStats stats() {
        return core.stats().plus(network.stats());
    }

    private ShmLoop nextLoop() {
        ShmLoop[] l = loops();
        return l[Math.floorMod(nextLoop.getAndIncrement(), l.length)];
    }

    private void ensureOpen() {
        if (closed) {
            throw Status.of(Status.Code.CLOSED, "transport closed").asException();
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (listener != null) {
                closeQuietly(listener);
                deleteQuietly(socketPath);
            }
        }
        core.closeAll();
        for (ShmLoop l : loops) {
            l.shutdown(LOOP_STOP_TIMEOUT_MS);
        }
        network.close();
    }

    private static void closeQuietly(java.io.Closeable c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "removing " + p, e);
        }
    }

    @Override
    public String toString() {
        return "SharedMemoryTransport[" + core.context().name() + ", " + mode + "]";
    }
}
