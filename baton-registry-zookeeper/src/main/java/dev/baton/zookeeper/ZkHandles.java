package dev.baton.zookeeper;

import org.apache.curator.framework.AuthInfo;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.ACLProvider;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.utils.ZookeeperFactory;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ACL;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes one registry's Curator client ({@link #newClient}) and its ZooKeeper handles, and closes every one of
 * them on {@link #closeAll}.
 *
 * <p>Curator replaces the handle when a session ends, on the old handle's event thread. That replacement can run
 * while (or just after) the client is closed, and then Curator's close misses it: the new handle, and its two
 * threads, would outlive the registry. Every handle is made here, so {@link #closeAll} closes what Curator
 * missed, and a handle asked for after it is closed at once (Curator sees a closed handle, as after its own
 * close).
 *
 * <p>With TLS it also owns the key stores ZooKeeper's client reads ({@link ZkTlsStores}): written again, if their
 * files changed, before each new handle and when the connection is suspended or lost (so a reconnection presents a
 * rotated certificate), and deleted by {@link #closeAll}.
 */
final class ZkHandles implements ZookeeperFactory {

    private static final System.Logger LOG = System.getLogger(ZkHandles.class.getName());

    private static final Duration THREADS_END_TIMEOUT = Duration.ofSeconds(5);

    /** ZooKeeper's client runs TLS only on its Netty socket. */
    private static final String CLIENT_NETTY_SOCKET = "org.apache.zookeeper.ClientCnxnSocketNetty";

    private final List<ZooKeeper> made = new ArrayList<>();
    private boolean closed;
    /** The key stores ZooKeeper's client reads when it runs TLS, or null. */
    private ZkTlsStores tlsStores;

    /**
     * A started Curator client on the ensemble {@code settings} name, its handles made here: no retries of its
     * own (Baton's calls retry within their own deadlines), {@code acl} on the cluster's root and below (its
     * parents, which other clusters may share, stay open).
     */
    CuratorFramework newClient(ZooKeeperRegistry.ZkSettings settings, ZkLayout layout, List<ACL> acl,
                               Duration connectTimeout) {
        ZKClientConfig clientConfig = new ZKClientConfig();
        if (settings.tls() != null) {
            ZkTlsStores stores = ZkTlsStores.inTemporaryDirectory(settings.tls());
            synchronized (this) {
                tlsStores = stores;
            }
            clientConfig = tlsClientConfig(stores);
        }
        CuratorFramework c = CuratorFrameworkFactory.builder()
                .connectString(settings.connectString())
                .sessionTimeoutMs((int) settings.sessionTimeout().toMillis())
                .connectionTimeoutMs((int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()))
                .retryPolicy(new RetryNTimes(0, 0))
                .ensembleTracker(settings.followEnsemble())
                .zookeeperFactory(this)
                .zkClientConfig(clientConfig)
                .authorization(settings.authScheme() == null ? List.of() : List.of(
                        new AuthInfo(settings.authScheme(), settings.auth())))
                .aclProvider(new ACLProvider() {
                    @Override
                    public List<ACL> getDefaultAcl() {
                        return acl;
                    }

                    @Override
                    public List<ACL> getAclForPath(String path) {
                        return path.equals(layout.root) || path.startsWith(layout.root + "/") ? acl
                                : ZkAllocator.aclFor(false);
                    }
                })
                .build();
        if (settings.tls() != null) {
            c.getConnectionStateListenable().addListener((client, state) -> {
                if (state == ConnectionState.SUSPENDED || state == ConnectionState.LOST) {
                    refreshTls();
                }
            });
        }
        c.start();
        return c;
    }

    /** The settings of a ZooKeeper client that runs TLS with {@code stores}. */
    static ZKClientConfig tlsClientConfig(ZkTlsStores stores) {
        ZKClientConfig config = new ZKClientConfig();
        config.setProperty(ZKClientConfig.SECURE_CLIENT, "true");
        config.setProperty(ZKClientConfig.ZOOKEEPER_CLIENT_CNXN_SOCKET, CLIENT_NETTY_SOCKET);
        stores.settings("zookeeper.ssl.").forEach(config::setProperty);
        return config;
    }

    @Override
    public ZooKeeper newZooKeeper(String connectString, int sessionTimeout, Watcher watcher, boolean canBeReadOnly)
            throws Exception {
        return newZooKeeper(connectString, sessionTimeout, watcher, canBeReadOnly, null);
    }

    @Override
    public ZooKeeper newZooKeeper(String connectString, int sessionTimeout, Watcher watcher, boolean canBeReadOnly,
                                  ZKClientConfig config) throws Exception {
        refreshTls();
        ZooKeeper handle = config == null
                ? new ZooKeeper(connectString, sessionTimeout, watcher, canBeReadOnly)
                : new ZooKeeper(connectString, sessionTimeout, watcher, canBeReadOnly, config);
        boolean late;
        synchronized (this) {
            late = closed;
            if (!late) {
                made.removeIf(h -> !h.getState().isAlive());
                made.add(handle);
            }
        }
        if (late) {
            LOG.log(System.Logger.Level.DEBUG, "a ZooKeeper handle made after close is closed at once");
            close(handle);
        }
        return handle;
    }

    /** Writes the TLS key stores again if their files changed and this client runs TLS; a failure keeps the last. */
    private void refreshTls() {
        ZkTlsStores stores;
        synchronized (this) {
            stores = closed ? null : tlsStores;
        }
        if (stores != null) {
            try {
                stores.refresh();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "the TLS files for ZooKeeper cannot be read now; the last ones "
                        + "stay in use: {0}", e.getMessage());
            }
        }
    }

    /**
     * Closes every handle made so far, and deletes the TLS key stores; a handle made after this is closed as soon
     * as it is made.
     */
    void closeAll() {
        List<ZooKeeper> open;
        ZkTlsStores stores;
        synchronized (this) {
            closed = true;
            open = List.copyOf(made);
            made.clear();
            stores = tlsStores;
            tlsStores = null;
        }
        open.forEach(ZkHandles::close);
        if (stores != null) {
            stores.close();
        }
    }

    private static void close(ZooKeeper handle) {
        try {
            // Waits for the handle's threads to end too (at once for a handle Curator closed already).
            if (!handle.close((int) THREADS_END_TIMEOUT.toMillis())) {
                LOG.log(System.Logger.Level.WARNING, "a ZooKeeper handle''s threads did not end within {0} ms",
                        THREADS_END_TIMEOUT.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
