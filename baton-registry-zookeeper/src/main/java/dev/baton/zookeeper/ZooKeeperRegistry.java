package dev.baton.zookeeper;

import dev.baton.TlsOptions;
import dev.baton.spi.RegistryFactory;

import java.time.Duration;
import java.util.Objects;

/**
 * ZooKeeper as the registry: nodes join, get their ranks and publish their servers through a ZooKeeper
 * ensemble instead of a Baton master, so the cluster survives the loss of any one machine.
 *
 * <pre>{@code
 * Node node = Node.join(NodeOptions.builder()
 *         .registry(ZooKeeperRegistry.of("zk1:2181,zk2:2181,zk3:2181", "/baton/mycluster"))
 *         .build());
 * }</pre>
 *
 * Everything else (services, clients, calls, membership events, coordination) works as with the master.
 * Several clusters share one ensemble under different roots. What differs (ranks, versions, sessions, what
 * survives what) is in docs/zookeeper.md.
 *
 * <p>Needs ZooKeeper 3.9 or later on the servers: 3.9 tells each watcher the transaction id of the change,
 * which is the version of Baton's membership events.
 */
public final class ZooKeeperRegistry {

    /** ZooKeeper negotiates it within the servers' bounds (by default 4 s to 40 s). */
    public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofSeconds(10);

    private ZooKeeperRegistry() {
    }

    /**
     * The registry of the cluster at {@code root} on the ensemble {@code connectString} ("host:port,host:port"),
     * with the default session timeout. The root is created when the first node joins.
     */
    public static RegistryFactory of(String connectString, String root) {
        return builder(connectString, root).build();
    }

    public static Builder builder(String connectString, String root) {
        return new Builder(connectString, root);
    }

    /** Settings of a ZooKeeper registry. */
    public static final class Builder {
        private final String connectString;
        private final String root;
        private Duration sessionTimeout = DEFAULT_SESSION_TIMEOUT;
        private String authScheme;
        private byte[] auth;
        private Boolean followEnsemble;
        private TlsOptions tls;

        private Builder(String connectString, String root) {
            if (connectString == null || connectString.isBlank()) {
                throw new IllegalArgumentException("connectString must name at least one ZooKeeper server (host:port)");
            }
            this.connectString = connectString;
            this.root = ZkLayout.checkRoot(root);
        }

        /**
         * How long the ensemble keeps a silent node's session: after it, the node's entries (and its locks,
         * barrier arrivals) are gone and every other node is told that it left.
         */
        public Builder sessionTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("sessionTimeout must be positive: " + timeout);
            }
            this.sessionTimeout = timeout;
            return this;
        }

        /**
         * Authenticates the connection (e.g. scheme "digest", "user:password") for ensembles with ACLs. The cluster's
         * znodes (the root and below) are then created for their creator's identity alone (ZooKeeper's
         * {@code CREATOR_ALL_ACL}), so every node of the cluster must authenticate as the same identity, and
         * nobody else can read or change the cluster. Without it, znodes are open to every client.
         */
        public Builder authorization(String scheme, byte[] auth) {
            this.authScheme = Objects.requireNonNull(scheme, "scheme");
            this.auth = auth.clone();
            return this;
        }

        /**
         * Connects to the ensemble's secure client ports over TLS: this side presents the certificate of
         * {@code options} (mutual TLS, which ZooKeeper's X.509 authentication provider turns into an identity for
         * its ACLs) and trusts the servers whose certificates lead to its trusted CAs and name the host as
         * ZooKeeper's client resolved it ({@code localhost} for {@code 127.0.0.1}). The connect string must then name
         * the servers' {@code secureClientPort}s. Pinned fingerprints alone cannot authenticate an ensemble, and no
         * revocation check of the options (the list, fetched lists, OCSP, a required status) is applied to it. A
         * node's own {@code NodeOptions.tls} does not reach ZooKeeper's connections: give its TLS options here too.
         * Implies {@link #followEnsembleChanges followEnsembleChanges(false)}: the ensemble's list names only plain
         * client ports.
         */
        public Builder tls(TlsOptions options) {
            this.tls = Objects.requireNonNull(options, "options");
            return this;
        }

        /**
         * Whether the client follows the ensemble's own list of members ({@code /zookeeper/config}) when it
         * changes, instead of the connect string (default true, false with {@link #tls}). Turn it off when clients
         * reach the servers through other addresses than the servers know themselves by (proxies, NAT, tunnels).
         */
        public Builder followEnsembleChanges(boolean follow) {
            this.followEnsemble = follow;
            return this;
        }

        /** The registry; fails with IllegalArgumentException when {@link #tls} and following the ensemble meet. */
        public RegistryFactory build() {
            if (tls != null && Boolean.TRUE.equals(followEnsemble)) {
                throw new IllegalArgumentException("followEnsembleChanges(true) does not combine with tls: the "
                        + "ensemble's list of members names only its plain client ports");
            }
            ZkSettings settings = new ZkSettings(connectString, root, sessionTimeout, authScheme,
                    auth == null ? null : auth.clone(), tls == null && followEnsemble != Boolean.FALSE, tls);
            return context -> new ZkRegistry(settings, context.name());
        }
    }

    /** What a registry needs to reach its cluster; {@code tls} is null for plain connections. */
    record ZkSettings(String connectString, String root, Duration sessionTimeout, String authScheme, byte[] auth,
                      boolean followEnsemble, TlsOptions tls) {
    }
}
