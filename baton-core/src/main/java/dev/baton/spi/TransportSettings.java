package dev.baton.spi;


import java.time.Duration;
import java.util.Objects;

/**
 * Limits, timeouts and threading for one {@link Transport}. Immutable; build with {@link #builder()}, derive
 * with {@link #toBuilder()}; {@link Builder#build()} checks every value and names the bad one. A node fills it
 * from its {@code NodeOptions}; a transport reads it from its {@link TransportContext}.
 *
 * <h2>Queue limits</h2>
 * {@link #maxQueuedFrames()} and {@link #maxQueuedBytes()} bound the REQUEST frames queued to one peer and not
 * yet written: beyond them {@link TransportConnection#offer} returns {@code BACK_PRESSURED}. Other frames are
 * never refused for them: responses are bounded by the requests the peer may have in progress here
 * ({@link #maxConcurrentRequests()}), and a peer that keeps sending but stops reading the answers (more than
 * {@code maxConcurrentRequests} + {@value #ANSWER_BACKLOG_RESERVE} answers queued unsent) is disconnected.
 *
 * <h2>Before the handshake</h2>
 * A connection that has not completed its handshake holds only a small fixed amount of memory. At most
 * {@link #maxPendingHandshakes()} accepted connections may be in their handshake at once, and at most
 * {@link #maxPendingHandshakesPerAddress()} from one remote address (loopback excepted); a connection
 * accepted over either bound is closed at once.
 *
 * <h2>Large frames</h2>
 * A frame larger than a connection's read buffer (64 KiB) is received into a buffer of its own, reserved from
 * a budget every connection of the transport shares ({@link #receiveBudgetBytes()}). A connection whose frame
 * finds the budget spent waits until there is room, reading no more than its read buffer holds; a frame larger
 * than the whole budget waits until no other large frame is in progress. A large frame that gains less than
 * 64 KiB in 5 seconds, holding budget or waiting for it, is closed as stalled (a peer that declares a big frame
 * and then trickles bytes would otherwise hold its reservation, or its place in the wait); a frame that waits
 * with a full read buffer is not stalled, and its connection is not silent: this side stopped reading it.
 *
 * <h2>Cluster secret</h2>
 * With a {@link #clusterSecret()}, every connection proves it both ways in its handshake (protocol version
 * {@value ProtocolVersion#CLUSTER_SECRET}), within {@link #handshakeTimeout()}, and a peer that cannot is refused
 * with UNAUTHENTICATED (docs/security.md). Without one, the handshake is what it was: no byte and no round trip more.
 * With a {@link #memberKey()} as well, each side also signs the handshake with its own key when the peer has one
 * too, and the connection's {@code peerPrincipal()} is the peer's key (docs/protocol.md#member-keys).
 */
public final class TransportSettings {

    /** Answers (responses, PONGs) a peer may leave unread beyond {@link #maxConcurrentRequests()}. */
    public static final int ANSWER_BACKLOG_RESERVE = 4096;

    private final int ioThreads;
    private final int maxMessageSize;
    private final long maxQueuedBytes;
    private final int maxQueuedFrames;
    private final int maxConcurrentRequests;
    private final Duration ioSpin;
    private final Duration handshakeTimeout;
    private final Duration keepaliveInterval;
    private final Duration keepaliveTimeout;
    private final int maxPendingHandshakes;
    private final int maxPendingHandshakesPerAddress;
    private final long receiveBudgetBytes;
    private final int protocolVersion;
    private final int acceptedEncodings;
    private final int compressionThreshold;
    private final ClusterSecret clusterSecret;
    private final MemberKey memberKey;

    private TransportSettings(Builder b) {
        ioThreads = b.ioThreads;
        maxMessageSize = b.maxMessageSize;
        maxQueuedBytes = b.maxQueuedBytes;
        maxQueuedFrames = b.maxQueuedFrames;
        maxConcurrentRequests = b.maxConcurrentRequests;
        ioSpin = b.ioSpin;
        handshakeTimeout = b.handshakeTimeout;
        keepaliveInterval = b.keepaliveInterval;
        keepaliveTimeout = b.keepaliveTimeout;
        maxPendingHandshakes = b.maxPendingHandshakes;
        maxPendingHandshakesPerAddress = b.maxPendingHandshakesPerAddress;
        receiveBudgetBytes = b.receiveBudgetBytes;
        protocolVersion = b.protocolVersion;
        acceptedEncodings = b.acceptedEncodings;
        compressionThreshold = b.compressionThreshold;
        clusterSecret = b.clusterSecret;
        memberKey = b.memberKey;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.ioThreads = ioThreads;
        b.maxMessageSize = maxMessageSize;
        b.protocolVersion = protocolVersion;
        b.maxQueuedBytes = maxQueuedBytes;
        b.maxQueuedFrames = maxQueuedFrames;
        b.maxConcurrentRequests = maxConcurrentRequests;
        b.ioSpin = ioSpin;
        b.handshakeTimeout = handshakeTimeout;
        b.keepaliveInterval = keepaliveInterval;
        b.keepaliveTimeout = keepaliveTimeout;
        b.maxPendingHandshakes = maxPendingHandshakes;
        b.maxPendingHandshakesPerAddress = maxPendingHandshakesPerAddress;
        b.receiveBudgetBytes = receiveBudgetBytes;
        b.acceptedEncodings = acceptedEncodings;
        b.compressionThreshold = compressionThreshold;
        b.clusterSecret = clusterSecret;
        b.memberKey = memberKey;
        return b;
    }

    /** I/O threads (each runs one event loop): default 1. */
    public int ioThreads() {
        return ioThreads;
    }

    /** The largest payload accepted or sent, in bytes; checked before anything is allocated. Default 256 MiB. */
    public int maxMessageSize() {
        return maxMessageSize;
    }

    /**
     * Request bytes queued to one peer and not yet written before {@code offer} refuses more requests: default
     * 64 MiB. A single request larger than this is still accepted into an empty queue.
     */
    public long maxQueuedBytes() {
        return maxQueuedBytes;
    }

    /** Request frames queued to one peer and not yet written before {@code offer} refuses more: default 65,536. */
    public int maxQueuedFrames() {
        return maxQueuedFrames;
    }

    /**
     * Requests this side serves at once on one connection before it refuses more: default 65,536. Told to every
     * peer in the handshake ({@link PeerIdentity#maxConcurrentRequests()}), so Baton peers keep within it.
     */
    public int maxConcurrentRequests() {
        return maxConcurrentRequests;
    }

    /** How long an idle I/O thread polls before it blocks: default 0. */
    public Duration ioSpin() {
        return ioSpin;
    }

    /** A connection whose handshake has not completed by then is closed: default 10 s. */
    public Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    /** A connection that received or sent nothing for this long sends a PING (zero: never). Default 1 s. */
    public Duration keepaliveInterval() {
        return keepaliveInterval;
    }

    /**
     * A connection that received nothing for this long is closed as dead (zero: never). Default 5 s;
     * {@link TransportConnection#keepalive} changes both for one connection.
     */
    public Duration keepaliveTimeout() {
        return keepaliveTimeout;
    }

    /** Accepted connections that may be in their handshake at once: default 1,024. */
    public int maxPendingHandshakes() {
        return maxPendingHandshakes;
    }

    /** Of those, from one remote address (loopback is exempt): default 128. */
    public int maxPendingHandshakesPerAddress() {
        return maxPendingHandshakesPerAddress;
    }

    /**
     * Bytes that frames larger than a read buffer may hold while they arrive, across every connection of the
     * transport: default a quarter of the JVM's maximum heap (the default limit of direct memory too), at
     * least 64 MiB and at most 1 GiB.
     */
    public long receiveBudgetBytes() {
        return receiveBudgetBytes;
    }

    /**
     * The highest protocol version this side speaks (docs/protocol.md#versions); {@link ProtocolVersion#MAX}
     * unless lowered, which only tests of mixed versions do.
     */
    public int protocolVersion() {
        return protocolVersion;
    }

    /**
     * The compressed encodings this side reads and sends, as a mask of {@code 1 << id}: told to every peer in the
     * handshake. Default: every encoding a {@link Compressor} on the path provides ({@link Compressors}); 0 turns
     * compression off in both directions.
     */
    public int acceptedEncodings() {
        return acceptedEncodings;
    }

    /**
     * Messages smaller than this many bytes are sent uncompressed whatever their frame asks: default 1,024, below
     * which zstd and lz4 rarely save enough to pay for themselves.
     */
    public int compressionThreshold() {
        return compressionThreshold;
    }

    /**
     * The secret every connection must prove both ways in its handshake, or null (the default) for none: then
     * nothing is proved, and a peer that has a secret refuses this side.
     */
    public ClusterSecret clusterSecret() {
        return clusterSecret;
    }

    /**
     * This side's own key, signed with in each handshake that proves the {@link #clusterSecret()} when the peer has
     * one too; null (the default) for none. Ignored without a secret.
     */
    public MemberKey memberKey() {
        return memberKey;
    }

    @Override
    public String toString() {
        return "TransportSettings[ioThreads=" + ioThreads + ", maxMessageSize=" + maxMessageSize
                + ", maxQueuedBytes=" + maxQueuedBytes + ", maxQueuedFrames=" + maxQueuedFrames
                + ", maxConcurrentRequests=" + maxConcurrentRequests + ", ioSpin=" + ioSpin
                + ", handshakeTimeout=" + handshakeTimeout + ", keepaliveInterval=" + keepaliveInterval
                + ", keepaliveTimeout=" + keepaliveTimeout + ", maxPendingHandshakes=" + maxPendingHandshakes
                + ", maxPendingHandshakesPerAddress=" + maxPendingHandshakesPerAddress
                + ", receiveBudgetBytes=" + receiveBudgetBytes + ", protocolVersion=" + protocolVersion
                + ", acceptedEncodings=0x" + Integer.toHexString(acceptedEncodings)
                + ", compressionThreshold=" + compressionThreshold
                + ", clusterSecret=" + (clusterSecret == null ? "none" : "set")
                + ", memberKey=" + (memberKey == null ? "none" : memberKey.principal().getName()) + "]";
    }

    /** Builds {@link TransportSettings}. Not thread-safe. */
    public static final class Builder {
        private int ioThreads = 1;
        private int maxMessageSize = 256 << 20;
        private long maxQueuedBytes = 64L << 20;
        private int maxQueuedFrames = 65_536;
        private int maxConcurrentRequests = 65_536;
        private Duration ioSpin = Duration.ZERO;
        private Duration handshakeTimeout = Duration.ofSeconds(10);
        private Duration keepaliveInterval = Duration.ofSeconds(1);
        private Duration keepaliveTimeout = Duration.ofSeconds(5);
        private int maxPendingHandshakes = 1024;
        private int maxPendingHandshakesPerAddress = 128;
        private long receiveBudgetBytes = defaultReceiveBudget();
        private int protocolVersion = ProtocolVersion.MAX;
        private int acceptedEncodings = Compressors.availableMask();
        private int compressionThreshold = 1024;
        private ClusterSecret clusterSecret;
        private MemberKey memberKey;

        private Builder() {
        }

        public Builder ioThreads(int ioThreads) {
            this.ioThreads = ioThreads;
            return this;
        }

        public Builder maxMessageSize(int bytes) {
            this.maxMessageSize = bytes;
            return this;
        }

        public Builder maxQueuedBytes(long bytes) {
            this.maxQueuedBytes = bytes;
            return this;
        }

        public Builder maxQueuedFrames(int frames) {
            this.maxQueuedFrames = frames;
            return this;
        }

        public Builder maxConcurrentRequests(int requests) {
            this.maxConcurrentRequests = requests;
            return this;
        }

        public Builder ioSpin(Duration spin) {
            this.ioSpin = spin;
            return this;
        }

        public Builder handshakeTimeout(Duration timeout) {
            this.handshakeTimeout = timeout;
            return this;
        }

        /** Zero turns the PING off. */
        public Builder keepaliveInterval(Duration interval) {
            this.keepaliveInterval = interval;
            return this;
        }

        /** Zero turns the close on silence off. */
        public Builder keepaliveTimeout(Duration timeout) {
            this.keepaliveTimeout = timeout;
            return this;
        }

        public Builder maxPendingHandshakes(int connections) {
            this.maxPendingHandshakes = connections;
            return this;
        }

        public Builder maxPendingHandshakesPerAddress(int connections) {
            this.maxPendingHandshakesPerAddress = connections;
            return this;
        }

        public Builder receiveBudgetBytes(long bytes) {
            this.receiveBudgetBytes = bytes;
            return this;
        }

        public Builder protocolVersion(int version) {
            this.protocolVersion = version;
            return this;
        }

        /** Only encodings this process has a {@link Compressor} for are kept. */
        public Builder acceptedEncodings(int mask) {
            this.acceptedEncodings = mask & Compressors.availableMask();
            return this;
        }

        public Builder compressionThreshold(int bytes) {
            this.compressionThreshold = bytes;
            return this;
        }

        /** The secret every connection proves in its handshake; null for none. */
        public Builder clusterSecret(ClusterSecret secret) {
            this.clusterSecret = secret;
            return this;
        }

        /** See {@link TransportSettings#memberKey()}. */
        public Builder memberKey(MemberKey key) {
            this.memberKey = key;
            return this;
        }

        public TransportSettings build() {
            check(ioThreads >= 1 && ioThreads <= 64, "ioThreads", ioThreads, "between 1 and 64");
            check(maxMessageSize >= 0 && maxMessageSize <= Integer.MAX_VALUE - 64, "maxMessageSize", maxMessageSize,
                    "between 0 and 2^31 - 65");
            check(maxQueuedBytes > 0, "maxQueuedBytes", maxQueuedBytes, "positive");
            check(maxQueuedFrames >= 1, "maxQueuedFrames", maxQueuedFrames, "positive");
            check(maxConcurrentRequests >= 1, "maxConcurrentRequests", maxConcurrentRequests, "positive");
            notNegative(ioSpin, "ioSpin");
            notNegative(handshakeTimeout, "handshakeTimeout");
            check(!handshakeTimeout.isZero(), "handshakeTimeout", handshakeTimeout, "positive");
            notNegative(keepaliveInterval, "keepaliveInterval");
            notNegative(keepaliveTimeout, "keepaliveTimeout");
            check(maxPendingHandshakes >= 1, "maxPendingHandshakes", maxPendingHandshakes, "positive");
            check(maxPendingHandshakesPerAddress >= 1, "maxPendingHandshakesPerAddress",
                    maxPendingHandshakesPerAddress, "positive");
            check(receiveBudgetBytes > 0, "receiveBudgetBytes", receiveBudgetBytes, "positive");
            check(protocolVersion >= ProtocolVersion.MIN && protocolVersion <= ProtocolVersion.MAX,
                    "protocolVersion", protocolVersion, "between " + ProtocolVersion.MIN + " and " + ProtocolVersion.MAX);
            check(clusterSecret == null || protocolVersion >= ProtocolVersion.CLUSTER_SECRET, "protocolVersion",
                    protocolVersion, "at least " + ProtocolVersion.CLUSTER_SECRET + " with a cluster secret");
            check(compressionThreshold >= 0, "compressionThreshold", compressionThreshold, "zero or positive");
            return new TransportSettings(this);
        }

        private static void notNegative(Duration d, String field) {
            Objects.requireNonNull(d, field);
            check(!d.isNegative(), field, d, "zero or positive");
        }

        private static void check(boolean ok, String field, Object value, String expected) {
            if (!ok) {
                throw new IllegalArgumentException(field + " must be " + expected + ", was " + value);
            }
        }

        private static long defaultReceiveBudget() {
            return Math.clamp(Runtime.getRuntime().maxMemory() / 4, 64L << 20, 1L << 30);
        }
    }
}
