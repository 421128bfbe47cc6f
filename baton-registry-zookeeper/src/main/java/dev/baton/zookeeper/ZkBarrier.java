package dev.baton.zookeeper;

import dev.baton.BatonException;
import dev.baton.Status;
import dev.baton.zookeeper.ZkOps.Reply;
import dev.baton.zookeeper.ZkOps.Signal;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.ZooKeeper;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;

/**
 * Reusable barriers ({@link ZkCoordination#barrier}) on ZooKeeper.
 *
 * <h2>Protocol</h2>
 * A barrier is a container znode {@code BASE/barriers/kNAME} whose data {@code "ROUND PARTIES"} names the current
 * round and its parties; an arrival in round R is an ephemeral sequential child {@code rR~UUID~SEQ}. The parties
 * are fixed only while the round has arrivals: a round with none (its parties left, timed out or died) takes
 * the parties of its next first arrival. Every change of a round is a compare-and-set of the barrier's data
 * version, so arrivals, withdrawals and the opening are one total order and every decision counts the
 * arrivals as they are at that version:
 * <ul>
 *   <li><b>arrive</b>: read the data (version v) and the children; count round R's arrivals; refuse other
 *       parties (INVALID_ARGUMENT, nothing written); if this call completes the round, <b>open</b> it by
 *       setting the data to {@code "R+1 0"} at version v (this caller writes no arrival); otherwise, unless its
 *       timeout is zero, write {@code "R PARTIES"} at version v and create the arrival in one transaction.</li>
 *   <li><b>wait</b>: watch the data; the round opened once the data names a later round. The round number is
 *       the "opened" marker: it changes only by opening, so every party of the round sees it open, also one
 *       that withdraws right after (its withdrawal's compare-and-set fails and it finds the later round).</li>
 *   <li><b>withdraw</b> (timeout, interrupt): rewrite the data at the version read, and delete the arrival, in
 *       one transaction; if the round opened meanwhile, the call returns normally (it was counted), even if
 *       interrupted (the interrupt status is then set again).</li>
 * </ul>
 * An opened round's arrivals are deleted by their parties afterwards (they no longer count: their round is
 * past). A node's arrival is ephemeral: when its session ends (the node closes, dies or is cut off past the
 * session timeout) ZooKeeper deletes it, and the round counts it no more. The waiting call fails with
 * UNAVAILABLE when the session is LOST or the node closes, and keeps waiting through a short disconnection (the
 * session, and so the arrival, lives on). A party that dies exactly as the round completes may be counted in
 * the opening (its deletion does not change the data version): the others then return, and it does not.
 */
final class ZkBarrier {

    private final ZkCoordination co;

    ZkBarrier(ZkCoordination co) {
        this.co = co;
    }

    /** Parties and name are valid. */
    void await(String name, int parties, long timeoutNs) throws InterruptedException {
        String what = "barrier '" + name + "'";
        long deadline = ZkCoordination.deadlineIn(timeoutNs);
        long lost = co.sessionsLost();
        ZooKeeper zk = co.ready(co.ops.deadline());
        String path = co.barriers + "/" + ZkCoordination.nodeName(name);
        long round;
        String mine;
        // ---- arrive
        long casDeadline = co.ops.deadline();
        for (int conflicts = 0; ; conflicts++) {
            ZkCoordination.checkDeadline(casDeadline, what);
            ZkCoordination.backOff(conflicts);
            Reply d = co.ops.await(co.ops.getData(zk, path, null), casDeadline, what);
            if (d.code == KeeperException.Code.NONODE) {
                co.ops.ensure(zk, path, CreateMode.CONTAINER, casDeadline);
                continue;
            }
            d.check(what);
            long[] state = parse(d.data);
            int version = d.stat.getVersion();
            Reply kids = co.ops.await(co.ops.getChildren(zk, path, null), casDeadline, what);
            if (kids.code == KeeperException.Code.NONODE) {
                continue;
            }
            kids.check(what);
            int arrived = count(kids.children, state[0]);
            long fixed = arrived > 0 ? state[1] : 0;
            if (fixed != 0 && fixed != parties) {
                throw Status.of(Status.Code.INVALID_ARGUMENT, what + " has " + fixed + " parties this round, not "
                        + parties).asException();
            }
            if (arrived + 1 >= parties) {
                Reply open = co.ops.await(co.ops.setData(zk, path, encode(state[0] + 1, 0), version), casDeadline,
                        what);
                if (open.ok()) {
                    return;
                }
                if (open.code != KeeperException.Code.BADVERSION && open.code != KeeperException.Code.NONODE) {
                    open.check(what);
                }
                continue;
            }
            if (System.nanoTime() - deadline >= 0) {
                throw Status.of(Status.Code.DEADLINE_EXCEEDED, what + " did not open within "
                        + timeoutNs / 1_000_000 + " ms (" + arrived + " of " + parties + " parties were there)")
                        .asException();
            }
            String prefix = "r" + state[0] + "~" + UUID.randomUUID() + "~";
            Reply m = co.ops.multi(zk, List.of(Op.setData(path, encode(state[0], parties), version),
                    Op.create(path + "/" + prefix, new byte[0], co.ops.acl(zk, casDeadline),
                            CreateMode.EPHEMERAL_SEQUENTIAL)));
            try {
                co.ops.await(m, casDeadline, what);
            } catch (BatonException | InterruptedException e) {
                co.abandonCreate(m, zk, path, prefix);
                throw e;
            }
            if (m.ok()) {
                round = state[0];
                mine = m.createdPath();
                break;
            }
            if (ZkOps.isConnectionProblem(m.code)) {
                co.abandonCreate(m, zk, path, prefix);
                m.check(what);
            }
            if (m.code != KeeperException.Code.BADVERSION && m.code != KeeperException.Code.NONODE) {
                m.check(what);
            }
        }
        // ---- wait
        Signal signal = new Signal();
        co.register(signal);
        boolean withdrawn = false;
        try {
            while (true) {
                if (co.isClosed()) {
                    throw ZkOps.unavailable(what + ": the node closed while waiting");
                }
                if (!co.sameSession(zk, lost)) {
                    withdrawn = true;
                    throw ZkOps.unavailable(what + ": the ZooKeeper session ended while waiting; the arrival is gone");
                }
                if (co.ops.connected()) {       // else the session, and our arrival, live on until it is LOST
                    Reply d;
                    try {
                        d = co.ops.await(co.ops.getData(zk, path, signal), co.ops.deadline(), what);
                    } catch (InterruptedException e) {
                        withdrawn = withdrawOrOpened(zk, path, round, mine, what);
                        if (withdrawn) {
                            throw e;
                        }
                        Thread.currentThread().interrupt();
                        return;
                    }
                    if (d.ok() && parse(d.data)[0] != round) {
                        return;                                     // opened
                    }
                    if (d.code == KeeperException.Code.NONODE) {
                        withdrawn = true;                           // our arrival is gone with the session
                        throw ZkOps.unavailable(what + ": the arrival is gone (the ZooKeeper session ended)");
                    }
                    if (!d.ok() && !ZkOps.isConnectionProblem(d.code)) {
                        d.check(what);
                    }
                }
                if (System.nanoTime() - deadline >= 0) {
                    withdrawn = withdrawOrOpened(zk, path, round, mine, what);
                    if (!withdrawn) {
                        return;
                    }
                    throw Status.of(Status.Code.DEADLINE_EXCEEDED, what + " did not open within "
                            + timeoutNs / 1_000_000 + " ms").asException();
                }
                try {
                    signal.await(deadline, ZkCoordination.MAX_PARK_NS);
                } catch (InterruptedException e) {
                    withdrawn = withdrawOrOpened(zk, path, round, mine, what);
                    if (withdrawn) {
                        throw e;
                    }
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        } finally {
            co.unregister(signal);
            if (!withdrawn) {
                co.forget(zk, mine);     // an opened round's arrival, or one we could not withdraw
            }
        }
    }

    /**
     * Takes this call's arrival out of round {@code round}: true when withdrawn (or gone with the session), false
     * when the round opened first (the call counted). UNAVAILABLE if ZooKeeper cannot be reached (the arrival is
     * then deleted later, or goes with the session).
     */
    private boolean withdrawOrOpened(ZooKeeper zk, String path, long round, String mine, String what)
            throws InterruptedException {
        long casDeadline = co.ops.deadline();
        for (int conflicts = 0; ; conflicts++) {
            ZkCoordination.checkDeadline(casDeadline, what + ": withdrawing");
            ZkCoordination.backOff(conflicts);
            Reply d = co.ops.await(co.ops.getData(zk, path, null), casDeadline, what);
            if (d.code == KeeperException.Code.NONODE) {
                return true;
            }
            d.check(what + ": withdrawing");
            if (parse(d.data)[0] != round) {
                return false;
            }
            Reply m = co.ops.await(co.ops.multi(zk, List.of(Op.setData(path, d.data, d.stat.getVersion()),
                    Op.delete(mine, -1))), casDeadline, what);
            if (m.ok() || m.opError(1) == KeeperException.Code.NONODE || m.opError(0) == KeeperException.Code.NONODE) {
                return true;
            }
            if (m.code != KeeperException.Code.BADVERSION) {
                m.check(what + ": withdrawing");
            }
        }
    }

    /** How many arrivals round {@code round} has among a barrier's children. */
    private static int count(List<String> children, long round) {
        String prefix = "r" + round + "~";
        int n = 0;
        for (String c : children) {
            if (c.startsWith(prefix)) {
                n++;
            }
        }
        return n;
    }

    /** The barrier's data: {round, parties}; an empty (new) barrier is round 0 with no parties. */
    private static long[] parse(byte[] data) {
        if (data == null || data.length == 0) {
            return new long[] {0, 0};
        }
        String[] f = new String(data, StandardCharsets.US_ASCII).split(" ");
        try {
            return new long[] {Long.parseLong(f[0]), Long.parseLong(f[1])};
        } catch (RuntimeException e) {
            throw Status.of(Status.Code.INTERNAL, "a barrier's znode is damaged: '"
                    + new String(data, StandardCharsets.US_ASCII) + "'").asException();
        }
    }

    private static byte[] encode(long round, long parties) {
        return (round + " " + parties).getBytes(StandardCharsets.US_ASCII);
    }
}
