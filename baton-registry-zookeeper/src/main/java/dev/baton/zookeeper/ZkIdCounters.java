package dev.baton.zookeeper;

import dev.baton.Status;
import dev.baton.zookeeper.ZkOps.Reply;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooKeeper;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@link ZkCoordination#nextId}: one counter znode per key, {@code BASE/ids/kKEY}, whose data is the next id in
 * decimal. A call reads it and writes the next value at the version it read (compare-and-set); a caller that
 * loses the race reads again. The first call creates it with "1" and gets 0. Ids are therefore dense and unique
 * across nodes, and survive ZooKeeper restarts. Callers of one node take turns per key (striped local locks),
 * so only nodes compete for the compare-and-set.
 */
final class ZkIdCounters {

    private final ZkCoordination co;
    private final String ids;
    private final ReentrantLock[] stripes = new ReentrantLock[16];

    ZkIdCounters(ZkCoordination co, String ids) {
        this.co = co;
        this.ids = ids;
        for (int i = 0; i < stripes.length; i++) {
            stripes[i] = new ReentrantLock();
        }
    }

    long next(String key) {
        String what = "nextId('" + key + "')";
        ZkOps ops = co.ops;
        long deadline = ops.deadline();
        ZooKeeper zk = co.ready(deadline);
        String path = ids + "/" + ZkCoordination.nodeName(key);
        ReentrantLock stripe = stripes[Math.floorMod(key.hashCode(), stripes.length)];
        try {
            if (!stripe.tryLock(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
                throw Status.of(Status.Code.DEADLINE_EXCEEDED, what + ": other callers of this node took the whole "
                        + ops.timeout.toMillis() + " ms").asException();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.of(Status.Code.CANCELLED, what + " interrupted").asException();
        }
        try {
            for (int conflicts = 0; ; conflicts++) {
                ZkCoordination.checkDeadline(deadline, what);
                ZkCoordination.backOff(conflicts);
                Reply r = ops.await(ops.getData(zk, path, null), deadline, what);
                if (r.code == KeeperException.Code.NONODE) {
                    Reply c = ops.await(ops.create(zk, path, ascii(1), ops.acl(zk, deadline), CreateMode.PERSISTENT),
                            deadline, what);
                    if (c.ok()) {
                        return 0;
                    }
                    if (c.code != KeeperException.Code.NODEEXISTS) {
                        c.check(what);
                    }
                    continue;
                }
                r.check(what);
                long id = Long.parseLong(new String(r.data, StandardCharsets.US_ASCII));
                Reply s = ops.await(ops.setData(zk, path, ascii(id + 1), r.stat.getVersion()), deadline, what);
                if (s.ok()) {
                    return id;
                }
                if (s.code != KeeperException.Code.BADVERSION) {
                    s.check(what);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.of(Status.Code.CANCELLED, what + " interrupted").asException();
        } catch (NumberFormatException e) {
            throw Status.of(Status.Code.INTERNAL, "the id counter at " + path + " is damaged: " + e.getMessage())
                    .asException();
        } finally {
            stripe.unlock();
        }
    }

    private static byte[] ascii(long n) {
        return Long.toString(n).getBytes(StandardCharsets.US_ASCII);
    }
}
