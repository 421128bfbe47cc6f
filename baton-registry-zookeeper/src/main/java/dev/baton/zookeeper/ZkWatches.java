package dev.baton.zookeeper;

import dev.baton.Coordination.KeyWatcher;
import dev.baton.Status;
import dev.baton.zookeeper.ZkKeyValues.Change;
import dev.baton.zookeeper.ZkOps.Reply;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;

/**
 * Key/value watches ({@link ZkCoordination#watch}): the change log ({@link ZkKeyValues}) read in order and fanned
 * out to the registered watchers on the {@code events} executor.
 *
 * <h2>How changes arrive</h2>
 * One persistent ZooKeeper watch per coordination, on {@code BASE/log} (mode PERSISTENT: it fires on every
 * record created or compacted), added by the first {@link #watch} call. It only wakes the coordination's worker
 * thread, which lists the log, reads the records after its cursor in sequence order (pipelined), and hands each
 * to the {@code events} executor, which calls every watcher whose prefix matches, whose watch began before the
 * change, and which is not closed. Because records are immutable and carry their values, a change is reported
 * with its own value however late it is read, once, and in ZooKeeper's order; the writer's own node is told
 * like any other.
 *
 * <h2>Reconnection</h2>
 * Every connection state change wakes the worker too. On a reconnection with the same session ZooKeeper restores
 * the persistent watch by itself, and the worker reads what was written meanwhile (the log still has it). With
 * a new session (after LOST) the watch is added again on the new session's handle before the log is read.
 *
 * <p>A watch begins at the latest record when {@link #watch} reads the log: changes recorded before are not
 * reported, changes recorded after it returns always are. Closing a watch is idempotent, and no callback
 * starts after it returns (one running on the executor may finish).
 */
final class ZkWatches {

    private static final System.Logger LOG = System.getLogger(ZkWatches.class.getName());

    private final ZkCoordination co;
    private final ZkKeyValues keyValues;
    private final List<Handle> handles = new CopyOnWriteArrayList<>();
    private final Watcher logWatcher;
    /** The handle whose session has the persistent watch; null before the first watch. */
    private volatile ZooKeeper watchedOn;
    /** The latest record handed to the executor; valid while {@link #started}. */
    private volatile long cursor;
    private volatile boolean started;

    ZkWatches(ZkCoordination co, ZkKeyValues keyValues) {
        this.co = co;
        this.keyValues = keyValues;
        this.logWatcher = event -> co.wakeWorker();     // on ZooKeeper's event thread: nothing else
    }

    AutoCloseable watch(String prefix, KeyWatcher watcher) {
        long deadline = co.ops.deadline();
        ZooKeeper zk = co.ready(deadline);
        Handle h = new Handle(prefix, watcher);
        handles.add(h);
        try {
            watchLog(zk, deadline);
            long latest = keyValues.latest(zk, deadline);
            synchronized (this) {
                if (!started) {
                    cursor = latest;
                    started = true;
                }
            }
            h.from = latest;
        } catch (InterruptedException e) {
            handles.remove(h);
            Thread.currentThread().interrupt();
            throw Status.of(Status.Code.CANCELLED, "watch('" + prefix + "') interrupted").asException();
        } catch (RuntimeException e) {
            handles.remove(h);
            throw e;
        }
        co.wakeWorker();
        return h;
    }

    /** Adds the persistent watch on the log to {@code zk}'s session, unless it has it. */
    private void watchLog(ZooKeeper zk, long deadline) throws InterruptedException {
        if (watchedOn == zk) {
            return;
        }
        Reply r = new Reply();
        zk.addWatch(keyValues.log, logWatcher, AddWatchMode.PERSISTENT, r, null);
        co.ops.await(r, deadline, "watching " + keyValues.log).check("watching " + keyValues.log);
        watchedOn = zk;
    }

    /**
     * On the worker thread: delivers the changes recorded since the last call. Throws UNAVAILABLE while
     * ZooKeeper cannot be reached (the worker retries once the connection is back).
     */
    void pump() throws InterruptedException {
        synchronized (this) {
            if (!started) {
                return;
            }
            if (handles.isEmpty()) {
                started = false;        // nobody watches: the next watch starts from the log's end again
                return;
            }
        }
        long deadline = co.ops.deadline();
        ZooKeeper zk = co.ready(deadline);
        watchLog(zk, deadline);
        while (!co.isClosed()) {
            ZkKeyValues.Batch batch = keyValues.since(zk, cursor, deadline);
            for (Change c : batch.changes()) {
                deliver(c);
                cursor = c.seq();
            }
            cursor = batch.last();
            if (!batch.more()) {
                return;
            }
            deadline = co.ops.deadline();
        }
    }

    private void deliver(Change c) {
        List<Handle> to = new ArrayList<>();
        for (Handle h : handles) {
            if (c.seq() > h.from && c.key().startsWith(h.prefix) && !h.closed) {
                to.add(h);
            }
        }
        if (to.isEmpty()) {
            return;
        }
        try {
            co.events.execute(() -> {
                for (Handle h : to) {
                    if (h.closed || co.isClosed()) {
                        continue;
                    }
                    // Each watcher gets its own copy: one may keep or change what it was given.
                    Optional<byte[]> value = c.value() == null ? Optional.empty() : Optional.of(c.value().clone());
                    try {
                        h.watcher.onChange(c.key(), value);
                    } catch (RuntimeException e) {
                        LOG.log(System.Logger.Level.WARNING, "watcher of '" + h.prefix + "' failed on '" + c.key()
                                + "'", e);
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            LOG.log(System.Logger.Level.DEBUG, "node closing; change of ''{0}'' not delivered", c.key());
        }
    }

    /** Closes every watch and removes the persistent watch (best effort, without waiting). */
    void close() {
        for (Handle h : handles) {
            h.close();
        }
        ZooKeeper zk = watchedOn;
        watchedOn = null;
        if (zk != null && zk.getState().isAlive()) {
            zk.removeWatches(keyValues.log, logWatcher, Watcher.WatcherType.Any, true, new Reply(), null);
        }
    }

    /** One watch. */
    private final class Handle implements AutoCloseable {
        final String prefix;
        final KeyWatcher watcher;
        /** Changes after this record are reported; none until watch() has read the log. */
        volatile long from = Long.MAX_VALUE;
        volatile boolean closed;

        Handle(String prefix, KeyWatcher watcher) {
            this.prefix = prefix;
            this.watcher = watcher;
        }

        @Override
        public void close() {
            closed = true;
            handles.remove(this);
        }

        @Override
        public String toString() {
            return "Watch[" + prefix + "]";
        }
    }
}
