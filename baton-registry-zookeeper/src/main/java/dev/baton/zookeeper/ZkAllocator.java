package dev.baton.zookeeper;

import dev.baton.Status;
import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Stat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The numbers a cluster hands out through ZooKeeper: ranks, service ids and server ids (see {@link ZkLayout}),
 * each taken by compare-and-set or by an atomic create, so that many nodes may ask at once. Also the
 * multi-operation helper {@link ZkRegistry} uses. Blocking calls; thread-safe.
 */
final class ZkAllocator {

    /** Attempts at a contended compare-and-set or a taken id before giving up (each is one round trip). */
    static final int MAX_ATTEMPTS = 1_000;

    private final CuratorFramework client;
    private final ZkLayout layout;
    private final List<ACL> acl;

    ZkAllocator(CuratorFramework client, ZkLayout layout, List<ACL> acl) {
        this.client = client;
        this.layout = layout;
        this.acl = acl;
    }

    /** The next new rank (ranks are never given twice: a counter, compare-and-set). */
    int nextRank() throws Exception {
        return Integer.parseInt(update(layout.nextRank, old -> Integer.toString(Integer.parseInt(old) + 1)));
    }

    /** The service's id: its record's, or a new one (from its name, the next free on a collision). */
    int serviceId(String service, int requested) throws Exception {
        String path = layout.service(service);
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            try {
                return ServiceRecord.parse(client.getData().forPath(path)).serviceId();
            } catch (KeeperException.NoNodeException absent) {
                int candidate = requested >= 1 ? requested : idFromName(service);
                for (int i = 0; i < MAX_ATTEMPTS; i++) {
                    try {
                        multi(List.of(Op.create(path, new ServiceRecord(candidate, 0).bytes(), acl(),
                                        CreateMode.PERSISTENT),
                                Op.create(layout.serviceIds + "/" + candidate, service.getBytes(StandardCharsets.UTF_8),
                                        acl(), CreateMode.PERSISTENT)));
                        return candidate;
                    } catch (KeeperException.NodeExistsException e) {
                        if (path.equals(e.getPath()) || client.checkExists().forPath(path) != null) {
                            break;      // another node made the record: read it
                        }
                        candidate = candidate == Integer.MAX_VALUE ? 1 : candidate + 1;
                    }
                }
            }
        }
        throw Status.of(Status.Code.RESOURCE_EXHAUSTED, "no free service id for '" + service + "'").asException();
    }

    /**
     * A server id: the requested one (and the counter moves past it, so it is never chosen for another), or
     * the next from the service's counter. Ids are never chosen twice.
     */
    int takeServerId(String service, int requested) throws Exception {
        String old = update(layout.service(service), data -> {
            ServiceRecord r = ServiceRecord.parse(data.getBytes(StandardCharsets.UTF_8));
            int next = requested >= 0 ? Math.max(r.nextServerId(), requested + 1) : r.nextServerId() + 1;
            return new String(new ServiceRecord(r.serviceId(), next).bytes(), StandardCharsets.UTF_8);
        });
        return requested >= 0 ? requested : ServiceRecord.parse(old.getBytes(StandardCharsets.UTF_8)).nextServerId();
    }

    /** The service record: "SERVICEID:NEXTSERVERID". */
    record ServiceRecord(int serviceId, int nextServerId) {
        static ServiceRecord parse(byte[] data) {
            String[] f = new String(data, StandardCharsets.UTF_8).split(":");
            return new ServiceRecord(Integer.parseInt(f[0]), Integer.parseInt(f[1]));
        }

        byte[] bytes() {
            return (serviceId + ":" + nextServerId).getBytes(StandardCharsets.UTF_8);
        }
    }

    /** The master's rule, so a service has the same id under either registry (unless ids collide). */
    private static int idFromName(String service) {
        int h = service.hashCode() * 0x9E3779B9;
        h = (h ^ (h >>> 16)) & Integer.MAX_VALUE;
        return h == 0 ? 1 : h;
    }

    /** Runs {@code ops} as one transaction; a failure names the operation that failed. */
    void multi(List<Op> ops) throws Exception {
        try {
            client.getZookeeperClient().getZooKeeper().multi(ops);
        } catch (KeeperException e) {
            throw firstFailure(e, ops);
        }
    }

    /** A multi's failure names no op; this finds the one that failed and says so in the exception. */
    private static KeeperException firstFailure(KeeperException e, List<Op> ops) {
        List<OpResult> results = e.getResults();
        if (results != null) {
            for (int i = 0; i < results.size() && i < ops.size(); i++) {
                if (results.get(i) instanceof OpResult.ErrorResult r && r.getErr() != 0
                        && r.getErr() != KeeperException.Code.RUNTIMEINCONSISTENCY.intValue()) {
                    return KeeperException.create(KeeperException.Code.get(r.getErr()), ops.get(i).getPath());
                }
            }
        }
        return e;
    }

    /** Compare-and-set of {@code path}'s text; returns the value it replaced. */
    private String update(String path, UnaryOperator<String> change) throws Exception {
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            Stat stat = new Stat();
            String old = new String(client.getData().storingStatIn(stat).forPath(path), StandardCharsets.UTF_8);
            try {
                client.setData().withVersion(stat.getVersion()).forPath(path, change.apply(old)
                        .getBytes(StandardCharsets.UTF_8));
                return old;
            } catch (KeeperException.BadVersionException raced) {
                // another node changed it first: read again
            }
        }
        throw Status.of(Status.Code.UNAVAILABLE, "too much contention on " + path).asException();
    }

    /** The ACL of every znode this registry creates: its creator's alone when the client authenticates. */
    List<ACL> acl() {
        return acl;
    }

    /** Open without authentication; with it, all rights to the authenticated identity that created the znode. */
    static List<ACL> aclFor(boolean authenticated) {
        return authenticated ? ZooDefs.Ids.CREATOR_ALL_ACL : ZooDefs.Ids.OPEN_ACL_UNSAFE;
    }

}
