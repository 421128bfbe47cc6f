package dev.baton.internal.rpc;

import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.NodeInfo;
import dev.baton.spi.FrameType;
import dev.baton.spi.MemberKey;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;
import dev.baton.spi.Registry;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import javax.security.auth.x500.X500Principal;

/**
 * The way to every other node: one {@link Peer} (prpc's FrontEnd) per remote rank, created on first use and
 * connecting lazily over {@code NodeOptions.lanes} connections (a calling thread's lane from {@link ThreadLanes});
 * the open connections; and the registry's listener, which keeps the {@link MembershipView} and retires the peers
 * of nodes that left. A retired peer opens no new connection; its current ones close once neither side waits on
 * them, or after the drain timeout ({@link #closeWhenIdle}).
 *
 * <p>Thread-safe. Registry callbacks arrive on the registry's thread, connection callbacks on I/O threads;
 * closes of idle connections run on the timer thread, never under a lock.
 */
final class PeerTable implements Registry.Listener {

    private static final System.Logger LOG = System.getLogger(PeerTable.class.getName());
    private static final long UNCONFIRMED_GRACE_NS = 10_000_000_000L;
    /** How often a connection that is going away is checked for idleness. */
    static final long CLOSE_WHEN_IDLE_CHECK_NS = 5_000_000L;

    private final NodeRuntime node;
    private final MembershipView view;
    private final DeadlineTimer timer;
    private final long drainTimeoutNs;
    private final int lanes;
    private final ThreadLanes threadLanes = new ThreadLanes();
    private final IntTable<Peer> peers = new IntTable<>();
    private final Set<ConnState> connections = ConcurrentHashMap.newKeySet();
    private volatile Transport transport;

    PeerTable(NodeRuntime node, MembershipView view, DeadlineTimer timer) {
        this.node = node;
        this.view = view;
        this.timer = timer;
        this.drainTimeoutNs = node.options().drainTimeout().toNanos();
        this.lanes = node.options().lanes();
    }

    /** Which lane each thread calls on; null with one lane per peer. */
    ThreadLanes threadLanes() {
        return lanes == 1 ? null : threadLanes;
    }

    /** The transport peers connect with (set once, before any call). */
    void useTransport(Transport t) {
        this.transport = t;
    }

    Membership membership() {
        return view.current();
    }

    /** The peer of {@code rank}, created on first use from the membership; null when no node has the rank. */
    Peer peer(int rank) {
        Peer p = peers.get(rank);
        if (p != null) {
            return p;
        }
        NodeInfo info = view.current().node(rank).orElse(null);
        if (info == null) {
            return null;
        }
        return peers.computeIfAbsent(rank, k -> new Peer(info, transport, lanes, threadLanes));
    }

    /** False while the peer of {@code rank} backs off after a failure or is leaving: load balancing skips it. */
    boolean available(int rank) {
        Peer p = peers.get(rank);
        return p == null || p.available();
    }

    /** True when no connection is open (the node's close waits for peers to hang up). */
    boolean noConnections() {
        return connections.isEmpty();
    }

    // ================================================================== connections

    /**
     * Why {@code c}, whose peer's opening says {@code id}, must not open, or null: its peer is not the member it
     * claims to be (inbound), or the member it was opened to (outbound), by the identity that member proved when it
     * joined ({@link #unproved}). Asked before the connection opens, so nothing is sent or delivered on it first.
     */
    String refusal(TransportConnection c, PeerIdentity id) {
        ConnState cs = ConnState.of(c);
        if (cs != null) {
            return cs.peer() == null ? null : unproved(c, cs.peer().node(), "was reached as");
        }
        if (id.role() == PeerIdentity.ROLE_NODE && id.rank() >= 0 && id.rank() != node.rank()) {
            return unproved(c, view.current().node(id.rank()).orElse(null), "claims to be");
        }
        return null;
    }

    /**
     * Why {@code c}'s peer is not {@code member}, or null when it is or nothing can tell. The member proved an
     * identity when it joined ({@link NodeInfo#principal}): a TLS subject, which a TLS connection must present; or a
     * member key (the cluster secret alone), which a connection must have proved in its handshake. A shared-memory
     * connection is proved by its operating-system user instead (its principal is of another kind).
     */
    private static String unproved(TransportConnection c, NodeInfo member, String how) {
        if (member == null || member.principal().isEmpty()) {
            return null;
        }
        String proved;
        switch (c.peerPrincipal()) {
            case X500Principal presented when !names(presented, member.principal()) ->
                    proved = "its certificate is " + presented.getName();
            case MemberKey.KeyPrincipal key when !key.getName().equals(member.principal()) ->
                    proved = "it proved the member key " + key.getName();
            case null -> {
                if (!member.principal().startsWith(MemberKey.PRINCIPAL_PREFIX)) {
                    return null;
                }
                proved = "it proved no member key";
            }
            default -> {
                return null;
            }
        }
        return "the peer at " + c.remoteAddress() + " " + how + " rank " + member.rank() + ", which joined as "
                + member.principal() + ", but " + proved;
    }

    /** True when {@code name} (from the membership, so from the wire) is {@code principal}'s X.500 name. */
    private static boolean names(X500Principal principal, String name) {
        try {
            return principal.equals(new X500Principal(name));
        } catch (IllegalArgumentException notAName) {
            return false;
        }
    }

    /** A connection completed its handshake: adopt an inbound one from a node we have none to. */
    void connectionOpened(TransportConnection c) {
        ConnState cs = ConnState.of(c);
        PeerIdentity id = c.remoteIdentity();
        boolean adopt = false;
        if (cs == null) {
            cs = new ConnState(c, null);
            c.attach(cs);
            adopt = id.role() == PeerIdentity.ROLE_NODE && id.rank() >= 0 && id.rank() != node.rank()
                    && !node.isClosed();
        } else if (cs.peer() != null) {
            cs.peer().onOpened(c);
        }
        connections.add(cs);
        // The member it claims to be may have become known since refusal(): checked before it may be adopted, and
        // after it is in the set that checkClaims() goes through, so a change of the view is seen one way or the other.
        Peer p = adopt ? peer(id.rank()) : null;
        String refused = p != null ? unproved(c, p.node(), "claimed to be") : unprovedClaim(cs);
        if (refused != null) {
            LOG.log(System.Logger.Level.WARNING, "closing a connection that opened before its claim could be checked: "
                    + "{0}", refused);
            c.close();
            return;
        }
        if (p != null && p.nodeId == id.nodeId() && p.adopt(c)) {
            cs.adoptedBy(p);
        }
        cs.opened();
        if (node.isClosed()) {
            goAway(cs);
        }
    }

    /**
     * Closes the open inbound connections that claim a rank whose member is now known to have proved another
     * identity: they opened before this node knew the member ({@link #refusal} could not tell). Called after each
     * change of the view; with {@link #connectionOpened}'s own check, a connection is checked either way.
     */
    private void checkClaims() {
        String first = null;
        List<TransportConnection> unproved = new ArrayList<>();
        for (ConnState cs : connections) {
            String refused = unprovedClaim(cs);
            if (refused != null) {
                first = first == null ? refused : first;
                unproved.add(cs.connection);
            }
        }
        if (first != null) {
            LOG.log(System.Logger.Level.WARNING, "closing {0} connection(s) that opened before their claim could be "
                    + "checked, as: {1}", unproved.size(), first);
            unproved.forEach(TransportConnection::close);
        }
    }

    /** Why {@code cs}'s connection is not the member it claims to be (an open inbound one), or null. */
    private String unprovedClaim(ConnState cs) {
        TransportConnection c = cs.connection;
        PeerIdentity id = c.remoteIdentity();
        if (cs.peer() != null || id == null || id.role() != PeerIdentity.ROLE_NODE || id.rank() < 0 || !c.isOpen()) {
            return null;
        }
        return unproved(c, view.current().node(id.rank()).orElse(null), "claimed to be");
    }

    void connectionClosed(ConnState cs) {
        connections.remove(cs);
        if (cs.peer() != null) {
            cs.peer().onClosed(cs.connection);
        }
    }

    /**
     * The peer said GOAWAY: send it nothing new on this connection, and close it once neither side waits. When it is
     * leaving, never connect to it again; when it closes this connection only, the next call connects anew.
     */
    void goAwayReceived(ConnState cs, boolean connectionOnly) {
        cs.markGoingAway();
        Peer p = cs.peer();
        if (p != null && connectionOnly) {
            p.release(cs.connection);
        } else if (p != null) {
            // Never connect to it again, nor send it anything new on another lane (until the registry says the rank
            // belongs to a new process, which replaces this Peer). Its other lanes close once idle, on their own
            // GOAWAY or when it hangs up.
            p.leave();
        }
        closeWhenIdle(cs);
    }

    /** This node is closing: GOAWAY on every open connection (peers send nothing new, and hang up once done). */
    void goAwayAll() {
        for (ConnState cs : connections) {
            goAway(cs);
        }
    }

    private static void goAway(ConnState cs) {
        cs.connection.offer(new SimpleFrame(FrameType.GOAWAY, 0, 0, 0, 0, 0, 0, null));
    }

    /** Closes this one connection the way a leaving node closes all of its own: the peer hangs up. */
    private void goAwayFromConnection(ConnState cs) {
        cs.markGoingAway();
        cs.connection.offer(new SimpleFrame(FrameType.GOAWAY, FrameType.FLAG_CONNECTION_ONLY, 0, 0, 0, 0, 0, null));
        timer.schedule(() -> cs.connection.close(), drainTimeoutNs);    // no-op if the peer hung up already
    }

    /** How this node reaches each peer it has an open connection to ({@link Transport#pathOf}), by rank. */
    SortedMap<Integer, String> paths() {
        SortedMap<Integer, String> paths = new TreeMap<>();
        Transport t = transport;
        for (Peer p : peers.values()) {
            TransportConnection c = p.current();
            if (c != null && c.isOpen()) {
                paths.put(p.rank, t.pathOf(c));
            }
        }
        return paths;
    }

    /** Closes every peer's connection (the node's last step). */
    void closeAll() {
        for (Peer p : peers.values()) {
            p.close();
        }
        peers.clear();
    }

    /**
     * Closes a connection once neither side waits on it: no call of ours awaits a response and no request from
     * the peer is being served (or once the drain timeout passed). Checked on the timer thread, never under a lock.
     */
    private void closeWhenIdle(ConnState cs) {
        if (cs.scheduleClose()) {
            checkIdle(cs, System.nanoTime() + drainTimeoutNs);
        }
    }

    private void checkIdle(ConnState cs, long untilNanos) {
        timer.schedule(() -> {
            // Not at once because this node is closing too: a request it still serves on the connection would lose
            // its answer (its own drain waits for those, and closes what is left at its end).
            if (cs.idle() || System.nanoTime() - untilNanos >= 0) {
                cs.connection.close();
            } else {
                checkIdle(cs, untilNanos);
            }
        }, CLOSE_WHEN_IDLE_CHECK_NS);
    }

    /**
     * The registry says the peer's node left, but it may still be running and sending on the connection we share
     * (its session expired while it ran, or only the registry lost it; a crashed node's connection is already
     * closed). Closing the connection when it looks idle would lose the requests on their way, so ask the peer to
     * hang up instead: a GOAWAY for this connection only, after which the peer sends nothing new on it and closes
     * it once its calls are answered (this side serves what arrives meanwhile), or this side closes it after the
     * drain timeout. A peer older than protocol version 5 would take any GOAWAY as "leaving" and never call this
     * node again: its connection is left to the peer and to the keepalive.
     */
    private void retire(Peer p) {
        p.retire();
        for (TransportConnection c : p.connections()) {
            ConnState cs = ConnState.of(c);
            PeerIdentity id = c.remoteIdentity();
            if (cs != null && c.isOpen() && id != null && id.protocolVersion() >= ProtocolVersion.CONNECTION_GOAWAY
                    && cs.scheduleClose()) {
                goAwayFromConnection(cs);
            }
        }
    }

    // ================================================================== Registry.Listener

    @Override
    public void onRejoined(NodeInfo self) {
        node.rankChanged(self.rank());
    }

    /** A whole view from the registry: on join, after a gap in events, or after rejoining a restarted master. */
    @Override
    public void onSnapshot(Membership fresh) {
        // Nodes the snapshot lacks are carried over (see MembershipView); dropped if still unconfirmed later.
        for (NodeInfo n : view.applySnapshot(fresh, node.rank())) {
            timer.schedule(() -> {
                if (view.expireUnconfirmed(n)) {
                    Peer p = peers.remove(n.rank());
                    if (p != null) {
                        retire(p);
                    }
                }
            }, UNCONFIRMED_GRACE_NS);
        }
        checkClaims();
    }

    @Override
    public void onEvent(MembershipEvent e) {
        view.applyEvent(e);
        switch (e) {
            case MembershipEvent.NodeLeft left -> {
                Peer p = peers.remove(left.node().rank());
                if (p != null) {
                    retire(p);
                }
            }
            case MembershipEvent.NodeJoined joined -> {
                Peer p = peers.get(joined.node().rank());
                if (p != null && p.nodeId != joined.node().nodeId() && peers.remove(p.rank, p)) {
                    retire(p);      // the rank now belongs to another process: never reuse the old one's connection
                } else if (p != null) {
                    p.node(joined.node());
                }
                checkClaims();
            }
            default -> {
            }
        }
    }
}
