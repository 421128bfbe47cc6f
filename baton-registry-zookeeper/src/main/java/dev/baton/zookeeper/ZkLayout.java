package dev.baton.zookeeper;

import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import dev.baton.Status;

import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * Where a cluster keeps its state under its root znode, and how membership entries are named. docs/zookeeper.md
 * draws the same tree.
 *
 * <pre>
 * ROOT/layout              "baton-registry/2": the layout this code reads and writes
 * ROOT/members/            the membership, flat, so one getChildren is a consistent snapshot:
 *   n~RANK~SESSION~NODEID~HOST~PORT~NAME~HOSTID   a node (ephemeral: it goes with the node's session)
 *   s~SESSION~RANK~SERVICEID~SERVERID~SERVICE a server (persistent; valid only while node SESSION is a member)
 * ROOT/ranks/RANK          ephemeral: the rank is taken (by the session that owns it)
 * ROOT/next-rank           the next new rank (a counter, changed by compare-and-set)
 * ROOT/services/SERVICE    "SERVICEID:NEXTSERVERID" (compare-and-set)
 * ROOT/services/SERVICE/SERVERID  ephemeral: the server id is taken
 * ROOT/service-ids/ID      the service that owns a service id (ids are unique)
 * ROOT/coordination/       barriers, locks, ids, key/values (see ZkCoordination)
 * </pre>
 *
 * Everything a membership event needs is in the entry's name, so a watcher builds the event from the path
 * alone, without a read. Strings are URL-encoded (no '/' or '~' inside a field). A server entry is persistent
 * so that a node's departure is one znode deletion (its node entry): every watcher then removes that node's
 * servers in the same order, and a departure is the same events at the same versions everywhere. The server
 * entries a dead session leaves behind are ignored, and deleted by the surviving nodes.
 */
final class ZkLayout {

    /** The layout version written at ROOT/layout; a root with another is refused. */
    static final String VERSION = "baton-registry/2";

    final String root;
    final String layout;
    final String members;
    final String ranks;
    final String nextRank;
    final String services;
    final String serviceIds;
    final String coordination;

    ZkLayout(String root) {
        this.root = root;
        this.layout = root + "/layout";
        this.members = root + "/members";
        this.ranks = root + "/ranks";
        this.nextRank = root + "/next-rank";
        this.services = root + "/services";
        this.serviceIds = root + "/service-ids";
        this.coordination = root + "/coordination";
    }

    /** The znodes every cluster has, created when the first node joins (the layout znode last). */
    String[] skeleton() {
        return new String[] {members, ranks, services, serviceIds, coordination};
    }

    /** The names of ROOT's children in a cluster, whole or half made. */
    String[] skeletonNames() {
        return new String[] {"layout", "members", "ranks", "next-rank", "services", "service-ids", "coordination"};
    }

    String service(String service) {
        return services + "/" + encode(service);
    }

    String serverGuard(String service, int serverId) {
        return service(service) + "/" + serverId;
    }

    String rank(int rank) {
        return ranks + "/" + rank;
    }

    String member(String entry) {
        return members + "/" + entry;
    }

    /** A node's membership entry. */
    record NodeEntry(long session, NodeInfo node) {
        String name() {
            return "n~" + node.rank() + "~" + Long.toHexString(session) + "~" + Long.toHexString(node.nodeId()) + "~"
                    + encode(node.address().getHostString()) + "~" + node.address().getPort() + "~"
                    + encode(node.name()) + "~" + encode(node.hostId());
        }
    }

    /** A server's membership entry; {@code session} is the session of the node that hosts it. */
    record ServerEntry(long session, ServerInfo server) {
        String name() {
            return "s~" + Long.toHexString(session) + "~" + server.rank() + "~" + server.serviceId() + "~"
                    + server.serverId() + "~" + encode(server.service());
        }

        /** The key of the server within the cluster (a service's server id is unique). */
        String key() {
            return server.service() + "/" + server.serverId();
        }
    }

    /** Parses a child of ROOT/members: a {@link NodeEntry}, a {@link ServerEntry}, or null for anything else. */
    static Record parse(String name) {
        String[] f = name.split("~", -1);
        try {
            if (f.length == 8 && f[0].equals("n")) {
                int rank = Integer.parseInt(f[1]);
                InetSocketAddress address = InetSocketAddress.createUnresolved(decode(f[4]), Integer.parseInt(f[5]));
                return new NodeEntry(Long.parseUnsignedLong(f[2], 16),
                        new NodeInfo(rank, Long.parseUnsignedLong(f[3], 16), resolved(address), decode(f[6]),
                        decode(f[7])));
            }
            if (f.length == 6 && f[0].equals("s")) {
                return new ServerEntry(Long.parseUnsignedLong(f[1], 16), new ServerInfo(decode(f[5]),
                        Integer.parseInt(f[3]), Integer.parseInt(f[4]), Integer.parseInt(f[2])));
            }
        } catch (IllegalArgumentException e) {
            return null;        // not ours (or damaged): ignored, like any other stranger under the root
        }
        return null;
    }

    /** An address as the node gave it: a literal IP needs no lookup, and a name is resolved once, here. */
    private static InetSocketAddress resolved(InetSocketAddress unresolved) {
        return new InetSocketAddress(unresolved.getHostString(), unresolved.getPort());
    }

    static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    /** Checks a root path given by the user: absolute, no trailing slash, no empty or relative segments. */
    static String checkRoot(String root) {
        if (root == null || !root.startsWith("/") || root.length() < 2 || root.endsWith("/") || root.contains("//")
                || root.contains("/./") || root.contains("/../") || root.endsWith("/.") || root.endsWith("/..")) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "a ZooKeeper root must be an absolute path such as "
                    + "/baton/mycluster, not '" + root + "'").asException();
        }
        return root;
    }
}
