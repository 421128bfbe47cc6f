package dev.baton.zookeeper;

import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import dev.baton.spi.Registry;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Turns ZooKeeper's notifications about ROOT/members into Baton's membership: a snapshot, then events in
 * version order, each told to the node's listener once.
 *
 * <h2>Versions</h2>
 * A change's version comes from the ZooKeeper transaction that made it: {@code zxid << 16}, plus an index when
 * one transaction means several events (a node's departure: its servers removed, sorted, then the node). Every
 * node therefore tells the same change at the same version, and versions only grow, but they are not
 * consecutive (the master's are). A snapshot read at the members' pzxid {@code P} has version
 * {@code P << 16 | 0xFFFF}: notifications of transactions up to {@code P} are already in it and are skipped,
 * later ones apply. zxids stay below 2^47 for the first 32,767 leader elections of an ensemble.
 *
 * <h2>Ordering</h2>
 * ZooKeeper delivers a client's notifications in transaction order on one thread, and a read answers no
 * earlier than the notifications before it, so a snapshot plus the notifications after its {@code P} is exact.
 * While a snapshot is being read (the first, or a resynchronisation after a reconnect, when notifications may
 * have been missed), notifications are held and replayed after it.
 *
 * <p>Thread-safe: one lock; the listener is called under it, so it sees one change at a time.
 */
final class ZkMembershipView {

    private static final System.Logger LOG = System.getLogger(ZkMembershipView.class.getName());

    /** The index of a snapshot's version: after every event of its transaction. */
    private static final int SNAPSHOT_INDEX = 0xFFFF;

    private final String members;
    private final Registry.Listener listener;
    private final BiConsumer<Long, Membership> nodeGone;
    private final Runnable resync;

    private Membership view;
    private long snapshotZxid = -1;
    private boolean holding = true;
    private final List<WatchedEvent> held = new ArrayList<>();
    /** Sessions of the member nodes, to their ranks: a server entry counts only while its session does. */
    private final Map<Long, Integer> sessions = new HashMap<>();
    /** The session that registered each server in the view ("service/serverId"). */
    private final Map<String, Long> serverSessions = new HashMap<>();
    private boolean closed;

    /**
     * @param members  the path of ROOT/members
     * @param nodeGone told (under the lock; must not block) the session of a node that left, whose server entries
     *                 are now stale, and the view after it left
     * @param resync   asked (must not block) for a new snapshot, when a notification cannot be placed (a server
     *                 older than 3.9 gives no zxid)
     */
    ZkMembershipView(String members, Registry.Listener listener, BiConsumer<Long, Membership> nodeGone,
                     Runnable resync) {
        this.members = members;
        this.listener = listener;
        this.nodeGone = nodeGone;
        this.resync = resync;
    }

    static long version(long zxid, int index) {
        return zxid << 16 | index;
    }

    /** Holds notifications until the next {@link #install}. */
    synchronized void hold() {
        holding = true;
    }

    /** A notification from the persistent recursive watch on ROOT/members (ZooKeeper's event thread). */
    synchronized void onWatch(WatchedEvent e) {
        if (closed || e.getType() == Watcher.Event.EventType.None || e.getPath() == null
                || !e.getPath().startsWith(members + "/")) {
            return;
        }
        if (holding) {
            held.add(e);
        } else {
            apply(e);
        }
    }

    /** Installs a snapshot: the children of ROOT/members read at their pzxid; replays what was held. */
    synchronized void install(long pzxid, List<String> children) {
        if (closed) {
            return;
        }
        sessions.clear();
        serverSessions.clear();
        List<NodeInfo> nodes = new ArrayList<>();
        List<ZkLayout.ServerEntry> entries = new ArrayList<>();
        for (String child : children) {
            switch (ZkLayout.parse(child)) {
                case ZkLayout.NodeEntry n -> {
                    sessions.put(n.session(), n.node().rank());
                    nodes.add(n.node());
                }
                case ZkLayout.ServerEntry s -> entries.add(s);
                case null, default -> { }
            }
        }
        List<ServerInfo> servers = new ArrayList<>();
        for (ZkLayout.ServerEntry s : entries) {
            if (counts(s) && serverSessions.putIfAbsent(s.key(), s.session()) == null) {
                servers.add(s.server());
            }
        }
        snapshotZxid = pzxid;
        view = Membership.of(version(pzxid, SNAPSHOT_INDEX), nodes, servers);
        listener.onSnapshot(view);
        holding = false;
        for (WatchedEvent e : held) {
            apply(e);
        }
        held.clear();
    }

    /** Sessions whose node entries are in the view now. */
    synchronized boolean isMember(long session) {
        return sessions.containsKey(session);
    }

    synchronized void close() {
        closed = true;
        held.clear();
    }

    private boolean counts(ZkLayout.ServerEntry s) {
        Integer rank = sessions.get(s.session());
        return rank != null && rank == s.server().rank();
    }

    /** Caller holds the lock. */
    private void apply(WatchedEvent e) {
        long zxid = e.getZxid();
        if (zxid < 0) {
            // A server before 3.9: the change cannot be placed, so read the whole membership again.
            hold();
            resync.run();
            return;
        }
        if (zxid <= snapshotZxid) {
            return;     // in the snapshot already
        }
        String child = e.getPath().substring(members.length() + 1);
        boolean created = e.getType() == Watcher.Event.EventType.NodeCreated;
        boolean deleted = e.getType() == Watcher.Event.EventType.NodeDeleted;
        switch (ZkLayout.parse(child)) {
            case ZkLayout.NodeEntry n when created -> nodeJoined(zxid, n);
            case ZkLayout.NodeEntry n when deleted -> nodeLeft(zxid, n);
            case ZkLayout.ServerEntry s when created -> {
                if (counts(s) && serverSessions.putIfAbsent(s.key(), s.session()) == null) {
                    tell(new MembershipEvent.ServerAdded(version(zxid, 0), s.server()));
                }
            }
            case ZkLayout.ServerEntry s when deleted -> {
                Long owner = serverSessions.get(s.key());
                if (owner != null && owner == s.session()) {
                    serverSessions.remove(s.key());
                    tell(new MembershipEvent.ServerRemoved(version(zxid, 0), s.server()));
                }
            }
            case null, default -> { }
        }
    }

    private void nodeJoined(long zxid, ZkLayout.NodeEntry n) {
        if (sessions.containsKey(n.session())) {
            return;
        }
        if (view.node(n.node().rank()).isPresent()) {
            LOG.log(System.Logger.Level.WARNING, "ZooKeeper lists two nodes as rank {0}; keeping the first",
                    n.node().rank());
            return;
        }
        sessions.put(n.session(), n.node().rank());
        tell(new MembershipEvent.NodeJoined(version(zxid, 0), n.node()));
    }

    /** One deletion means the whole node: its servers (in the view's order, the same everywhere), then itself. */
    private void nodeLeft(long zxid, ZkLayout.NodeEntry n) {
        Integer rank = sessions.get(n.session());
        if (rank == null || rank != n.node().rank()) {
            return;
        }
        sessions.remove(n.session());
        int index = 0;
        for (ServerInfo s : view.serversOn(rank)) {
            serverSessions.remove(s.service() + "/" + s.serverId());
            tell(new MembershipEvent.ServerRemoved(version(zxid, index++), s));
        }
        NodeInfo node = view.node(rank).orElse(n.node());
        tell(new MembershipEvent.NodeLeft(version(zxid, index), node));
        nodeGone.accept(n.session(), view);
    }

    private void tell(MembershipEvent event) {
        view = view.apply(event);
        listener.onEvent(event);
    }
}
