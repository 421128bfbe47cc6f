package dev.baton.tracker;

import dev.baton.BatonException;
import dev.baton.Server;
import dev.baton.tracker.internal.NativeWire;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A Baton server's registration with the tracker under a key ({@link TrackerLeases#register}). It lasts until
 * {@link #close()}, until the server closes, or until its node leaves the cluster, whichever is first: the
 * tracker follows the membership, so a server that dies leaves no stale entry. Thread-safe.
 */
public final class TrackerRegistration implements AutoCloseable {

    private final TrackerLeases.Ref tracker;
    private final long id;
    private final String key;
    private final Server server;
    private final AtomicBoolean closed = new AtomicBoolean();

    TrackerRegistration(TrackerLeases.Ref tracker, long id, String key, Server server) {
        this.tracker = tracker;
        this.id = id;
        this.key = key;
        this.server = server;
    }

    /** The tracker's id of this registration. */
    public long id() {
        return id;
    }

    public String key() {
        return key;
    }

    public Server server() {
        return server;
    }

    /**
     * Leaves the tracker (a lease of the server ends there; its holder is not told). Blocks up to 5 s. Idempotent;
     * a tracker that cannot be reached is not an error (it drops the server anyway once the server or its node
     * is gone).
     */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                tracker.call(NativeWire.UNREGISTER, new NativeWire.Writer().i64(id).done(),
                        TrackerLeases.CALL_TIMEOUT).close();
            } catch (BatonException e) {
                System.getLogger("dev.baton.tracker").log(System.Logger.Level.DEBUG,
                        "tracker registration {0}: unregistering failed: {1}", id, e.getMessage());
            }
        }
    }

    @Override
    public String toString() {
        return "TrackerRegistration{" + id + ", " + server.service() + "/" + server.serverId() + " under '" + key + "'}";
    }
}
