package dev.baton;

import dev.baton.spi.ClusterSecret;
import dev.baton.spi.RegistryFactory;
import dev.baton.spi.TransportFactory;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;

/**
 * How a {@link Node} runs. Immutable; build with {@link #builder()}, derive with {@link #toBuilder()}.
 * {@link Builder#build()} checks every value and names the bad one.
 */
public final class NodeOptions {

    private final InetSocketAddress master;
    private final RegistryFactory registry;
    private final TransportFactory transport;
    private final SharedMemory sharedMemory;
    private final TlsOptions tls;
    private final InetSocketAddress bind;
    private final String name;
    private final int ioThreads;
    private final int lanes;
    private final int maxMessageSize;
    private final long maxQueuedBytesPerPeer;
    private final int maxQueuedFramesPerPeer;
    private final int maxConcurrentRequestsPerConnection;
    private final int compressionThreshold;
    private final boolean acceptCompression;
    private final Duration defaultTimeout;
    private final Duration ioSpin;
    private final Duration callerSpin;
    private final Duration joinTimeout;
    private final Duration drainTimeout;
    private final Duration keepaliveInterval;
    private final Duration keepaliveTimeout;
    private final ExecutorService handlerExecutor;
    private final List<ClientInterceptor> clientInterceptors;
    private final List<ServerInterceptor> serverInterceptors;
    private final ClusterSecret clusterSecret;
    private final Authorizer authorizer;

    private NodeOptions(Builder b) {
        master = b.master;
        registry = b.registry;
        transport = b.transport;
        sharedMemory = b.sharedMemory;
        tls = b.tls;
        bind = b.bind;
        name = b.name;
        ioThreads = b.ioThreads;
        lanes = b.lanes;
        maxMessageSize = b.maxMessageSize;
        maxQueuedBytesPerPeer = b.maxQueuedBytesPerPeer;
        maxQueuedFramesPerPeer = b.maxQueuedFramesPerPeer;
        maxConcurrentRequestsPerConnection = b.maxConcurrentRequestsPerConnection;
        compressionThreshold = b.compressionThreshold;
        acceptCompression = b.acceptCompression;
        defaultTimeout = b.defaultTimeout;
        ioSpin = b.ioSpin;
        callerSpin = b.callerSpin;
        joinTimeout = b.joinTimeout;
        drainTimeout = b.drainTimeout;
        keepaliveInterval = b.keepaliveInterval;
        keepaliveTimeout = b.keepaliveTimeout;
        handlerExecutor = b.handlerExecutor;
        clientInterceptors = List.copyOf(b.clientInterceptors);
        serverInterceptors = List.copyOf(b.serverInterceptors);
        clusterSecret = b.clusterSecret;
        authorizer = b.authorizer;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.master = master;
        b.registry = registry;
        b.transport = transport;
        b.sharedMemory = sharedMemory;
        b.tls = tls;
        b.bind = bind;
        b.name = name;
        b.ioThreads = ioThreads;
        b.lanes = lanes;
        b.maxMessageSize = maxMessageSize;
        b.maxQueuedBytesPerPeer = maxQueuedBytesPerPeer;
        b.maxQueuedFramesPerPeer = maxQueuedFramesPerPeer;
        b.maxConcurrentRequestsPerConnection = maxConcurrentRequestsPerConnection;
        b.compressionThreshold = compressionThreshold;
        b.acceptCompression = acceptCompression;
        b.defaultTimeout = defaultTimeout;
        b.ioSpin = ioSpin;
        b.callerSpin = callerSpin;
        b.joinTimeout = joinTimeout;
        b.drainTimeout = drainTimeout;
        b.keepaliveInterval = keepaliveInterval;
        b.keepaliveTimeout = keepaliveTimeout;
        b.handlerExecutor = handlerExecutor;
        b.clientInterceptors.addAll(clientInterceptors);
        b.serverInterceptors.addAll(serverInterceptors);
        b.clusterSecret = clusterSecret;
        b.authorizer = authorizer;
        return b;
    }

    /** The master's address (null when a custom {@link #registry()} is set). */
    public InetSocketAddress master() {
        return master;
    }

    /** The registry nodes join through, or null for the master at {@link #master()}. */
    public RegistryFactory registry() {
        return registry;
    }

    /**
     * The transport of the node's connections, or null for the default: its data connections and its connection
     * to the master (whose transport must match). The default is TCP, with shared memory to nodes on this host
     * when {@code baton-transport-shm} is present (see {@link #sharedMemory()}).
     */
    public TransportFactory transport() {
        return transport;
    }

    /**
     * Whether the default transport uses shared memory to nodes on this host: {@link SharedMemory#PREFERRED} (the
     * default), {@link SharedMemory#DISABLED} or {@link SharedMemory#REQUIRED}, with TCP or {@link #tls()} to the rest.
     * Ignored when {@link #transport()} names a transport.
     */
    public SharedMemory sharedMemory() {
        return sharedMemory;
    }

    /**
     * TLS with mutual authentication on every network connection of the node (to the master, to other nodes, from
     * tools), or null for none. Nodes on this host that share memory with it ({@link #sharedMemory()}) are reached
     * through shared memory instead, where the kernel proves the peer to be this user (docs/security.md, "TLS and
     * shared memory"); {@link SharedMemory#DISABLED} keeps TLS on every connection.
     */
    public TlsOptions tls() {
        return tls;
    }

    /**
     * Where the node listens: default 127.0.0.1, port 0 (a free port). A wildcard address (0.0.0.0) listens on
     * every interface and advertises this host's address on the route to the master.
     */
    public InetSocketAddress bind() {
        return bind;
    }

    public String name() {
        return name;
    }

    public int ioThreads() {
        return ioThreads;
    }

    /**
     * Connections (lanes) this node opens to each peer, default 1. A calling thread takes a lane of its own, round
     * robin on its first call through this node, and keeps it, so one thread's calls to a peer stay in order on one
     * connection while threads calling at once share no connection's writer; the transport spreads the connections
     * over its {@link #ioThreads()} loops (set {@code ioThreads >= lanes} for a loop per lane). A peer is
     * unavailable only when every lane is: a thread whose lane backs off after a failure calls on another.
     */
    public int lanes() {
        return lanes;
    }

    /** Largest payload sent or accepted, in bytes (default 256 MiB). */
    public int maxMessageSize() {
        return maxMessageSize;
    }

    /**
     * Messages smaller than this many bytes go uncompressed even when their call asks for compression
     * ({@link CallOptions#withCompression}): default 1,024.
     */
    public int compressionThreshold() {
        return compressionThreshold;
    }

    /**
     * Whether this node tells its peers it reads compressed messages (every encoding a compressor on the path
     * provides, {@link Compression#isAvailable()}): default true. False keeps every message to and from it
     * uncompressed, whatever calls ask.
     */
    public boolean acceptCompression() {
        return acceptCompression;
    }

    /** Request bytes queued to one peer before calls wait (or fail fast): default 64 MiB. */
    public long maxQueuedBytesPerPeer() {
        return maxQueuedBytesPerPeer;
    }

    /** Frames queued to one peer before calls wait (or fail fast): default 65536. */
    public int maxQueuedFramesPerPeer() {
        return maxQueuedFramesPerPeer;
    }

    /**
     * Requests one connection may have in progress on this node's servers before more are refused (with
     * RESOURCE_EXHAUSTED, retry-safe; the connection stays): default 65,536. Told to every peer in the handshake,
     * so Baton callers keep within it and queue the rest locally. A request is in progress from its arrival
     * until it is answered, cancelled or past its deadline (or, for one-way requests, until its handler returns).
     */
    public int maxConcurrentRequestsPerConnection() {
        return maxConcurrentRequestsPerConnection;
    }

    /** Deadline of calls that set none: default 30 s. */
    public Duration defaultTimeout() {
        return defaultTimeout;
    }

    /**
     * How long an idle I/O thread keeps polling its sockets before it blocks in the selector. Default 0:
     * on a machine with few cores a polling I/O thread takes the core the caller or handler needs.
     */
    public Duration ioSpin() {
        return ioSpin;
    }

    /**
     * How long a blocked caller (or a dealer waiting for requests) spins before it parks: default 50 µs, a
     * little more than a loopback round trip, so most blocking calls never pay a cross-core wake-up
     * (measured on 2 vCPUs: p50 26 µs with 50 µs, 48 µs with 20 µs, 56 µs with none). A blocking call
     * spins longer for a large request (1 ns more per request byte, at most 2 ms more), since its answer
     * cannot come before the bytes have crossed twice: 1 MiB echoes 1 565 → 2 453 MB/s. Zero: never spin.
     */
    public Duration callerSpin() {
        return callerSpin;
    }

    public Duration joinTimeout() {
        return joinTimeout;
    }

    /** How long {@link Node#close()} waits for calls in flight: default 5 s. */
    public Duration drainTimeout() {
        return drainTimeout;
    }

    /** A data connection that received nothing for this long sends a PING: default 1 s. */
    public Duration keepaliveInterval() {
        return keepaliveInterval;
    }

    /**
     * A data connection that received nothing (not even a PONG) for this long is closed as dead, failing the
     * calls written on it: default 5 s. It detects peers cut off without a TCP reset (a partition, a frozen
     * host). The membership lease is separate: the master's {@code leaseTimeout}.
     */
    public Duration keepaliveTimeout() {
        return keepaliveTimeout;
    }

    /** Runs blocking handlers; null means a virtual thread per request. Not shut down by the node. */
    public ExecutorService handlerExecutor() {
        return handlerExecutor;
    }

    /** Interceptors of every client of the node, in the order they run (before each client's own). */
    public List<ClientInterceptor> clientInterceptors() {
        return clientInterceptors;
    }

    /** Interceptors of every server of the node, in the order they run (before each server's own). */
    public List<ServerInterceptor> serverInterceptors() {
        return serverInterceptors;
    }

    /**
     * The secret every connection of this node proves in its handshake, both ways: to the master (joins,
     * coordination), to and from other nodes, and a tool's; or null (the default) for none. A process without it,
     * or with another, cannot join, call or connect: it gets UNAUTHENTICATED (docs/security.md#cluster-secret). A node
     * without one connects to anyone without one, with the handshake it always had.
     */
    public ClusterSecret clusterSecret() {
        return clusterSecret;
    }

    /**
     * The policy that decides who may call which method of this node's servers, or null (the default) for none;
     * see {@link Authorizer}.
     */
    public Authorizer authorizer() {
        return authorizer;
    }

    /** Builds {@link NodeOptions}. Not thread-safe. */
    public static final class Builder {
        private InetSocketAddress master;
        private RegistryFactory registry;
        private TransportFactory transport;
        private SharedMemory sharedMemory = SharedMemory.PREFERRED;
        private TlsOptions tls;
        private InetSocketAddress bind = new InetSocketAddress("127.0.0.1", 0);
        private String name = "node";
        private int ioThreads = 1;
        private int lanes = 1;
        private int maxMessageSize = 256 << 20;
        private long maxQueuedBytesPerPeer = 64L << 20;
        private int maxQueuedFramesPerPeer = 65_536;
        private int maxConcurrentRequestsPerConnection = 65_536;
        private int compressionThreshold = 1024;
        private boolean acceptCompression = true;
        private Duration defaultTimeout = Duration.ofSeconds(30);
        private Duration ioSpin = Duration.ZERO;
        private Duration callerSpin = Duration.ofNanos(50_000);
        private Duration joinTimeout = Duration.ofSeconds(10);
        private Duration drainTimeout = Duration.ofSeconds(5);
        private Duration keepaliveInterval = Duration.ofSeconds(1);
        private Duration keepaliveTimeout = Duration.ofSeconds(5);
        private ExecutorService handlerExecutor;
        private final List<ClientInterceptor> clientInterceptors = new ArrayList<>();
        private final List<ServerInterceptor> serverInterceptors = new ArrayList<>();
        private ClusterSecret clusterSecret;
        private Path clusterSecretFile, acceptedClusterSecretFile;
        private Authorizer authorizer;

        private Builder() {
        }

        public Builder master(InetSocketAddress master) {
            this.master = master;
            return this;
        }

        /** The master as {@code host:port}. */
        public Builder master(String hostPort) {
            return master(parseHostPort(hostPort));
        }

        /**
         * Joins through this registry instead of a master (a ZooKeeper ensemble, say). Each node made with these
         * options gets a registry of its own from the factory.
         */
        public Builder registry(RegistryFactory registry) {
            this.registry = registry;
            return this;
        }

        /** Replaces the default transport with another one (TLS, a configured shared-memory transport...). */
        public Builder transport(TransportFactory transport) {
            this.transport = transport;
            return this;
        }

        /** Whether the default transport uses shared memory to nodes on this host; see {@link SharedMemory}. */
        public Builder sharedMemory(SharedMemory sharedMemory) {
            this.sharedMemory = Objects.requireNonNull(sharedMemory, "sharedMemory");
            return this;
        }

        /** TLS with mutual authentication on every connection (null: none); see {@link NodeOptions#tls()}. */
        public Builder tls(TlsOptions tls) {
            this.tls = tls;
            return this;
        }

        public Builder bind(InetSocketAddress bind) {
            this.bind = bind;
            return this;
        }

        public Builder name(String name) {
            this.name = name;
            return this;
        }

        public Builder ioThreads(int ioThreads) {
            this.ioThreads = ioThreads;
            return this;
        }

        /** Connections per peer, from 1 (the default) to 64; see {@link NodeOptions#lanes()}. */
        public Builder lanes(int lanes) {
            this.lanes = lanes;
            return this;
        }

        public Builder maxMessageSize(int bytes) {
            this.maxMessageSize = bytes;
            return this;
        }

        public Builder compressionThreshold(int bytes) {
            this.compressionThreshold = bytes;
            return this;
        }

        public Builder acceptCompression(boolean accept) {
            this.acceptCompression = accept;
            return this;
        }

        public Builder maxQueuedBytesPerPeer(long bytes) {
            this.maxQueuedBytesPerPeer = bytes;
            return this;
        }

        public Builder maxQueuedFramesPerPeer(int frames) {
            this.maxQueuedFramesPerPeer = frames;
            return this;
        }

        public Builder maxConcurrentRequestsPerConnection(int requests) {
            this.maxConcurrentRequestsPerConnection = requests;
            return this;
        }

        public Builder defaultTimeout(Duration timeout) {
            this.defaultTimeout = timeout;
            return this;
        }

        public Builder ioSpin(Duration spin) {
            this.ioSpin = spin;
            return this;
        }

        public Builder callerSpin(Duration spin) {
            this.callerSpin = spin;
            return this;
        }

        public Builder joinTimeout(Duration timeout) {
            this.joinTimeout = timeout;
            return this;
        }

        public Builder drainTimeout(Duration timeout) {
            this.drainTimeout = timeout;
            return this;
        }

        public Builder keepaliveInterval(Duration interval) {
            this.keepaliveInterval = interval;
            return this;
        }

        public Builder keepaliveTimeout(Duration timeout) {
            this.keepaliveTimeout = timeout;
            return this;
        }

        public Builder handlerExecutor(ExecutorService executor) {
            this.handlerExecutor = executor;
            return this;
        }

        /** Adds an interceptor of every call this node's clients make ({@link ClientInterceptor}). */
        public Builder clientInterceptor(ClientInterceptor interceptor) {
            clientInterceptors.add(Objects.requireNonNull(interceptor, "interceptor"));
            return this;
        }

        /** Adds an interceptor of every request this node's servers accept ({@link ServerInterceptor}). */
        public Builder serverInterceptor(ServerInterceptor interceptor) {
            serverInterceptors.add(Objects.requireNonNull(interceptor, "interceptor"));
            return this;
        }

        /**
         * The cluster secret, from its bytes (at least {@value ClusterSecret#MIN_LENGTH}, or IllegalArgumentException;
         * the array is not kept); see {@link NodeOptions#clusterSecret()}. Replaces {@link #clusterSecretFile}.
         */
        public Builder clusterSecret(byte[] secret) {
            return clusterSecret(ClusterSecret.of(secret));
        }

        /** The cluster secret, or null for none. Replaces {@link #clusterSecretFile}. */
        public Builder clusterSecret(ClusterSecret secret) {
            this.clusterSecret = secret;
            this.clusterSecretFile = null;
            return this;
        }

        /**
         * The cluster secret, read now from {@code file} ({@link ClusterSecret#read}: readable by its owner only, at
         * least {@value ClusterSecret#MIN_LENGTH} bytes without the trailing newline; a bad file throws
         * IllegalArgumentException naming it), and again when it changes, for new connections
         * ({@link ClusterSecret#fromFiles}, with {@link ClusterSecret#DEFAULT_RELOAD_INTERVAL}).
         */
        public Builder clusterSecretFile(Path file) {
            ClusterSecret.read(file);
            this.clusterSecretFile = file;
            return this;
        }

        /**
         * A secret accepted besides the {@link #clusterSecretFile}'s, which is the one this node proves: a rotation's
         * next or previous secret (docs/security.md#rotating-the-secret). Read and followed as that file is.
         */
        public Builder acceptedClusterSecretFile(Path file) {
            ClusterSecret.read(file);
            this.acceptedClusterSecretFile = file;
            return this;
        }

        /**
         * Who may call which method of this node's servers ({@link Authorizer#authorizeCall}), and which tools may
         * ask it its health, status and view of the membership ({@link Authorizer#authorizeObserve}); null (the
         * default) for everyone. See {@link Authorizer}.
         */
        public Builder authorizer(Authorizer authorizer) {
            this.authorizer = authorizer;
            return this;
        }

        public NodeOptions build() {
            if (master == null && registry == null) {
                throw new IllegalArgumentException("master: set the master's address (or a registry)");
            }
            Objects.requireNonNull(bind, "bind");
            Objects.requireNonNull(name, "name");
            if (tls != null && transport != null) {
                throw new IllegalArgumentException("tls: set either tls or transport, not both (a transport of your "
                        + "own takes TransportFactory.tls(options) to use TLS)");
            }
            check(ioThreads >= 1 && ioThreads <= 64, "ioThreads", ioThreads, "between 1 and 64");
            check(lanes >= 1 && lanes <= 64, "lanes", lanes, "between 1 and 64");
            check(maxMessageSize >= 0 && maxMessageSize <= Integer.MAX_VALUE - 64, "maxMessageSize", maxMessageSize,
                    "between 0 and 2^31 - 65");
            check(maxQueuedBytesPerPeer > 0, "maxQueuedBytesPerPeer", maxQueuedBytesPerPeer, "positive");
            check(maxQueuedFramesPerPeer >= 16, "maxQueuedFramesPerPeer", maxQueuedFramesPerPeer, "at least 16");
            check(maxConcurrentRequestsPerConnection >= 1
                            && maxConcurrentRequestsPerConnection <= maxQueuedFramesPerPeer,
                    "maxConcurrentRequestsPerConnection", maxConcurrentRequestsPerConnection,
                    "between 1 and maxQueuedFramesPerPeer (" + maxQueuedFramesPerPeer + ")");
            check(compressionThreshold >= 0, "compressionThreshold", compressionThreshold, "zero or positive");
            positive(defaultTimeout, "defaultTimeout");
            positive(joinTimeout, "joinTimeout");
            Objects.requireNonNull(ioSpin, "ioSpin");
            check(!ioSpin.isNegative(), "ioSpin", ioSpin, "zero or positive");
            Objects.requireNonNull(callerSpin, "callerSpin");
            check(!callerSpin.isNegative(), "callerSpin", callerSpin, "zero or positive");
            positive(keepaliveInterval, "keepaliveInterval");
            positive(keepaliveTimeout, "keepaliveTimeout");
            check(keepaliveTimeout.compareTo(keepaliveInterval) > 0, "keepaliveTimeout", keepaliveTimeout,
                    "longer than keepaliveInterval (" + keepaliveInterval + ")");
            Objects.requireNonNull(drainTimeout, "drainTimeout");
            check(!drainTimeout.isNegative(), "drainTimeout", drainTimeout, "zero or positive");
            check(acceptedClusterSecretFile == null || clusterSecretFile != null, "acceptedClusterSecretFile",
                    acceptedClusterSecretFile, "set with a clusterSecretFile (the secret this node proves)");
            if (clusterSecretFile != null) {
                clusterSecret = ClusterSecret.fromFiles(clusterSecretFile, acceptedClusterSecretFile,
                        ClusterSecret.DEFAULT_RELOAD_INTERVAL);
            }
            return new NodeOptions(this);
        }

        private static void positive(Duration d, String field) {
            Objects.requireNonNull(d, field);
            check(!d.isNegative() && !d.isZero(), field, d, "positive");
        }

        private static void check(boolean ok, String field, Object value, String expected) {
            if (!ok) {
                throw new IllegalArgumentException(field + " must be " + expected + ", was " + value);
            }
        }
    }

    /** Parses {@code host:port} (IPv6 as {@code [::1]:port}). */
    public static InetSocketAddress parseHostPort(String hostPort) {
        Objects.requireNonNull(hostPort, "hostPort");
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0 || colon == hostPort.length() - 1) {
            throw new IllegalArgumentException("expected host:port, was '" + hostPort + "'");
        }
        String host = hostPort.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(hostPort.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad port in '" + hostPort + "'");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port out of range in '" + hostPort + "'");
        }
        return new InetSocketAddress(host, port);
    }
}
