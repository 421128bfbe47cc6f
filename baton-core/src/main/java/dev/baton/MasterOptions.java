package dev.baton;

import dev.baton.spi.ClusterSecret;
import dev.baton.spi.TransportFactory;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link Master} runs. Immutable; build with {@link #builder()}, derive with {@link #toBuilder()}.
 * {@link Builder#build()} checks every value and names the bad one.
 */
public final class MasterOptions {

    /** The shortest lease accepted: a node pings every third of it, and the I/O tick checks it every 25 ms. */
    public static final Duration MIN_LEASE_TIMEOUT = Duration.ofMillis(300);

    private final InetSocketAddress bind;
    private final Duration leaseTimeout;
    private final TransportFactory transport;
    private final ClusterSecret clusterSecret;
    private final Authorizer authorizer;
    private final TlsOptions tls;

    private MasterOptions(Builder b) {
        bind = b.bind;
        leaseTimeout = b.leaseTimeout;
        transport = b.transport;
        clusterSecret = b.clusterSecret;
        authorizer = b.authorizer;
        tls = b.tls;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder().bind(bind).leaseTimeout(leaseTimeout).transport(transport).clusterSecret(clusterSecret)
                .authorizer(authorizer).tls(tls);
    }

    /** Where the master listens: default 127.0.0.1, port 0 (a free port). */
    public InetSocketAddress bind() {
        return bind;
    }

    /**
     * A node holds its membership by a lease over its master connection: it pings every third of the lease; a
     * node the master hears nothing from for this long (crashed, frozen, cut off) is removed, and every node is
     * told. Default {@link Master#DEFAULT_LEASE_TIMEOUT}; at least {@link #MIN_LEASE_TIMEOUT}.
     */
    public Duration leaseTimeout() {
        return leaseTimeout;
    }

    /** The transport of the master's connections, or null for TCP. */
    public TransportFactory transport() {
        return transport;
    }

    /**
     * The secret every connection to the master proves in its handshake, both ways; null (the default) for none.
     * A node, observer or tool without it, or with another, cannot join, follow or ask the master: it gets
     * UNAUTHENTICATED (docs/security.md#cluster-secret).
     */
    public ClusterSecret clusterSecret() {
        return clusterSecret;
    }

    /**
     * The policy that decides who may join, serve which service, coordinate on which name and ask the master what,
     * or null (the default) for everyone.
     */
    public Authorizer authorizer() {
        return authorizer;
    }

    /** TLS with mutual authentication on every connection of the master, or null for none. */
    public TlsOptions tls() {
        return tls;
    }

    /** Builds {@link MasterOptions}. Not thread-safe. */
    public static final class Builder {
        private InetSocketAddress bind = new InetSocketAddress("127.0.0.1", 0);
        private Duration leaseTimeout = Master.DEFAULT_LEASE_TIMEOUT;
        private TransportFactory transport;
        private ClusterSecret clusterSecret;
        private Path clusterSecretFile;
        private Path acceptedClusterSecretFile;
        private Authorizer authorizer;
        private TlsOptions tls;

        private Builder() {
        }

        public Builder bind(InetSocketAddress bind) {
            this.bind = bind;
            return this;
        }

        /** Listens on 127.0.0.1:{@code port}. */
        public Builder port(int port) {
            return bind(new InetSocketAddress("127.0.0.1", port));
        }

        public Builder leaseTimeout(Duration leaseTimeout) {
            this.leaseTimeout = leaseTimeout;
            return this;
        }

        /** Replaces TCP with another transport (it must be the one the nodes use). */
        public Builder transport(TransportFactory transport) {
            this.transport = transport;
            return this;
        }

        /** The cluster secret from its bytes (see {@link NodeOptions.Builder#clusterSecret(byte[])}). */
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
         * The cluster secret, read now from {@code file} and again when it changes (see
         * {@link NodeOptions.Builder#clusterSecretFile}).
         */
        public Builder clusterSecretFile(Path file) {
            ClusterSecret.read(file);
            this.clusterSecretFile = file;
            return this;
        }

        /**
         * A secret accepted besides the {@link #clusterSecretFile}'s (see
         * {@link NodeOptions.Builder#acceptedClusterSecretFile}).
         */
        public Builder acceptedClusterSecretFile(Path file) {
            ClusterSecret.read(file);
            this.acceptedClusterSecretFile = file;
            return this;
        }

        /**
         * Who may join, serve which service, coordinate on which name and ask the master what; null (the default)
         * for everyone. See {@link Authorizer}.
         */
        public Builder authorizer(Authorizer authorizer) {
            this.authorizer = authorizer;
            return this;
        }

        /** TLS with mutual authentication on every connection (null: none); the nodes must use it too. */
        public Builder tls(TlsOptions tls) {
            this.tls = tls;
            return this;
        }

        public MasterOptions build() {
            Objects.requireNonNull(bind, "bind");
            if (tls != null && transport != null) {
                throw new IllegalArgumentException("tls: set either tls or transport, not both");
            }
            Objects.requireNonNull(leaseTimeout, "leaseTimeout");
            if (leaseTimeout.compareTo(MIN_LEASE_TIMEOUT) < 0) {
                throw new IllegalArgumentException("leaseTimeout must be at least " + MIN_LEASE_TIMEOUT.toMillis()
                        + " ms, was " + leaseTimeout);
            }
            if (acceptedClusterSecretFile != null && clusterSecretFile == null) {
                throw new IllegalArgumentException("acceptedClusterSecretFile must be set with a clusterSecretFile (the"
                        + " secret this master proves), was " + acceptedClusterSecretFile);
            }
            if (clusterSecretFile != null) {
                clusterSecret = ClusterSecret.fromFiles(clusterSecretFile, acceptedClusterSecretFile,
                        ClusterSecret.DEFAULT_RELOAD_INTERVAL);
            }
            return new MasterOptions(this);
        }
    }
}
