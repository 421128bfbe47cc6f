package dev.baton.zookeeper;

import org.apache.curator.utils.ZookeeperFactory;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes the ZooKeeper handles of one registry's Curator client and closes every one of them on {@link #closeAll}.
 *
 * <p>Curator replaces the handle when a session ends, on the old handle's event thread. That replacement can run
 * while (or just after) the client is closed, and then Curator's close misses it: the new handle, and its two
 * threads, would outlive the registry. Every handle is made here, so {@link #closeAll} closes what Curator
 * missed, and a handle asked for after it is closed at once (Curator sees a closed handle, as after its own
 * close).
 */
final class ZkHandles implements ZookeeperFactory {

    private static final System.Logger LOG = System.getLogger(ZkHandles.class.getName());

    private static final Duration THREADS_END_TIMEOUT = Duration.ofSeconds(5);

    private final List<ZooKeeper> made = new ArrayList<>();
    private boolean closed;

    @Override
    public ZooKeeper newZooKeeper(String connectString, int sessionTimeout, Watcher watcher, boolean canBeReadOnly)
            throws Exception {
        return newZooKeeper(connectString, sessionTimeout, watcher, canBeReadOnly, null);
    }

    @Override
    public ZooKeeper newZooKeeper(String connectString, int sessionTimeout, Watcher watcher, boolean canBeReadOnly,
                                  ZKClientConfig config) throws Exception {
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

    /** Closes every handle made so far; a handle made after this is closed as soon as it is made. */
    void closeAll() {
        List<ZooKeeper> open;
        synchronized (this) {
            closed = true;
            open = List.copyOf(made);
            made.clear();
        }
        open.forEach(ZkHandles::close);
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
