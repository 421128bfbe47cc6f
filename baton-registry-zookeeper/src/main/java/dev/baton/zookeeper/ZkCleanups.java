package dev.baton.zookeeper;

import dev.baton.zookeeper.ZkOps.Reply;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooKeeper;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * Ephemeral znodes this node gave up (lock requests and holds, barrier arrivals) that must not outlive the wish:
 * deleted at once when ZooKeeper answers, else by the coordination's worker thread once the session has its
 * connection back. A znode of a session that ended needs nothing: ZooKeeper deleted it with the session, so
 * such work is dropped. A create whose outcome is unknown (its answer did not come in time, or the connection
 * broke) is cleaned up by its UUID prefix: whatever it made, if anything, is found and deleted.
 */
final class ZkCleanups {

    private static final System.Logger LOG = System.getLogger(ZkCleanups.class.getName());

    private final ZkCoordination co;
    private final ConcurrentLinkedQueue<Cleanup> pending = new ConcurrentLinkedQueue<>();

    ZkCleanups(ZkCoordination co) {
        this.co = co;
    }

    /** True when there is work left for the worker (it then looks again within a second). */
    boolean pending() {
        return !pending.isEmpty();
    }

    /**
     * Deletes {@code path}, an ephemeral znode of session {@code zk}, waiting up to the timeout so that others
     * see it gone when this returns. Never throws; returns whether the deletion is known to be done (if not, it
     * is retried once the session reconnects).
     */
    boolean release(ZooKeeper zk, String path) {
        if (zk == null || path == null || !zk.getState().isAlive()) {
            return true;        // the session is over: ZooKeeper deleted it
        }
        Reply r = co.ops.delete(zk, path, -1);
        boolean interrupted = false;
        long deadline = co.ops.deadline();
        try {
            while (true) {
                try {
                    r.done.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;         // keep waiting: the caller must see the release done
                } catch (Exception e) {
                    break;                      // no answer in time
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (r.done.isDone() && (r.ok() || r.code == KeeperException.Code.NONODE)) {
            return true;
        }
        LOG.log(System.Logger.Level.DEBUG, "deleting {0} deferred: {1}", path, r.code);
        later(new Cleanup(zk, path, null));
        return false;
    }

    /** As {@link #release}, without waiting: the deletion is sent now, and again later if the connection broke. */
    void forget(ZooKeeper zk, String path) {
        if (zk == null || path == null || !zk.getState().isAlive()) {
            return;
        }
        co.ops.delete(zk, path, -1).done.thenAccept(r -> {
            if (ZkOps.isConnectionProblem(r.code) && zk.getState().isAlive() && !co.isClosed()) {
                later(new Cleanup(zk, path, null));
            }
        });
    }

    /**
     * A create (or a transaction with one) of an ephemeral znode under {@code parent} named {@code prefix}... was
     * given up before its outcome was known: delete what it made, when it is known.
     */
    void abandonCreate(Reply create, ZooKeeper zk, String parent, String prefix) {
        create.done.whenComplete((r, e) -> {
            if (r != null && r.ok()) {
                forget(zk, r.createdPath());
            } else if (r != null && ZkOps.isConnectionProblem(r.code) && zk.getState().isAlive()) {
                later(new Cleanup(zk, parent, prefix));      // made or not: look for it
            }
        });
    }

    private void later(Cleanup c) {
        pending.add(c);
        co.wakeWorker();
    }

    /** On the worker thread: runs what can run now; keeps what still cannot. */
    void run() throws InterruptedException {
        int n = pending.size();
        for (int i = 0; i < n && !co.isClosed(); i++) {
            Cleanup c = pending.poll();
            if (c == null) {
                return;
            }
            if (!c.zk.getState().isAlive()) {
                continue;           // its session is over, and with it the ephemeral znode
            }
            if (!c.zk.getState().isConnected()) {
                pending.add(c);
                continue;
            }
            KeeperException.Code code = c.run(co.ops);
            if (ZkOps.isConnectionProblem(code)) {
                pending.add(c);
            } else if (code != KeeperException.Code.OK && code != KeeperException.Code.NONODE) {
                LOG.log(System.Logger.Level.WARNING, "could not delete {0}: {1}", c, code);
            }
        }
    }

    /** An ephemeral znode to delete: {@code path}, or every child of {@code path} whose name starts with prefix. */
    private record Cleanup(ZooKeeper zk, String path, String prefix) {
        KeeperException.Code run(ZkOps ops) throws InterruptedException {
            if (prefix == null) {
                return ops.await(ops.delete(zk, path, -1), ops.deadline(), "deleting " + path).code;
            }
            Reply kids = ops.await(ops.getChildren(zk, path, null), ops.deadline(), "listing " + path);
            if (!kids.ok()) {
                return kids.code;
            }
            KeeperException.Code worst = KeeperException.Code.OK;
            for (String kid : kids.children) {
                if (kid.startsWith(prefix)) {
                    Reply d = ops.await(ops.delete(zk, path + "/" + kid, -1), ops.deadline(), "deleting " + kid);
                    if (!d.ok() && d.code != KeeperException.Code.NONODE) {
                        worst = d.code;
                    }
                }
            }
            return worst;
        }

        @Override
        public String toString() {
            return prefix == null ? path : path + "/" + prefix + "*";
        }
    }
}
