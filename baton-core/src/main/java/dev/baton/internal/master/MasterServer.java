package dev.baton.internal.master;

import dev.baton.Authorizer;
import dev.baton.BatonException;
import dev.baton.CoordinationState;
import dev.baton.Health;
import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.Message;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.internal.wire.ControlFrame;
import dev.baton.internal.wire.ControlProtocol;
import dev.baton.internal.wire.StatusCodec;
import dev.baton.internal.wire.WireReader;
import dev.baton.internal.wire.WireWriter;
import dev.baton.spi.FrameHandler;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.MemberKey;
import dev.baton.spi.MessageAccess;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.TransportSettings;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import javax.security.auth.x500.X500Principal;

/**
 * The master: an in-memory registry of nodes, services and servers, served over the Baton wire protocol.
 *
 * <p>All state sits under one lock ({@code this}); every change bumps the version and is pushed, under
 * that same lock, to every joined node's connection and every subscriber's (tools and observer nodes, which
 * follow the membership without joining it), so each sees events in version order and after
 * the snapshot its JOIN answer carried. Sending never blocks (the combining send queues); a node whose
 * queue overflows is disconnected, which removes it from the membership.
 *
 * <p>Coordination requests (barriers, locks, ids, key/value; {@link ControlProtocol} methods 20 to 30) go to
 * {@link MasterCoordination}, which keeps its state under its own lock (taken after this one, never before).
 * {@link MasterAuthorization} decides on joins, registrations, coordination requests and tools' questions before
 * either lock is taken.
 */
public final class MasterServer implements dev.baton.Master, FrameHandler {

    private static final System.Logger LOG = System.getLogger(MasterServer.class.getName());

    private final Transport transport;
    private final MasterCoordination coordination = new MasterCoordination();
    private InetSocketAddress address;

    // ---- guarded by this
    private long version;
    private int nextRank;
    private final Map<Integer, Joined> nodes = new LinkedHashMap<>();
    private final Map<String, ServiceRecord> services = new HashMap<>();
    /** Connections that follow the membership without joining (tools, observer nodes). */
    private final Set<TransportConnection> subscribers = new LinkedHashSet<>();
    private boolean closed;

    /** The attachment of a subscribed connection (a joined one carries its NodeInfo). */
    private static final Object SUBSCRIBER = new Object() {
        @Override
        public String toString() {
            return "subscriber";
        }
    };

    private record Joined(NodeInfo info, TransportConnection connection) {
    }

    private static final class ServiceRecord {
        final String name;
        final int id;
        int nextServerId;
        final Map<Integer, ServerInfo> servers = new LinkedHashMap<>();

        ServiceRecord(String name, int id) {
            this.name = name;
            this.id = id;
        }
    }

    private final long leaseTimeoutMs;

    private final MasterAuthorization authorization;

    private MasterServer(long leaseTimeoutMs, TransportFactory transports, Authorizer authorizer) {
        this.leaseTimeoutMs = leaseTimeoutMs;
        this.authorization = new MasterAuthorization(authorizer);
        // The lease: a node pings every third of the lease; a connection that carries nothing for
        // leaseTimeoutMs is closed by the transport, and closing it removes the node. The master itself never
        // pings (its probe would be answered by a node's transport even when the node no longer renews).
        TransportSettings settings = TransportSettings.builder()
                .ioThreads(1)
                .maxMessageSize(16 << 20)
                .maxQueuedBytes(256L << 20)
                .maxQueuedFrames(1 << 16)
                .keepaliveInterval(java.time.Duration.ZERO)
                .keepaliveTimeout(java.time.Duration.ofMillis(leaseTimeoutMs))
                .build();
        transport = transports.create(new TransportContext("master", ThreadLocalRandom.current().nextLong(),
                PeerIdentity.ROLE_MASTER, () -> -1, this, settings));
    }

    /** Starts a master on {@code bind}, its connections made by {@code transports}. */
    public static MasterServer start(InetSocketAddress bind, long leaseTimeoutMs, TransportFactory transports)
            throws IOException {
        return start(bind, leaseTimeoutMs, transports, null);
    }

    /**
     * Starts a master on {@code bind}, its connections made by {@code transports}, joins, registrations,
     * coordination and tools' questions allowed by {@code authorizer} (null: all).
     */
    public static MasterServer start(InetSocketAddress bind, long leaseTimeoutMs, TransportFactory transports,
                                     Authorizer authorizer) throws IOException {
        MasterServer m = new MasterServer(leaseTimeoutMs, transports, authorizer);
        try {
            m.address = m.transport.listen(bind);
        } catch (IOException | RuntimeException e) {
            m.transport.close();
            throw e;
        }
        return m;
    }

    @Override
    public InetSocketAddress address() {
        return address;
    }

    @Override
    public synchronized Membership membership() {
        List<NodeInfo> n = new ArrayList<>();
        for (Joined j : nodes.values()) {
            n.add(j.info());
        }
        List<ServerInfo> s = new ArrayList<>();
        for (ServiceRecord r : services.values()) {
            s.addAll(r.servers.values());
        }
        return Membership.of(version, n, s);
    }

    @Override
    public synchronized java.util.SortedMap<Integer, java.time.Duration> leaseAges() {
        long now = System.nanoTime();
        java.util.SortedMap<Integer, java.time.Duration> ages = new java.util.TreeMap<>();
        for (Joined j : nodes.values()) {
            long last = j.connection().lastReceivedNanos();
            if (last != -1) {
                ages.put(j.info().rank(), java.time.Duration.ofNanos(Math.max(0, now - last)));
            }
        }
        return ages;
    }

    @Override
    public CoordinationState coordinationState() {
        return coordination.state();
    }

    // ------------------------------------------------------------------ transport callbacks

    @Override
    public void onOpen(TransportConnection c) {
    }

    @Override
    public void onFrame(TransportConnection c, InboundHeader h, Message payload) {
        try {
            if (h.type() != FrameType.REQUEST) {
                return;
            }
            long id = h.requestId();
            try {
                ByteBuffer answer = handle(c, h.method(), new WireReader(payload.buffer()), id);
                if (answer != null) {
                    c.offer(new ControlFrame(FrameType.RESPONSE, 0, 0, id, h.method(), answer));
                }
            } catch (BatonException e) {
                reply(c, id, h.method(), e.status());
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "master failed on method " + h.method(), e);
                reply(c, id, h.method(), Status.of(Status.Code.INTERNAL, e.toString()));
            }
        } finally {
            MessageAccess.get().release(payload);     // requests are read before this returns
        }
    }

    private static void reply(TransportConnection c, long id, int method, Status status) {
        ByteBuffer why = StandardCharsets.UTF_8.encode(String.valueOf(status.description()));
        c.offer(new ControlFrame(FrameType.RESPONSE, 0, status.code().value(), id, method, why));
    }

    /** Handles one control request; returns the answer body, or null when the answer was already queued. */
    private ByteBuffer handle(TransportConnection c, int method, WireReader r, long id) {
        return switch (method) {
            case ControlProtocol.JOIN -> join(c, JoinRequest.read(r), id);
            case ControlProtocol.REGISTER_SERVER -> {
                String service = r.getString();
                authorization.checkServe(c, service);     // outside the lock: it runs the user's policy
                yield registerServer(c, service, r, id);
            }
            case ControlProtocol.DEREGISTER_SERVER -> deregisterServer(c, r);
            case ControlProtocol.SUBSCRIBE -> {
                authorization.checkObserve(c, method);     // outside the lock, like every question below
                yield subscribe(c, id);
            }
            case ControlProtocol.LEASES -> {
                authorization.checkObserve(c, method);
                WireWriter w = new WireWriter();
                StatusCodec.writeLeaseAges(w, leaseAges());
                yield w.toBuffer();
            }
            case ControlProtocol.HEALTH -> {
                authorization.checkObserve(c, method);
                WireWriter w = new WireWriter();
                StatusCodec.writeHealth(w, health());
                yield w.toBuffer();
            }
            case ControlProtocol.SNAPSHOT -> {
                authorization.checkObserve(c, method);
                WireWriter w = new WireWriter();
                ControlProtocol.writeSnapshot(w, membership());
                yield w.toBuffer();
            }
            default -> {
                if (MasterCoordination.serves(method)) {
                    authorization.checkCoordination(c, method, r);     // before the request can wait or change
                    yield coordination.handle(c, method, r, id);
                }
                throw Status.of(Status.Code.NO_SUCH_METHOD, "unknown control method " + method).asException();
            }
        };
    }

    /** What a JOIN asks, read before the lock is taken. */
    private record JoinRequest(long nodeId, int requestedRank, String host, int port, String name, String hostId,
                               List<ServerInfo> servers) {
        static JoinRequest read(WireReader r) {
            long nodeId = r.getLong();
            int requestedRank = r.getInt();
            String host = r.getString();
            int port = r.getInt();
            String name = r.getString();
            String hostId = r.getString();
            // A node rejoining a restarted master brings its servers (service, service id, server id).
            int count = r.hasRemaining() ? r.getCount(12) : 0;
            List<ServerInfo> servers = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                servers.add(new ServerInfo(r.getString(), r.getInt(), r.getInt(), -1));
            }
            return new JoinRequest(nodeId, requestedRank, host, port, name, hostId, servers);
        }
    }

    /** Authorizes a JOIN, and the servers it brings back, outside the lock; then admits the node. */
    private ByteBuffer join(TransportConnection c, JoinRequest req, long id) {
        if (c.remoteIdentity().role() != PeerIdentity.ROLE_NODE) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "only nodes join the membership").asException();
        }
        authorization.checkJoin(c);
        List<ServerInfo> allowed = new ArrayList<>(req.servers().size());
        for (ServerInfo s : req.servers()) {
            String refusal = authorization.serveRefusal(c, s.service());
            if (refusal == null) {
                allowed.add(s);
            }
        }
        return admit(c, req, allowed, id);
    }

    private synchronized ByteBuffer admit(TransportConnection c, JoinRequest req, List<ServerInfo> servers, long id) {
        checkOpen();
        if (c.attachment() != null) {
            throw Status.of(Status.Code.ALREADY_EXISTS, "this connection already " + (c.attachment() == SUBSCRIBER
                    ? "subscribed" : "joined")).asException();
        }
        long nodeId = req.nodeId();
        int requestedRank = req.requestedRank();
        String host = req.host();
        int port = req.port();
        String name = req.name();
        String hostId = req.hostId();
        if (host == null || port <= 0 || port > 65535) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "bad node address " + host + ":" + port).asException();
        }
        String principal = switch (c.peerPrincipal()) {
            case X500Principal subject -> subject.getName();
            case MemberKey.KeyPrincipal key -> key.getName();
            case null, default -> "";
        };
        Joined stale = requestedRank >= 0 ? nodes.get(requestedRank) : null;
        // Only the holder of the same certificate subject or member key is the same node: any member can claim a
        // node id.
        if (stale != null && stale.info().nodeId() == nodeId && stale.info().principal().equals(principal)) {
            // The same node coming back on a new connection before its old one timed out.
            removeNode(stale.info());
            stale.connection().attach(null);
            stale.connection().close();
        }
        int rank;
        if (requestedRank >= 0 && !nodes.containsKey(requestedRank)) {
            rank = requestedRank;
            nextRank = Math.max(nextRank, rank + 1);
        } else {
            rank = nextRank++;
        }
        NodeInfo info = new NodeInfo(rank, nodeId, ControlProtocol.address(host, port), name == null ? "node" : name,
                hostId == null ? "" : hostId, principal);
        c.attach(info);
        nodes.put(rank, new Joined(info, c));
        version++;
        List<MembershipEvent> events = new ArrayList<>();
        events.add(new MembershipEvent.NodeJoined(version, info));
        // A node rejoining a restarted master brings its servers in the same step, so no view ever shows the
        // node without them. A server whose id was taken meanwhile, or that the authorizer refused, is left out.
        for (ServerInfo brought : servers) {
            String service = brought.service();
            int serviceId = brought.serviceId();
            int serverId = brought.serverId();
            try {
                ServerInfo s = addServer(service, serverId, serviceId, rank);
                version++;
                events.add(new MembershipEvent.ServerAdded(version, s));
            } catch (BatonException e) {
                LOG.log(System.Logger.Level.WARNING, "rank {0} could not bring back server {1} of ''{2}'': {3}",
                        rank, serverId, service, e.getMessage());
            }
        }
        // The snapshot already contains the node and its servers; everyone else learns of them by events.
        WireWriter w = new WireWriter().putInt(rank).putLong(leaseTimeoutMs);
        ControlProtocol.writeSnapshot(w, membership());
        c.offer(new ControlFrame(FrameType.RESPONSE, 0, 0, id, ControlProtocol.JOIN, w.toBuffer()));
        for (MembershipEvent e : events) {
            broadcast(e, c);
        }
        LOG.log(System.Logger.Level.INFO, "node {0} ({1}) joined as rank {2}", info.address(), info.name(), rank);
        return null;
    }

    private synchronized Health health() {
        return closed ? new Health(false, "master", "shutting down") : new Health(true, "master", "");
    }

    /** A tool or observer follows the membership: the snapshot now, every event after it. */
    private synchronized ByteBuffer subscribe(TransportConnection c, long id) {
        checkOpen();
        if (c.attachment() != null) {
            throw Status.of(Status.Code.ALREADY_EXISTS, "this connection already " + (c.attachment() == SUBSCRIBER
                    ? "subscribed" : "joined")).asException();
        }
        c.attach(SUBSCRIBER);
        subscribers.add(c);
        // Queued under the lock, like JOIN's answer: no event can overtake the snapshot it follows.
        WireWriter w = new WireWriter().putLong(leaseTimeoutMs);
        ControlProtocol.writeSnapshot(w, membership());
        c.offer(new ControlFrame(FrameType.RESPONSE, 0, 0, id, ControlProtocol.SUBSCRIBE, w.toBuffer()));
        return null;
    }

    private synchronized ByteBuffer registerServer(TransportConnection c, String service, WireReader r, long id) {
        checkOpen();
        NodeInfo node = joinedNode(c);
        int requested = r.getInt();
        int requestedServiceId = r.hasRemaining() ? r.getInt() : -1;
        ServerInfo info = addServer(service, requested, requestedServiceId, node.rank());
        version++;
        // Answer first, then the event: the registering node learns its id before the membership change.
        WireWriter w = new WireWriter();
        ControlProtocol.writeServer(w, info);
        c.offer(new ControlFrame(FrameType.RESPONSE, 0, 0, id, ControlProtocol.REGISTER_SERVER, w.toBuffer()));
        broadcast(new MembershipEvent.ServerAdded(version, info), null);
        return null;
    }

    /**
     * Records a server of {@code service} on {@code rank}. A requested service id is honoured when the
     * service is new and the id free (a node re-registering after a master restart asks for the id the
     * service had, so calls in flight keep their meaning); otherwise a new service's id comes from its name.
     * Caller holds the lock and bumps the version.
     */
    private ServerInfo addServer(String service, int requested, int requestedServiceId, int rank) {
        if (service == null || service.isEmpty()) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "service name must not be empty").asException();
        }
        ServiceRecord rec = services.get(service);
        if (rec == null) {
            int serviceId = serviceIdFree(requestedServiceId) ? requestedServiceId : idFromName(service);
            while (!serviceIdFree(serviceId)) {
                serviceId = serviceId == Integer.MAX_VALUE ? 1 : serviceId + 1;
            }
            rec = new ServiceRecord(service, serviceId);
            services.put(service, rec);
        }
        int serverId;
        if (requested >= 0) {
            if (rec.servers.containsKey(requested)) {
                throw Status.of(Status.Code.ALREADY_EXISTS, "service '" + service + "' already has server id "
                        + requested).asException();
            }
            serverId = requested;
            rec.nextServerId = Math.max(rec.nextServerId, requested + 1);
        } else {
            do {
                serverId = rec.nextServerId++;
            } while (rec.servers.containsKey(serverId));
        }
        ServerInfo info = new ServerInfo(service, rec.id, serverId, rank);
        rec.servers.put(serverId, info);
        return info;
    }

    private boolean serviceIdFree(int serviceId) {
        return serviceId >= 1 && services.values().stream().noneMatch(x -> x.id == serviceId);
    }

    /**
     * A new service's id comes from its name, not from the order of registration: a restarted master then gives
     * a service registered before its old nodes are back another id than theirs (they ask for their old ids
     * when they rejoin), except for the rare names whose ids collide. Counting from 1 instead gave such a
     * service the id of an old one: the old service's servers then received no calls (their node knows them by
     * the old id), and a node hosting servers of both ran requests of one on servers of the other (a request
     * carries only ids).
     */
    private static int idFromName(String service) {
        int h = service.hashCode() * 0x9E3779B9;     // spread: similar names get distant ids
        h = (h ^ (h >>> 16)) & Integer.MAX_VALUE;
        return h == 0 ? 1 : h;
    }

    private synchronized ByteBuffer deregisterServer(TransportConnection c, WireReader r) {
        checkOpen();
        NodeInfo node = joinedNode(c);
        ServerInfo s = ControlProtocol.readServer(r);
        ServiceRecord rec = services.get(s.service());
        ServerInfo current = rec == null ? null : rec.servers.get(s.serverId());
        if (current == null || current.rank() != node.rank()) {
            throw Status.of(Status.Code.NO_SUCH_SERVER, "no server " + s.serverId() + " of '" + s.service()
                    + "' on rank " + node.rank()).asException();
        }
        rec.servers.remove(s.serverId());
        version++;
        broadcast(new MembershipEvent.ServerRemoved(version, current), null);
        return ByteBuffer.allocate(0);
    }

    @Override
    public void onClose(TransportConnection c, BatonException cause) {
        coordination.connectionClosed(c);      // any connection (tools too) may hold locks and watches
        if (c.attachment() == SUBSCRIBER) {
            synchronized (this) {
                subscribers.remove(c);
            }
        } else if (c.attachment() instanceof NodeInfo node) {
            synchronized (this) {
                if (closed) {
                    return;     // shutting down: nodes keep their last membership, they did not leave
                }
                Joined j = nodes.get(node.rank());
                if (j != null && j.connection() == c) {
                    removeNode(node);
                }
            }
        }
    }

    private synchronized void removeNode(NodeInfo node) {
        Joined j = nodes.get(node.rank());
        if (j == null || j.info().nodeId() != node.nodeId()) {
            return;
        }
        nodes.remove(node.rank());
        for (ServiceRecord rec : services.values()) {
            for (ServerInfo s : List.copyOf(rec.servers.values())) {
                if (s.rank() == node.rank()) {
                    rec.servers.remove(s.serverId());
                    version++;
                    broadcast(new MembershipEvent.ServerRemoved(version, s), null);
                }
            }
        }
        version++;
        broadcast(new MembershipEvent.NodeLeft(version, node), null);
        LOG.log(System.Logger.Level.INFO, "node rank {0} ({1}) left", node.rank(), node.address());
    }

    private NodeInfo joinedNode(TransportConnection c) {
        if (!(c.attachment() instanceof NodeInfo node)) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "join first").asException();
        }
        return node;
    }

    /** Pushes {@code event} to every joined node except {@code skip}, and to every subscriber. Caller holds the lock. */
    private void broadcast(MembershipEvent event, TransportConnection skip) {
        WireWriter w = new WireWriter();
        ControlProtocol.writeEvent(w, event);
        ByteBuffer body = w.toBuffer();
        List<TransportConnection> to = new ArrayList<>(nodes.size() + subscribers.size());
        for (Joined j : nodes.values()) {
            to.add(j.connection());
        }
        to.addAll(subscribers);
        List<TransportConnection> slow = new ArrayList<>();
        for (TransportConnection c : to) {
            if (c != skip && c.offer(new ControlFrame(FrameType.REQUEST, FrameType.FLAG_ONE_WAY, 0, 0,
                    ControlProtocol.EVENT, body)) == TransportConnection.BACK_PRESSURED) {
                slow.add(c);
            }
        }
        // Only after everyone got this event: closing a node removes it, which broadcasts newer events.
        for (TransportConnection c : slow) {
            LOG.log(System.Logger.Level.WARNING, "{0} is not reading membership events; disconnecting it",
                    c.attachment() instanceof NodeInfo n ? "node rank " + n.rank() : "a subscriber at " + c.remoteAddress());
            c.close();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw Status.of(Status.Code.CLOSED, "master is shutting down").asException();
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        coordination.close();
        transport.close();
    }
}
