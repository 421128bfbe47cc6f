package dev.baton.internal.wire;

import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import dev.baton.Status;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The registry protocol between nodes and the master: ordinary REQUEST/RESPONSE frames on service id 0,
 * with the bodies below (see docs/protocol.md). Membership events travel master to node as one-way
 * requests of method {@link #EVENT}.
 *
 * <h2>Coordination (methods 20 to 30, and {@link #KV_EVENT})</h2>
 * Served by {@code MasterCoordination}; any connection may use them (JOIN is not required). Strings are
 * {@code str} (i32 length, UTF-8; names and keys at most 4,096 chars), {@code bytes} is i32 length then the
 * bytes, {@code u8} a boolean 0/1. A {@code token} is chosen by the client and, with the connection,
 * identifies a lock holder or a barrier arrival. {@code timeoutMs} is measured by the master from receipt;
 * 0 or less means "do not wait".
 * <pre>
 *   method          request body                                          answer body
 *   BARRIER     20  name str | parties i32 | timeoutMs i64 | token i64    (empty)  sent when the round opens
 *   LOCK        21  name str | token i64 | timeoutMs i64                  fence i64  sent when the lock is granted
 *   TRY_LOCK    22  name str | token i64                                  acquired u8 | fence i64 (0 if not)
 *   UNLOCK      23  name str | token i64                                  released u8
 *   NEXT_ID     24  key str                                               id i64   (0, 1, 2, ... per key)
 *   KV_PUT      25  key str | value bytes                                 (empty)
 *   KV_GET      26  key str                                               present u8 | value bytes (if present)
 *   KV_DELETE   27  key str                                               existed u8
 *   WATCH       28  watchId i64 | prefix str                              (empty)
 *   UNWATCH     29  watchId i64                                           existed u8
 *   LEAVE_BARRIER 30 name str | token i64                                 left u8
 *
 *   KV_EVENT   101  master to node, one-way, request id 0:
 *   +---------+------------+------------------------------+-------------+------------------------+
 *   | key str | present u8 | value bytes (only if present)| count i32   | watchId i64 x count    |
 *   +---------+------------+------------------------------+-------------+------------------------+
 * </pre>
 * <ul>
 *   <li>BARRIER: the first arrival of a round fixes {@code parties} (a different value is INVALID_ARGUMENT);
 *       when {@code parties} arrivals are in, every one is answered and the next arrival starts a new round.
 *       An arrival still waiting after {@code timeoutMs}, or withdrawn by LEAVE_BARRIER, is answered
 *       DEADLINE_EXCEEDED and no longer counts. LEAVE_BARRIER answers 0 when the arrival was not waiting
 *       (the round opened, or it expired).</li>
 *   <li>LOCK: answered when (connection, token) holds the lock, at once if it is free or already held by
 *       that holder; waiters are granted in arrival order; DEADLINE_EXCEEDED when not granted within
 *       {@code timeoutMs}. UNLOCK releases the lock when (connection, token) holds it (answer 1, and the next
 *       waiter is granted), otherwise withdraws its waiting LOCK (that LOCK is answered DEADLINE_EXCEEDED;
 *       answer 0). A client that gave up waiting sends UNLOCK, so a grant that crossed it is released, never
 *       leaked. Every lock, waiter, barrier arrival and watch of a connection goes when it closes.</li>
 *   <li>KV_PUT: RESOURCE_EXHAUSTED for a value over 1 MiB or a new key beyond 65,536 keys. Each change is
 *       pushed as one KV_EVENT per connection that has watches matching the key by prefix, listing their
 *       ids, in change order (a deletion has present 0; deleting a missing key is no change).</li>
 *   <li>NEXT_ID is RESOURCE_EXHAUSTED for a new key beyond 65,536 counters, WATCH beyond 4,096 watches on one
 *       connection. A name, key or prefix that is null or over 4,096 chars is INVALID_ARGUMENT.</li>
 * </ul>
 */
public final class ControlProtocol {

    /** Service id reserved for the control plane. User services get ids from 1. */
    public static final int SERVICE_ID = 0;

    /**
     * {nodeId i64, requestedRank i32, host str, port i32, name str, hostId str, [count i32, {service str, serviceId i32,
     * serverId i32} x count]} -> {rank i32, leaseMs i64, snapshot}. The optional servers are a rejoining
     * node's, registered in the same step.
     */
    public static final int JOIN = 1;
    /** {service str, requestedServerId i32, [requestedServiceId i32]} -> {server}. */
    public static final int REGISTER_SERVER = 2;
    /** {server} -> {}. */
    public static final int DEREGISTER_SERVER = 3;
    /** {} -> {snapshot}. */
    public static final int SNAPSHOT = 4;
    /**
     * {} -> {leaseMs i64, snapshot}, then every membership EVENT, as a joined node gets them: how a tool or an
     * observer node follows the cluster without joining it (no rank, no membership event of its own). Any
     * role may subscribe; a connection that joined (or already subscribed) is ALREADY_EXISTS.
     */
    public static final int SUBSCRIBE = 5;
    /** {name str, parties i32, timeoutMs i64, token i64} -> {} once the round opens. */
    public static final int BARRIER = 20;
    /** {name str, token i64, timeoutMs i64} -> {fence i64} once granted. */
    public static final int LOCK = 21;
    /** {name str, token i64} -> {acquired u8, fence i64}. */
    public static final int TRY_LOCK = 22;
    /** {name str, token i64} -> {released u8}; withdraws a waiting LOCK of that token when not held. */
    public static final int UNLOCK = 23;
    /** {key str} -> {id i64}. */
    public static final int NEXT_ID = 24;
    /** {key str, value bytes} -> {}. */
    public static final int KV_PUT = 25;
    /** {key str} -> {present u8, value bytes if present}. */
    public static final int KV_GET = 26;
    /** {key str} -> {existed u8}. */
    public static final int KV_DELETE = 27;
    /** {watchId i64, prefix str} -> {}. */
    public static final int WATCH = 28;
    /** {watchId i64} -> {existed u8}. */
    public static final int UNWATCH = 29;
    /** {name str, token i64} -> {left u8}; the withdrawn BARRIER is answered DEADLINE_EXCEEDED. */
    public static final int LEAVE_BARRIER = 30;
    /** {} -> {health}: answered by masters and nodes (on service 0 of a node's data port), see StatusCodec. */
    public static final int HEALTH = 40;
    /** {} -> {node status}: answered by nodes on service 0 of their data port, see StatusCodec. */
    public static final int NODE_STATUS = 41;
    /** {} -> {count i32, {rank i32, ageMs i64} x count}: the master's lease ages (how long since it heard from each node). */
    public static final int LEASES = 42;
    /** master to node, one-way: {event}. */
    public static final int EVENT = 100;
    /** master to node, one-way: {key str, present u8, value bytes if present, count i32, watchId i64 x count}. */
    public static final int KV_EVENT = 101;

    /** The largest value KV_PUT accepts, in bytes. */
    public static final int MAX_VALUE_BYTES = 1 << 20;
    /** The most keys the master's key/value context holds. */
    public static final int MAX_KEYS = 1 << 16;
    /** The longest name, key or prefix the coordination methods accept, in chars. */
    public static final int MAX_NAME_CHARS = 4096;

    private static final int NODE_JOINED = 1;
    private static final int NODE_LEFT = 2;
    private static final int SERVER_ADDED = 3;
    private static final int SERVER_REMOVED = 4;

    private ControlProtocol() {
    }

    public static void writeNode(WireWriter w, NodeInfo n) {
        w.putInt(n.rank()).putLong(n.nodeId()).putString(n.address().getHostString()).putInt(n.address().getPort())
                .putString(n.name()).putString(n.hostId());
    }

    public static NodeInfo readNode(WireReader r) {
        int rank = r.getInt();
        long nodeId = r.getLong();
        String host = r.getString();
        int port = r.getInt();
        String name = r.getString();
        String hostId = r.getString();
        if (host == null || port < 0 || port > 65535) {
            throw Status.of(Status.Code.PROTOCOL_ERROR, "bad node address").asException();
        }
        return new NodeInfo(rank, nodeId, address(host, port), name, hostId == null ? "" : hostId);
    }

    /**
     * An address from the wire without a DNS look-up: an IP literal is parsed, a host name is left unresolved
     * (the transport resolves it when it connects, on the connecting thread).
     */
    public static InetSocketAddress address(String host, int port) {
        try {
            return new InetSocketAddress(java.net.InetAddress.ofLiteral(host), port);
        } catch (IllegalArgumentException notALiteral) {
            return InetSocketAddress.createUnresolved(host, port);
        }
    }

    public static void writeServer(WireWriter w, ServerInfo s) {
        w.putString(s.service()).putInt(s.serviceId()).putInt(s.serverId()).putInt(s.rank());
    }

    public static ServerInfo readServer(WireReader r) {
        String service = r.getString();
        if (service == null) {
            throw Status.of(Status.Code.PROTOCOL_ERROR, "missing service name").asException();
        }
        return new ServerInfo(service, r.getInt(), r.getInt(), r.getInt());
    }

    public static void writeSnapshot(WireWriter w, Membership m) {
        w.putLong(m.version());
        List<NodeInfo> nodes = m.nodes();
        w.putInt(nodes.size());
        for (NodeInfo n : nodes) {
            writeNode(w, n);
        }
        List<ServerInfo> servers = new ArrayList<>();
        for (String s : m.services()) {
            servers.addAll(m.servers(s));
        }
        w.putInt(servers.size());
        for (ServerInfo s : servers) {
            writeServer(w, s);
        }
        // Appended, so readers that predate it stop before it: {count i32, {rank i32, principal str} x count}.
        List<NodeInfo> proved = nodes.stream().filter(n -> !n.principal().isEmpty()).toList();
        w.putInt(proved.size());
        for (NodeInfo n : proved) {
            w.putInt(n.rank()).putString(n.principal());
        }
    }

    public static Membership readSnapshot(WireReader r) {
        long version = r.getLong();
        int n = r.getCount(24);
        List<NodeInfo> nodes = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            nodes.add(readNode(r));
        }
        int m = r.getCount(16);
        List<ServerInfo> servers = new ArrayList<>(m);
        for (int i = 0; i < m; i++) {
            servers.add(readServer(r));
        }
        if (r.hasRemaining()) {
            int p = r.getCount(8);
            Map<Integer, String> principals = new HashMap<>();
            for (int i = 0; i < p; i++) {
                int rank = r.getInt();
                principals.put(rank, principal(r));
            }
            nodes.replaceAll(node -> node.withPrincipal(principals.getOrDefault(node.rank(), node.principal())));
        }
        return Membership.of(version, nodes, servers);
    }

    public static void writeEvent(WireWriter w, MembershipEvent e) {
        switch (e) {
            // The principal is appended, so readers that predate it stop before it.
            case MembershipEvent.NodeJoined j -> {
                writeNode(w.putByte(NODE_JOINED).putLong(j.version()), j.node());
                w.putString(j.node().principal());
            }
            case MembershipEvent.NodeLeft l -> {
                writeNode(w.putByte(NODE_LEFT).putLong(l.version()), l.node());
                w.putString(l.node().principal());
            }
            case MembershipEvent.ServerAdded a -> writeServer(w.putByte(SERVER_ADDED).putLong(a.version()), a.server());
            case MembershipEvent.ServerRemoved x -> writeServer(w.putByte(SERVER_REMOVED).putLong(x.version()), x.server());
        }
    }

    public static MembershipEvent readEvent(WireReader r) {
        int kind = r.getByte();
        long version = r.getLong();
        return switch (kind) {
            case NODE_JOINED -> new MembershipEvent.NodeJoined(version, readNodeAndPrincipal(r));
            case NODE_LEFT -> new MembershipEvent.NodeLeft(version, readNodeAndPrincipal(r));
            case SERVER_ADDED -> new MembershipEvent.ServerAdded(version, readServer(r));
            case SERVER_REMOVED -> new MembershipEvent.ServerRemoved(version, readServer(r));
            default -> throw Status.of(Status.Code.PROTOCOL_ERROR, "unknown event kind " + kind).asException();
        };
    }

    private static NodeInfo readNodeAndPrincipal(WireReader r) {
        NodeInfo node = readNode(r);
        return r.hasRemaining() ? node.withPrincipal(principal(r)) : node;
    }

    /** A principal's name: empty for none; not null. */
    private static String principal(WireReader r) {
        String p = r.getString();
        return p == null ? "" : p;
    }
}
