package dev.baton.zookeeper;

import dev.baton.BatonException;
import dev.baton.Coordination;
import dev.baton.Status;
import dev.baton.zookeeper.ZkOps.Reply;
import dev.baton.zookeeper.ZkOps.Signal;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooKeeper;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One cluster-wide lock as seen from one node ({@link ZkCoordination#lock}): the same object for the same name.
 *
 * <h2>Protocol</h2>
 * Threads of this node first queue on a fair node-local {@link ReentrantLock}; its holder alone asks ZooKeeper,
 * so a node has at most one request per lock, and a reentrant hold touches only the local lock. A request is an
 * ephemeral sequential znode {@code BASE/locks/kNAME/UUID-SEQ} (the lock's znode is a container, which ZooKeeper
 * removes once it has been empty for a while): the request with the lowest sequence number holds the lock, and
 * each other request watches the one just before it (no herd). Nodes are therefore granted the lock in the order
 * their requests reached ZooKeeper. The UUID in the name lets a request whose creation had an unknown outcome
 * be found and deleted. Unlock deletes the request, and waits for ZooKeeper's answer so that once it returns,
 * another node can take the lock.
 *
 * <p>This is the protocol of Curator's {@code InterProcessMutex}, written out rather than used: the mutex's calls
 * go through Curator's retry loop, so while disconnected each blocks up to the connection timeout per attempt
 * whatever the caller's timeout, and how a wait meets a disconnection depends on the client's retry policy
 * (with the registry's, none, it ends at the first one). Here every step has a deadline, requests stay in the
 * session that made them, a wait lives exactly as long as its session, and the fencing token comes with the
 * grant.
 *
 * <h2>Fencing tokens</h2>
 * After a grant the new holder writes {@code BASE/fence}; the zxid of that write ({@code mzxid}) is the token.
 * zxids only grow (across ZooKeeper restarts and leader changes too), and a grant's write happens after the
 * previous holder's release of that lock and after every grant that returned before it, so every grant's token
 * is larger than every earlier grant's, of any lock. A reentrant hold keeps its token.
 *
 * <h2>Failures</h2>
 * A wait that times out, is interrupted or fails deletes its request before it throws, so it is never granted
 * later (if ZooKeeper cannot be reached for that, the call fails with UNAVAILABLE and the request is deleted
 * as soon as the session reconnects, or goes with it). A wait outlives a short disconnection; it fails with
 * UNAVAILABLE when the session is LOST (ZooKeeper deleted the request) or the node closes. A holder whose
 * session is lost no longer holds the lock in ZooKeeper (the next request gets it, with a larger token), but
 * {@link #isHeldByCurrentThread()} says true until it unlocks, as the master's locks do. Once the node knows
 * (Curator reports the session LOST), {@link #fencingToken()} throws UNAVAILABLE: the loss is never silent. Until
 * then the holder cannot know, which is what fencing tokens are for. Unlock never throws for a registry
 * failure: a request it could not delete goes with the session, or is deleted as soon as the session
 * reconnects.
 */
final class ZkLock implements Coordination.DistributedLock {

    private final ZkCoordination co;
    private final String name;
    private final String path;
    private final ReentrantLock local = new ReentrantLock(true);
    // ---- touched only by the thread holding `local`
    private ZooKeeper session;
    private String request;
    private long token;
    /** {@link ZkCoordination#sessionsLost()} when the hold was granted: a later count means the hold is void. */
    private long grantedAfterLosses;

    ZkLock(ZkCoordination co, String name, String path) {
        this.co = co;
        this.name = name;
        this.path = path;
    }

    @Override
    public void lock(Duration timeout) throws InterruptedException {
        long deadline = ZkCoordination.deadlineIn(ZkCoordination.nanos(timeout));
        if (local.isHeldByCurrentThread()) {
            local.lock();
            return;
        }
        co.checkOpen();
        if (!local.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
            throw Status.of(Status.Code.DEADLINE_EXCEEDED, "lock '" + name + "' not acquired within "
                    + ZkCoordination.millis(timeout) + " ms (held by another thread of this node)").asException();
        }
        boolean held = false;
        try {
            held = acquire(deadline, true, timeout);
        } finally {
            if (!held) {
                local.unlock();
            }
        }
    }

    @Override
    public boolean tryLock() {
        if (local.isHeldByCurrentThread()) {
            local.lock();
            return true;
        }
        co.checkOpen();
        if (!local.tryLock()) {
            return false;
        }
        boolean held = false;
        try {
            held = acquire(System.nanoTime(), false, Duration.ZERO);
            return held;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.of(Status.Code.CANCELLED, "tryLock '" + name + "' interrupted").asException();
        } finally {
            if (!held) {
                local.unlock();
            }
        }
    }

    /**
     * Asks ZooKeeper, holding the local lock. Returns true when granted; false (tryLock only) when the lock is
     * taken; throws DEADLINE_EXCEEDED when {@code deadline} passes first.
     */
    private boolean acquire(long deadline, boolean wait, Duration timeout) throws InterruptedException {
        String what = "lock '" + name + "'";
        long lost = co.sessionsLost();
        ZooKeeper zk = co.ready(co.ops.deadline());
        if (!wait) {
            // The common refusal in one round trip: somebody holds or waits for it already.
            Reply peek = co.ops.await(co.ops.getChildren(zk, path, null), co.ops.deadline(), what);
            if (peek.ok() && !peek.children.isEmpty()) {
                return false;
            }
            if (!peek.ok() && peek.code != KeeperException.Code.NONODE) {
                peek.check(what);
            }
        }
        String prefix = UUID.randomUUID() + "-";
        String mine = create(zk, prefix, what);
        String mineName = mine.substring(path.length() + 1);
        Signal signal = new Signal();
        co.register(signal);
        boolean granted = false;
        Throwable failure = null;
        try {
            while (true) {
                if (co.isClosed()) {
                    throw ZkOps.unavailable(what + ": the node closed while waiting");
                }
                if (!co.sameSession(zk, lost)) {
                    throw ZkOps.unavailable(what + ": the ZooKeeper session ended while waiting; its request is gone");
                }
                Reply kids = co.ops.connected()
                        ? co.ops.await(co.ops.getChildren(zk, path, null), co.ops.deadline(), what) : null;
                if (kids == null || !kids.ok() && ZkOps.isConnectionProblem(kids.code)) {
                    // Disconnected: the session, and our place in the queue, live on until it is LOST.
                    if (!wait) {
                        throw ZkOps.unavailable(what + ": the connection to ZooKeeper broke");
                    }
                    awaitOrTimeOut(signal, deadline, what, timeout);
                    continue;
                }
                kids.check(what);
                List<String> queue = sorted(kids.children);
                int at = queue.indexOf(mineName);
                if (at < 0) {
                    throw ZkOps.unavailable(what + ": the request is gone (the ZooKeeper session ended)");
                }
                if (at == 0) {
                    token = fencingToken(zk, what);
                    grantedAfterLosses = lost;
                    session = zk;
                    request = mine;
                    granted = true;
                    return true;
                }
                if (!wait) {
                    return false;
                }
                // Watch the request just before ours: when it goes, we may be first.
                Reply before = co.ops.await(co.ops.getData(zk, path + "/" + queue.get(at - 1), signal),
                        co.ops.deadline(), what);
                if (before.code == KeeperException.Code.NONODE) {
                    continue;
                }
                if (!before.ok() && !ZkOps.isConnectionProblem(before.code)) {
                    before.check(what);
                }
                awaitOrTimeOut(signal, deadline, what, timeout);
            }
        } catch (Throwable t) {
            failure = t;
            throw t;
        } finally {
            co.unregister(signal);
            if (!granted && !co.release(zk, mine) && !(failure instanceof InterruptedException)) {
                // Not confirmed deleted (it will be); do not let a refusal or a timeout suggest otherwise.
                throw ZkOps.unavailable(what + ": ZooKeeper could not be reached to withdraw the request; it is "
                        + "withdrawn when the connection is back or the session ends");
            }
        }
    }

    /** Waits for {@code signal}, or throws DEADLINE_EXCEEDED once {@code deadline} has passed. */
    private static void awaitOrTimeOut(Signal signal, long deadline, String what, Duration timeout)
            throws InterruptedException {
        if (System.nanoTime() - deadline >= 0) {
            throw Status.of(Status.Code.DEADLINE_EXCEEDED, what + " not acquired within "
                    + ZkCoordination.millis(timeout) + " ms").asException();
        }
        signal.await(deadline, ZkCoordination.MAX_PARK_NS);
    }

    /**
     * Creates this node's request. UNAVAILABLE when the outcome is unknown (the request, if made, is deleted
     * once that is known).
     */
    private String create(ZooKeeper zk, String prefix, String what) throws InterruptedException {
        long deadline = co.ops.deadline();
        for (int attempt = 0; ; attempt++) {
            Reply r = co.ops.create(zk, path + "/" + prefix, new byte[0], co.ops.acl(zk, deadline),
                    CreateMode.EPHEMERAL_SEQUENTIAL);
            try {
                co.ops.await(r, deadline, what);
            } catch (BatonException | InterruptedException e) {
                co.abandonCreate(r, zk, path, prefix);
                throw e;
            }
            if (r.ok()) {
                return r.name;
            }
            if (r.code == KeeperException.Code.NONODE && attempt < 3) {
                co.ops.ensure(zk, path, CreateMode.CONTAINER, deadline);    // new, or removed while empty
                continue;
            }
            if (ZkOps.isConnectionProblem(r.code)) {
                co.abandonCreate(r, zk, path, prefix);
            }
            throw ZkOps.error(r.code, what);
        }
    }

    /** Writes BASE/fence and returns the zxid of the write. */
    private long fencingToken(ZooKeeper zk, String what) throws InterruptedException {
        Reply r = co.ops.await(co.ops.setData(zk, co.fence, new byte[0], -1), co.ops.deadline(), what);
        if (r.code == KeeperException.Code.NONODE) {
            co.ops.ensure(zk, co.fence, CreateMode.PERSISTENT, co.ops.deadline());
            r = co.ops.await(co.ops.setData(zk, co.fence, new byte[0], -1), co.ops.deadline(), what);
        }
        return r.check(what + ": fencing token").stat.getMzxid();
    }

    /** Requests in the order ZooKeeper received them (by sequence number, the name's last 10 digits). */
    private static List<String> sorted(List<String> children) {
        List<String> l = new ArrayList<>(children);
        l.sort(Comparator.comparing(ZkLock::sequence));
        return l;
    }

    private static String sequence(String child) {
        return child.length() >= 10 ? child.substring(child.length() - 10) : child;
    }

    @Override
    public void unlock() {
        if (!local.isHeldByCurrentThread()) {
            throw new IllegalMonitorStateException("lock '" + name + "' is not held by "
                    + Thread.currentThread().getName());
        }
        if (local.getHoldCount() > 1) {
            local.unlock();
            return;
        }
        ZooKeeper zk = session;
        String mine = request;
        session = null;
        request = null;
        try {
            co.release(zk, mine);
        } finally {
            local.unlock();
        }
    }

    @Override
    public boolean isHeldByCurrentThread() {
        return local.isHeldByCurrentThread();
    }

    @Override
    public long fencingToken() {
        if (!local.isHeldByCurrentThread()) {
            throw new IllegalMonitorStateException("lock '" + name + "' is not held by "
                    + Thread.currentThread().getName());
        }
        if (!co.sameSession(session, grantedAfterLosses)) {
            throw ZkOps.unavailable("lock '" + name + "' was released by ZooKeeper: this node's session ended "
                    + "while it was held; unlock it, the hold is void");
        }
        return token;
    }

    @Override
    public String toString() {
        return "DistributedLock[" + name + "]";
    }
}
