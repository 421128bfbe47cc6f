package dev.baton.zookeeper;

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
        private boolean followEnsemble = true;

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
         * Whether the client follows the ensemble's own list of members ({@code /zookeeper/config}) when it
         * changes, instead of the connect string (default true). Turn it off when clients reach the servers
         * through other addresses than the servers know themselves by (proxies, NAT, tunnels).
         */
        public Builder followEnsembleChanges(boolean follow) {
            this.followEnsemble = follow;
            return this;
        }

        public RegistryFactory build() {
            ZkSettings settings = new ZkSettings(connectString, root, sessionTimeout, authScheme,
                    auth == null ? null : auth.clone(), followEnsemble);
            return context -> new ZkRegistry(settings, context.name());
        }
    }

    /** What a registry needs to reach its cluster. */
    record ZkSettings(String connectString, String root, Duration sessionTimeout, String authScheme, byte[] auth,
                      boolean followEnsemble) {
    }
}
