package dev.baton.tracker;

import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;

/**
 * How a {@link Tracker} runs. Immutable and thread-safe; build with {@link #builder()}, derive with
 * {@link #toBuilder()}. {@link Builder#build()} checks every value and names the bad one.
 *
 * <pre>{@code
 * TrackerOptions options = TrackerOptions.builder()
 *         .bind(new InetSocketAddress("0.0.0.0", 9190))
 *         .maxRequestWait(Duration.ofMinutes(10))
 *         .build();
 * }</pre>
 */
public final class TrackerOptions {

    /** TVM's tracker port, the default. */
    public static final int DEFAULT_PORT = 9190;
    public static final int DEFAULT_MAX_CONNECTIONS = 1024;
    public static final Duration DEFAULT_FRAME_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_WRITE_TIMEOUT = Duration.ofSeconds(30);
    /** The shortest {@code frameTimeout}, {@code writeTimeout} and {@code maxRequestWait} accepted. */
    public static final Duration MIN_TIMEOUT = Duration.ofMillis(50);

    private final InetSocketAddress bind;
    private final int maxConnections;
    private final Duration frameTimeout;
    private final Duration writeTimeout;
    private final Duration maxRequestWait;
    private final String stopKey;

    private TrackerOptions(Builder b, String stopKey) {
        bind = b.bind;
        maxConnections = b.maxConnections;
        frameTimeout = b.frameTimeout;
        writeTimeout = b.writeTimeout;
        maxRequestWait = b.maxRequestWait;
        this.stopKey = stopKey;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder().bind(bind).maxConnections(maxConnections).frameTimeout(frameTimeout)
                .writeTimeout(writeTimeout).maxRequestWait(maxRequestWait).stopKey(stopKey);
    }

    /**
     * Where the tracker listens: default 127.0.0.1:{@value #DEFAULT_PORT}. Port 0 picks a free port
     * ({@link Tracker#port()} tells which); 0.0.0.0 (or {@code ::}) listens on every interface. A host name is
     * resolved when the builder is given it; {@link Builder#build()} refuses one that did not resolve.
     */
    public InetSocketAddress bind() {
        return bind;
    }

    /**
     * Connections open at once, servers and clients together; one more is accepted and closed at once (and
     * counted in {@link TrackerStats#refused()}). Default {@value #DEFAULT_MAX_CONNECTIONS}.
     */
    public int maxConnections() {
        return maxConnections;
    }

    /**
     * How long a peer may take to send the magic after connecting, and to finish a frame it has begun; a peer
     * that takes longer is closed (only that one). Time between frames is not limited: a server waiting for
     * clients and a client waiting for a server are silent for as long as they wait. Default 10 s.
     */
    public Duration frameTimeout() {
        return frameTimeout;
    }

    /** How long a peer may leave the tracker's replies unread (the socket full) before it is closed. Default 30 s. */
    public Duration writeTimeout() {
        return writeTimeout;
    }

    /**
     * The longest a REQUEST waits for a server, or null (the default) to wait as long as the client stays
     * connected, as TVM's tracker does. When it passes, the tracker answers {@code [-1, "reason"]} and forgets
     * the request; TVM's Python client raises {@code RuntimeError("Invalid return value ...")}, Baton's
     * {@link TrackerClient} a {@code DEADLINE_EXCEEDED}. TVM's protocol has no deadline of its own: clients that
     * want one can also give up by closing their connection, which removes the request at once.
     */
    public Duration maxRequestWait() {
        return maxRequestWait;
    }

    /**
     * The key a STOP message must carry to stop the tracker: given, or else random (128 bits from
     * {@link SecureRandom}, as {@code tracker:<32 hex digits>}) and known only to the embedder, through
     * {@link Tracker#stopKey()}.
     */
    public String stopKey() {
        return stopKey;
    }

    @Override
    public String toString() {
        return "TrackerOptions{bind=" + bind + ", maxConnections=" + maxConnections + ", frameTimeout=" + frameTimeout
                + ", writeTimeout=" + writeTimeout + ", maxRequestWait=" + maxRequestWait + "}";
    }

    /** Builds {@link TrackerOptions}. Not thread-safe. */
    public static final class Builder {
        private InetSocketAddress bind = new InetSocketAddress("127.0.0.1", DEFAULT_PORT);
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private Duration frameTimeout = DEFAULT_FRAME_TIMEOUT;
        private Duration writeTimeout = DEFAULT_WRITE_TIMEOUT;
        private Duration maxRequestWait;
        private String stopKey;

        private Builder() {
        }

        public Builder bind(InetSocketAddress bind) {
            this.bind = bind;
            return this;
        }

        /** Listens on {@code host}:{@code port}. */
        public Builder bind(String host, int port) {
            return bind(new InetSocketAddress(host, port));
        }

        /** Listens on 127.0.0.1:{@code port}. */
        public Builder port(int port) {
            return bind("127.0.0.1", port);
        }

        public Builder maxConnections(int maxConnections) {
            this.maxConnections = maxConnections;
            return this;
        }

        public Builder frameTimeout(Duration frameTimeout) {
            this.frameTimeout = frameTimeout;
            return this;
        }

        public Builder writeTimeout(Duration writeTimeout) {
            this.writeTimeout = writeTimeout;
            return this;
        }

        /** Null (the default) for no limit, as TVM. */
        public Builder maxRequestWait(Duration maxRequestWait) {
            this.maxRequestWait = maxRequestWait;
            return this;
        }

        /** Null (the default) for a random key. */
        public Builder stopKey(String stopKey) {
            this.stopKey = stopKey;
            return this;
        }

        public TrackerOptions build() {
            Objects.requireNonNull(bind, "bind");
            if (bind.isUnresolved()) {
                throw new IllegalArgumentException("cannot listen on " + bind.getHostString() + ": the name does not"
                        + " resolve to an address");
            }
            if (maxConnections < 1) {
                throw new IllegalArgumentException("maxConnections must be at least 1, was " + maxConnections);
            }
            atLeastMin("frameTimeout", frameTimeout);
            atLeastMin("writeTimeout", writeTimeout);
            if (maxRequestWait != null) {
                atLeastMin("maxRequestWait", maxRequestWait);
            }
            if (stopKey != null && stopKey.isEmpty()) {
                throw new IllegalArgumentException("stopKey must not be empty (null for a random one)");
            }
            return new TrackerOptions(this, stopKey != null ? stopKey : randomStopKey());
        }

        private static void atLeastMin(String name, Duration d) {
            Objects.requireNonNull(d, name);
            if (d.compareTo(MIN_TIMEOUT) < 0) {
                throw new IllegalArgumentException(name + " must be at least " + MIN_TIMEOUT.toMillis() + " ms, was "
                        + d);
            }
        }

        private static String randomStopKey() {
            byte[] bits = new byte[16];
            new SecureRandom().nextBytes(bits);
            return "tracker:" + HexFormat.of().formatHex(bits);
        }
    }
}
