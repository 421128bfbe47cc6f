package dev.baton.internal.wire;

import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import dev.baton.Status;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * The registry protocol between nodes and the master: ordinary REQUEST/RESPONSE frames on service id 0,
 * with the bodies below (see docs/protocol.md). Membership events travel master to node as one-way
 * requests of method {@link #EVENT}.
 */
public final class ControlProtocol {

    /** Service id reserved for the control plane. User services get ids from 1. */
    public static final int SERVICE_ID = 0;

    /** {nodeId i64, requestedRank i32, host str, port i32, name str} -> {rank i32, snapshot}. */
    public static final int JOIN = 1;
    /** {service str, requestedServerId i32} -> {server}. */
    public static final int REGISTER_SERVER = 2;
    /** {server} -> {}. */
    public static final int DEREGISTER_SERVER = 3;
    /** {} -> {snapshot}. */
    public static final int SNAPSHOT = 4;
    /** master to node, one-way: {event}. */
    public static final int EVENT = 100;

    private static final int NODE_JOINED = 1;
    private static final int NODE_LEFT = 2;
    private static final int SERVER_ADDED = 3;
    private static final int SERVER_REMOVED = 4;

    private ControlProtocol() {
    }

    public static void writeNode(WireWriter w, NodeInfo n) {
        w.putInt(n.rank()).putLong(n.nodeId()).putString(n.address().getHostString()).putInt(n.address().getPort())
                .putString(n.name());
    }

    public static NodeInfo readNode(WireReader r) {
        int rank = r.getInt();
        long nodeId = r.getLong();
        String host = r.getString();
        int port = r.getInt();
        String name = r.getString();
        if (host == null || port < 0 || port > 65535) {
            throw Status.of(Status.Code.PROTOCOL_ERROR, "bad node address").asException();
        }
        return new NodeInfo(rank, nodeId, new InetSocketAddress(host, port), name);
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
        return Membership.of(version, nodes, servers);
    }

    public static void writeEvent(WireWriter w, MembershipEvent e) {
        switch (e) {
            case MembershipEvent.NodeJoined j -> writeNode(w.putByte(NODE_JOINED).putLong(j.version()), j.node());
            case MembershipEvent.NodeLeft l -> writeNode(w.putByte(NODE_LEFT).putLong(l.version()), l.node());
            case MembershipEvent.ServerAdded a -> writeServer(w.putByte(SERVER_ADDED).putLong(a.version()), a.server());
            case MembershipEvent.ServerRemoved x -> writeServer(w.putByte(SERVER_REMOVED).putLong(x.version()), x.server());
        }
    }

    public static MembershipEvent readEvent(WireReader r) {
        int kind = r.getByte();
        long version = r.getLong();
        return switch (kind) {
            case NODE_JOINED -> new MembershipEvent.NodeJoined(version, readNode(r));
            case NODE_LEFT -> new MembershipEvent.NodeLeft(version, readNode(r));
            case SERVER_ADDED -> new MembershipEvent.ServerAdded(version, readServer(r));
            case SERVER_REMOVED -> new MembershipEvent.ServerRemoved(version, readServer(r));
            default -> throw Status.of(Status.Code.PROTOCOL_ERROR, "unknown event kind " + kind).asException();
        };
    }
}
