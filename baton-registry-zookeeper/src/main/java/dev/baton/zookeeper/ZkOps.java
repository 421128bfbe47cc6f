package dev.baton.zookeeper;

import dev.baton.BatonException;
import dev.baton.Status;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.utils.ZKPaths;
import org.apache.zookeeper.AsyncCallback;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Stat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * The ZooKeeper calls of {@link ZkCoordination}: asynchronous calls on the ZooKeeper handle that Curator manages
 * for the shared client, each awaited by the calling thread up to a deadline of its own.
 *
 * <h2>Why not Curator's blocking calls</h2>
 * Curator's blocking calls wait for the connection before each attempt (up to its connection timeout, whatever
 * the caller's deadline), and retry as its policy allows, possibly on a later session. Coordination needs the
 * opposite: every call fails with UNAVAILABLE within the node's timeout while ZooKeeper is away, and a
 * request for an ephemeral znode (a lock request, a barrier arrival) must never land in a later session than the
 * one its caller waits on. A call on the handle itself is sent at most once, on the connection of the handle's
 * session, and its callback always comes: with the result, or with CONNECTIONLOSS/SESSIONEXPIRED when the
 * connection breaks or the handle closes. Curator still owns the connection: its state machine, reconnection
 * and new sessions (after which {@link #handle()} returns the new handle).
 *
 * <p>Callbacks run on ZooKeeper's event thread and only complete a future; nothing blocks there.
 *
 * <p>znodes are created with the ACL of the coordination base znode (which the membership side created with the
 * client's ACL provider), read once.
 */
final class ZkOps {

    private final CuratorFramework client;
    private final BooleanSupplier closed;
    /** The coordination base, with the client's namespace (if any) applied: the handle does not apply it. */
    final String base;
    final Duration timeout;
    final long timeoutNs;
    private volatile List<ACL> acl;

    ZkOps(CuratorFramework client, String base, Duration timeout, BooleanSupplier closed) {
        this.client = client;
        this.base = ZKPaths.fixForNamespace(client.getNamespace(), base);
        this.timeout = timeout;
        this.timeoutNs = timeout.toNanos();
        this.closed = closed;
    }

    /** The deadline of a call that starts now and has no timeout of its own. */
    long deadline() {
        return System.nanoTime() + timeoutNs;
    }

    /**
     * The handle of the current session. CLOSED after close; UNAVAILABLE at once while the client is not
     * connected (so that every call fails fast while ZooKeeper is away).
     */
    ZooKeeper handle() {
        if (closed.getAsBoolean()) {
            throw closedException();
        }
        if (!client.getZookeeperClient().isConnected()) {
            throw unavailable("not connected to ZooKeeper");
        }
        try {
            return client.getZookeeperClient().getZooKeeper();
        } catch (Exception e) {
            throw Status.of(Status.Code.UNAVAILABLE, "no ZooKeeper session: " + e).withCause(e).asException();
        }
    }

    /** True when the client is connected now. */
    boolean connected() {
        return client.getZookeeperClient().isConnected();
    }

    /** The handle Curator holds now, connected or not; null if it has none. */
    ZooKeeper currentHandleOrNull() {
        try {
            return client.getZookeeperClient().getZooKeeper();
        } catch (Exception e) {
            return null;
        }
    }

    /** The ACL for new znodes: the coordination base's. */
    List<ACL> acl(ZooKeeper zk, long deadline) throws InterruptedException {
        List<ACL> a = acl;
        if (a == null) {
            Reply r = new Reply();
            zk.getACL(base, new Stat(), (rc, path, ctx, list, stat) -> {
                r.acl = list;
                r.finish(rc);
            }, null);
            await(r, deadline, "reading the ACL of " + base);
            if (r.code == KeeperException.Code.NONODE) {
                a = ZooDefs.Ids.OPEN_ACL_UNSAFE;     // the membership side creates it; be usable without it too
            } else {
                r.check("reading the ACL of " + base);
                a = List.copyOf(r.acl);
            }
            acl = a;
        }
        return a;
    }

    // ------------------------------------------------------------------ calls (each returns its Reply at once)

    Reply getData(ZooKeeper zk, String path, Watcher watcher) {
        Reply r = new Reply();
        zk.getData(path, watcher, r, null);
        return r;
    }

    Reply getChildren(ZooKeeper zk, String path, Watcher watcher) {
        Reply r = new Reply();
        zk.getChildren(path, watcher, (AsyncCallback.Children2Callback) r, null);
        return r;
    }

    Reply exists(ZooKeeper zk, String path, Watcher watcher) {
        Reply r = new Reply();
        zk.exists(path, watcher, r, null);
        return r;
    }

    Reply create(ZooKeeper zk, String path, byte[] data, List<ACL> acl, CreateMode mode) {
        Reply r = new Reply();
        zk.create(path, data, acl, mode, (AsyncCallback.StringCallback) r, null);
        return r;
    }

    Reply setData(ZooKeeper zk, String path, byte[] data, int version) {
        Reply r = new Reply();
        zk.setData(path, data, version, r, null);
        return r;
    }

    Reply delete(ZooKeeper zk, String path, int version) {
        Reply r = new Reply();
        zk.delete(path, version, r, null);
        return r;
    }

    /**
     * Makes the server this client reads from catch up with the leader: a read sent after it (on the same session,
     * so served after it) sees every write that completed anywhere before the sync was sent.
     */
    Reply sync(ZooKeeper zk, String path) {
        Reply r = new Reply();
        zk.sync(path, r, null);
        return r;
    }

    Reply multi(ZooKeeper zk, List<Op> ops) {
        Reply r = new Reply();
        zk.multi(ops, r, null);
        return r;
    }

    /**
     * Waits for {@code r} up to {@code deadline} ({@link System#nanoTime()}); UNAVAILABLE when ZooKeeper does not
     * answer in time (the call may still take effect). Returns {@code r}, whose code the caller checks.
     */
    Reply await(Reply r, long deadline, String what) throws InterruptedException {
        try {
            r.done.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            return r;
        } catch (TimeoutException e) {
            if (closed.getAsBoolean()) {
                throw closedException();
            }
            throw Status.of(Status.Code.UNAVAILABLE, what + ": ZooKeeper did not answer within "
                    + Math.max(1, timeout.toMillis()) + " ms").asException();
        } catch (ExecutionException e) {
            throw Status.of(Status.Code.INTERNAL, what + ": " + e.getCause()).withCause(e.getCause()).asException();
        }
    }

    /** As {@link #await}, for methods that cannot throw InterruptedException: an interrupt is CANCELLED. */
    Reply awaitUninterruptibly(Reply r, long deadline, String what) {
        try {
            return await(r, deadline, what);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.of(Status.Code.CANCELLED, what + ": interrupted").asException();
        }
    }

    /** Creates {@code path} (persistent or container) unless it exists. */
    void ensure(ZooKeeper zk, String path, CreateMode mode, long deadline) throws InterruptedException {
        Reply r = await(create(zk, path, new byte[0], acl(zk, deadline), mode), deadline, "creating " + path);
        if (r.code != KeeperException.Code.NODEEXISTS) {
            r.check("creating " + path);
        }
    }

    // ------------------------------------------------------------------ errors

    static BatonException closedException() {
        return Status.of(Status.Code.CLOSED, "coordination is closed (the node left)").asException();
    }

    static BatonException unavailable(String what) {
        return Status.of(Status.Code.UNAVAILABLE, what).asException();
    }

    /** A typed error for a ZooKeeper result code: never a raw KeeperException. */
    static BatonException error(KeeperException.Code code, String what) {
        if (isConnectionProblem(code)) {
            return Status.of(Status.Code.UNAVAILABLE, what + ": " + describe(code)).asException();
        }
        return switch (code) {
            case NOAUTH, AUTHFAILED, INVALIDACL -> Status.of(Status.Code.INVALID_ARGUMENT, what + ": ZooKeeper refused "
                    + "it (" + describe(code) + "); the client's credentials must allow create, read, write and "
                    + "delete under the registry's root").asException();
            case QUOTAEXCEEDED -> Status.of(Status.Code.RESOURCE_EXHAUSTED, what + ": " + describe(code)).asException();
            default -> Status.of(Status.Code.INTERNAL, what + ": unexpected ZooKeeper result " + describe(code))
                    .asException();
        };
    }

    private static String describe(KeeperException.Code code) {
        try {
            return KeeperException.create(code).getMessage();
        } catch (IllegalArgumentException e) {
            return code.name();
        }
    }

    /** True for the results of a lost connection or session (the call may or may not have taken effect). */
    static boolean isConnectionProblem(KeeperException.Code code) {
        return switch (code) {
            case CONNECTIONLOSS, SESSIONEXPIRED, SESSIONMOVED, OPERATIONTIMEOUT, NOTREADONLY, RECONFIGINPROGRESS,
                 THROTTLEDOP, REQUESTTIMEOUT, SESSIONCLOSEDREQUIRESASLAUTH -> true;
            default -> false;
        };
    }

    // ------------------------------------------------------------------ replies and signals

    /** The outcome of one asynchronous call; every callback interface completes {@link #done}. */
    static final class Reply implements AsyncCallback.StringCallback, AsyncCallback.StatCallback,
            AsyncCallback.DataCallback, AsyncCallback.Children2Callback, AsyncCallback.VoidCallback,
            AsyncCallback.MultiCallback {

        final CompletableFuture<Reply> done = new CompletableFuture<>();
        volatile KeeperException.Code code;
        volatile String name;
        volatile Stat stat;
        volatile byte[] data;
        volatile List<String> children;
        volatile List<OpResult> results;
        volatile List<ACL> acl;

        boolean ok() {
            return code == KeeperException.Code.OK;
        }

        /** Throws the typed error for anything but OK. */
        Reply check(String what) {
            if (code != KeeperException.Code.OK) {
                throw error(code, what);
            }
            return this;
        }

        /** The path a create (or the first create of a multi) made; null if none. */
        String createdPath() {
            if (name != null) {
                return name;
            }
            List<OpResult> rs = results;
            if (rs != null) {
                for (OpResult r : rs) {
                    if (r instanceof OpResult.CreateResult c) {
                        return c.getPath();
                    }
                }
            }
            return null;
        }

        /** The error of op {@code i} of a failed multi (OK if that op did not fail). */
        KeeperException.Code opError(int i) {
            List<OpResult> rs = results;
            if (rs != null && i < rs.size() && rs.get(i) instanceof OpResult.ErrorResult e) {
                return KeeperException.Code.get(e.getErr());
            }
            return KeeperException.Code.OK;
        }

        void finish(int rc) {
            code = KeeperException.Code.get(rc);
            done.complete(this);
        }

        @Override
        public void processResult(int rc, String path, Object ctx, String name) {
            this.name = name;
            finish(rc);
        }

        @Override
        public void processResult(int rc, String path, Object ctx, Stat stat) {
            this.stat = stat;
            finish(rc);
        }

        @Override
        public void processResult(int rc, String path, Object ctx, byte[] data, Stat stat) {
            this.data = data;
            this.stat = stat;
            finish(rc);
        }

        @Override
        public void processResult(int rc, String path, Object ctx, List<String> children, Stat stat) {
            this.children = children;
            this.stat = stat;
            finish(rc);
        }

        @Override
        public void processResult(int rc, String path, Object ctx) {
            finish(rc);
        }

        @Override
        public void processResult(int rc, String path, Object ctx, List<OpResult> opResults) {
            this.results = opResults;
            finish(rc);
        }
    }

    /**
     * Wakes a waiting call: a ZooKeeper watch it set fired, the connection state changed, or coordination
     * closed. Waits are always bounded (the thread is parked with a timeout).
     */
    static final class Signal implements Watcher {
        private boolean fired;

        synchronized void fire() {
            fired = true;
            notifyAll();
        }

        @Override
        public void process(WatchedEvent event) {
            fire();
        }

        /** Waits until fired (consuming it) or {@code deadline} passes, but at most {@code maxNs}. */
        synchronized void await(long deadline, long maxNs) throws InterruptedException {
            long end = Math.min(deadline, System.nanoTime() + maxNs);
            while (!fired) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            fired = false;
        }
    }
}
