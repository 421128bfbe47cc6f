package dev.baton;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * An immutable view of the cluster: every node with its rank and address, and every server of every service.
 * A node keeps the latest one and swaps it on each event; holding on to a view is safe and cheap.
 */
public final class Membership {

    private static final Membership EMPTY = new Membership(0, new TreeMap<>(), new TreeMap<>());

    private final long version;
    private final TreeMap<Integer, NodeInfo> nodes;
    private final TreeMap<String, List<ServerInfo>> servers;

    private Membership(long version, TreeMap<Integer, NodeInfo> nodes, TreeMap<String, List<ServerInfo>> servers) {
        this.version = version;
        this.nodes = nodes;
        this.servers = servers;
    }

    public static Membership empty() {
        return EMPTY;
    }

    /** Builds a view from its parts (for registries). */
    public static Membership of(long version, List<NodeInfo> nodes, List<ServerInfo> servers) {
        Membership m = new Membership(version, new TreeMap<>(), new TreeMap<>());
        for (NodeInfo n : nodes) {
            m.nodes.put(n.rank(), n);
        }
        for (ServerInfo s : servers) {
            m.servers.computeIfAbsent(s.service(), k -> new ArrayList<>()).add(s);
        }
        m.servers.replaceAll((k, v) -> sortedCopy(v));
        return m;
    }

    /** The view after {@code event}. */
    public Membership apply(MembershipEvent event) {
        TreeMap<Integer, NodeInfo> n = nodes;
        TreeMap<String, List<ServerInfo>> s = servers;
        switch (event) {
            case MembershipEvent.NodeJoined e -> {
                n = new TreeMap<>(nodes);
                n.put(e.node().rank(), e.node());
            }
            case MembershipEvent.NodeLeft e -> {
                n = new TreeMap<>(nodes);
                n.remove(e.node().rank());
                s = new TreeMap<>();
                for (Map.Entry<String, List<ServerInfo>> en : servers.entrySet()) {
                    List<ServerInfo> kept = en.getValue().stream().filter(x -> x.rank() != e.node().rank()).toList();
                    if (!kept.isEmpty()) {
                        s.put(en.getKey(), kept);
                    }
                }
            }
            case MembershipEvent.ServerAdded e -> {
                s = new TreeMap<>(servers);
                List<ServerInfo> list = new ArrayList<>(s.getOrDefault(e.server().service(), List.of()));
                list.removeIf(x -> x.serverId() == e.server().serverId());
                list.add(e.server());
                s.put(e.server().service(), sortedCopy(list));
            }
            case MembershipEvent.ServerRemoved e -> {
                s = new TreeMap<>(servers);
                List<ServerInfo> list = new ArrayList<>(s.getOrDefault(e.server().service(), List.of()));
                list.removeIf(x -> x.serverId() == e.server().serverId());
                if (list.isEmpty()) {
                    s.remove(e.server().service());
                } else {
                    s.put(e.server().service(), sortedCopy(list));
                }
            }
        }
        return new Membership(event.version(), n, s);
    }

    private static List<ServerInfo> sortedCopy(List<ServerInfo> list) {
        List<ServerInfo> copy = new ArrayList<>(list);
        copy.sort((a, b) -> Integer.compare(a.serverId(), b.serverId()));
        return Collections.unmodifiableList(copy);
    }

    /** Version of this view: the version of the last event applied. */
    public long version() {
        return version;
    }

    /** Every node, by rank. */
    public List<NodeInfo> nodes() {
        return List.copyOf(nodes.values());
    }

    public Optional<NodeInfo> node(int rank) {
        return Optional.ofNullable(nodes.get(rank));
    }

    /** The servers of {@code service}, by server id; empty when none. */
    public List<ServerInfo> servers(String service) {
        return servers.getOrDefault(service, List.of());
    }

    /** Every service with at least one server. */
    public Set<String> services() {
        return Collections.unmodifiableSet(servers.keySet());
    }

    /** Every server on the node with {@code rank}. */
    public List<ServerInfo> serversOn(int rank) {
        List<ServerInfo> out = new ArrayList<>();
        for (List<ServerInfo> list : servers.values()) {
            for (ServerInfo s : list) {
                if (s.rank() == rank) {
                    out.add(s);
                }
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "Membership[v" + version + ", nodes=" + nodes.keySet() + ", services=" + servers + "]";
    }
}
