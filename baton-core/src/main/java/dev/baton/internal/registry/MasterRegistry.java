package dev.baton.internal.registry;

import dev.baton.BatonException;
import dev.baton.Coordination;
import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.Message;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.internal.wire.ControlProtocol;
import dev.baton.internal.wire.WireReader;
import dev.baton.internal.wire.WireWriter;
import dev.baton.spi.LogLimiter;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.Registry;
import dev.baton.spi.TransportFactory;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.LockSupport;

/**
 * The node's side of the master: joins, registers servers, turns pushed events into listener calls in
 * version order, and survives the master going away.
 *
 * <p>Events that arrive before the JOIN answer's snapshot is applied are held and replayed; a gap in
 * versions triggers a fresh snapshot. When the master connection is lost (the master died, or its lease
 * pings went unanswered) the last membership stays in use and a reconnect thread tries again with backoff
 * (100 ms doubling to 2 s); once it is back the node joins again asking for its old rank, and registers its
 * servers again with their old service and server ids, so calls keep their meaning.
 *
 * <p>An observer ({@link #observe}) follows the same way over a tool connection that SUBSCRIBEs instead of
 * joining: no rank, nothing registered, and on the master's return it subscribes again.
 *
 * <p>{@link #coordination} is served over the same connection ({@link CoordinationClient}); the master's
 * KV_EVENT pushes are routed to it.
 */
public final class MasterRegistry implements Registry {

    private static final System.Logger LOG = System.getLogger(MasterRegistry.class.getName());
    private static final long MIN_BACKOFF_NS = 100_000_000L;
    private static final long MAX_BACKOFF_NS = 2_000_000_000L;

    private final InetSocketAddress master;
    private final TransportFactory transports;
    private final Map<String, ServerInfo> servers = new ConcurrentHashMap<>();   // ours, by service/serverId
    private final LogLimiter refusals = new LogLimiter(60_000_000_000L);
    private volatile ControlClient client;
    private volatile CoordinationClient coordination;    // created once, under this
    private volatile int rank = -1;
    private volatile Membership lastSnapshot = Membership.empty();
    private NodeInfo self;      // as it asked to join (rank -1); null for an observer
    private Duration timeout;
    private String name;        // this node's or observer's, for threads and logs
    private long id;            // its node id

    // ---- guarded by this
    private Listener listener;
    private long version = -1;
    private final List<MembershipEvent> early = new ArrayList<>();
    private boolean closed;
    private Thread reconnector;

    /** The node's side of the master at {@code master}; its control connection is made by {@code transports}. */
    public MasterRegistry(InetSocketAddress master, TransportFactory transports) {
        this.master = master;
        this.transports = transports;
    }

    @Override
    public NodeInfo join(NodeInfo self, Listener listener, Duration timeout) {
        synchronized (this) {
            this.listener = listener;
        }
        this.self = self;
        this.name = self.name();
        this.id = self.nodeId();
        this.timeout = timeout;
        connectAndJoin(-1);
        return self.withRank(rank);
    }

    /**
     * Follows the membership without joining: a tool's connection (the master refuses it a rank) that
     * subscribes to the membership events, and subscribes again when the master comes back.
     */
    @Override
    public void observe(String name, long observerId, Listener listener, Duration timeout) {
        synchronized (this) {
            this.listener = listener;
        }
        this.name = name;
        this.id = observerId;
        this.timeout = timeout;
        connectAndJoin(-1);
    }

    /**
     * Connects, joins (asking for {@code requestedRank}) or, for an observer, subscribes, and applies the
     * snapshot. Throws on failure.
     */
    private void connectAndJoin(int requestedRank) {
        synchronized (this) {
            version = -1;       // events from this connection are held until its snapshot is applied
            early.clear();
        }
        boolean observer = self == null;
        ControlClient c = new ControlClient(name, id,
                observer ? PeerIdentity.ROLE_TOOL : PeerIdentity.ROLE_NODE, () -> rank, master, transports,
                this::onEventMessage, this::onKvEvent, this::onMasterLost);
        try {
            c.awaitOpen(timeout);
            int method = observer ? ControlProtocol.SUBSCRIBE : ControlProtocol.JOIN;
            try (Message answer = c.callSync(method, observer ? ByteBuffer.allocate(0) : joinBody(requestedRank),
                    timeout)) {
                WireReader r = new WireReader(answer.buffer());
                int newRank = observer ? -1 : r.getInt();
                long leaseMs = r.getLong();
                // Renew the lease three times per period. The master evicts at one period of silence; we
                // give up on the master only after two, so a late pong never makes both sides drop at once.
                c.keepalive(Duration.ofMillis(Math.max(1, leaseMs / 3)), Duration.ofMillis(2 * leaseMs));
                Membership snapshot = ControlProtocol.readSnapshot(r);
                lastSnapshot = snapshot;
                if (rank >= 0 && newRank != rank) {
                    LOG.log(System.Logger.Level.WARNING, "rejoined the master as rank {0}; rank {1} was taken", newRank, rank);
                }
                rank = newRank;
                client = c;
                applySnapshot(snapshot);
            }
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private ByteBuffer joinBody(int requestedRank) {
        WireWriter w = new WireWriter().putLong(self.nodeId()).putInt(requestedRank)
                .putString(self.address().getHostString()).putInt(self.address().getPort())
                .putString(self.name()).putString(self.hostId());
        // Our servers come back in the same step as the node (empty on the first join).
        List<ServerInfo> ours = List.copyOf(servers.values());
        w.putInt(ours.size());
        for (ServerInfo s : ours) {
            w.putString(s.service()).putInt(s.serviceId()).putInt(s.serverId());
        }
        return w.toBuffer();
    }

    @Override
    public ServerInfo registerServer(String service, int serverId, Duration timeout) {
        ServerInfo info = register(client(), service, serverId, -1, timeout);
        servers.put(key(info), info);
        return info;
    }

    private static ServerInfo register(ControlClient c, String service, int serverId, int serviceId, Duration timeout) {
        WireWriter w = new WireWriter().putString(service).putInt(serverId).putInt(serviceId);
        try (Message answer = c.callSync(ControlProtocol.REGISTER_SERVER, w.toBuffer(), timeout)) {
            return ControlProtocol.readServer(new WireReader(answer.buffer()));
        }
    }

    @Override
    public void deregisterServer(ServerInfo server, Duration timeout) {
        servers.remove(key(server));
        WireWriter w = new WireWriter();
        ControlProtocol.writeServer(w, server);
        client().callSync(ControlProtocol.DEREGISTER_SERVER, w.toBuffer(), timeout).close();
    }

    /**
     * Barriers, locks, ids and key/value over the master connection, created on the first call (later calls
     * return the same instance and ignore {@code events}). Calls without a timeout of their own wait up to the
     * join timeout.
     */
    @Override
    public synchronized Coordination coordination(Executor events) {
        if (coordination == null) {
            coordination = new CoordinationClient(this, events, timeout != null ? timeout : Duration.ofSeconds(10));
            if (closed) {
                coordination.close();
            }
        }
        return coordination;
    }

    private void onKvEvent(Message payload) {
        CoordinationClient k = coordination;
        if (k == null) {
            payload.close();
        } else {
            k.onKvEvent(payload);
        }
    }

    private static String key(ServerInfo s) {
        return s.service() + "/" + s.serverId();
    }

    /** The current master connection (it changes when the master comes back). */
    public ControlClient client() {
        ControlClient c = client;
        if (c == null || !c.isOpen()) {
            throw Status.of(Status.Code.UNAVAILABLE, "the master at " + master + " is not reachable")
                    .withRetrySafe(true).asException();
        }
        return c;
    }

    private synchronized void applySnapshot(Membership m) {
        version = m.version();
        listener.onSnapshot(m);
        for (MembershipEvent e : early) {
            if (e.version() > version) {
                deliver(e);
            }
        }
        early.clear();
    }

    private void onEventMessage(Message payload) {
        MembershipEvent e;
        try (payload) {
            e = ControlProtocol.readEvent(new WireReader(payload.buffer()));
        } catch (BatonException ex) {
            LOG.log(System.Logger.Level.WARNING, "malformed membership event from master: {0}", ex.getMessage());
            return;
        }
        synchronized (this) {
            if (closed) {
                return;
            }
            if (version < 0) {
                early.add(e);
            } else {
                deliver(e);
            }
        }
    }

    /** Caller holds the lock. */
    private void deliver(MembershipEvent e) {
        if (e.version() <= version) {
            return;
        }
        if (e.version() != version + 1) {
            LOG.log(System.Logger.Level.WARNING, "membership event gap ({0} after {1}); resynchronising", e.version(), version);
            resync();
            return;
        }
        version = e.version();
        listener.onEvent(e);
    }

    private void resync() {
        ControlClient c = client;
        if (c == null) {
            return;
        }
        c.call(ControlProtocol.SNAPSHOT, ByteBuffer.allocate(0)).whenComplete((m, err) -> {
            if (m != null) {
                try (m) {
                    applySnapshot(ControlProtocol.readSnapshot(new WireReader(m.buffer())));
                }
            }
        });
    }

    // ------------------------------------------------------------------ master loss and return

    private void onMasterLost(BatonException cause) {
        synchronized (this) {
            if (closed || reconnector != null || client == null) {   // not joined yet: join() reports it
                return;
            }
            LOG.log(System.Logger.Level.WARNING, "lost the master at {0} ({1}); the last membership stays in use "
                    + "while reconnecting", master, cause.getMessage());
            reconnector = Thread.ofPlatform().daemon(true).name("baton-registry-" + name).start(this::reconnect);
        }
    }

    private void reconnect() {
        ControlClient old = client;
        if (old != null) {
            old.close();
        }
        long backoff = MIN_BACKOFF_NS;
        while (true) {
            synchronized (this) {
                if (closed) {
                    reconnector = null;
                    return;
                }
            }
            LockSupport.parkNanos(backoff);
            synchronized (this) {
                if (closed) {
                    reconnector = null;
                    return;
                }
            }
            try {
                connectAndJoin(rank);
                checkServersCameBack(lastSnapshot);
                CoordinationClient k = coordination;
                if (k != null) {
                    k.onReconnected(client);
                }
                if (self != null) {
                    Listener l;
                    synchronized (this) {
                        l = listener;
                    }
                    l.onRejoined(self.withRank(rank));
                    LOG.log(System.Logger.Level.INFO, "rejoined the master at {0} as rank {1}", master, rank);
                } else {
                    LOG.log(System.Logger.Level.INFO, "following the master at {0} again", master);
                }
                boolean closeNow;
                synchronized (this) {
                    reconnector = null;
                    closeNow = closed;
                }
                if (closeNow) {
                    client.close();     // outside the lock: closing waits for the I/O thread, which may need it
                }
                if (!client.isOpen()) {
                    onMasterLost(Status.of(Status.Code.UNAVAILABLE, "lost again").asException());
                }
                return;
            } catch (RuntimeException e) {
                // The join may have succeeded and a later step failed: drop that connection and start over.
                ControlClient half = client;
                if (half != null && half != old) {
                    half.close();
                }
                // Refused for its secret or by the master's policy, the node will not get back in by itself: say so
                // (once a minute), where an unreachable master is only worth a debug line per attempt.
                boolean refused = e instanceof BatonException b && (b.code() == Status.Code.UNAUTHENTICATED
                        || b.code() == Status.Code.PERMISSION_DENIED);
                if (refused && refusals.admit(((BatonException) e).code()) >= 0) {
                    LOG.log(System.Logger.Level.WARNING, "rejoining the master failed: {0}", e.toString());
                } else if (!refused) {
                    LOG.log(e instanceof BatonException ? System.Logger.Level.DEBUG : System.Logger.Level.WARNING,
                            "rejoining the master failed: {0}", e.toString());
                }
                backoff = Math.min(MAX_BACKOFF_NS, backoff * 2);
            }
        }
    }

    /** Logs the servers the rejoin could not bring back (their id was taken meanwhile). */
    private void checkServersCameBack(Membership m) {
        for (ServerInfo s : servers.values()) {
            boolean back = m.servers(s.service()).stream()
                    .anyMatch(x -> x.serverId() == s.serverId() && x.rank() == rank && x.serviceId() == s.serviceId());
            if (!back) {
                LOG.log(System.Logger.Level.ERROR, "server {0} of ''{1}'' could not be registered again on the "
                        + "restarted master (its id was taken); it no longer receives calls", s.serverId(), s.service());
            }
        }
    }

    @Override
    public int openConnections() {
        ControlClient c = client;
        return c != null && c.isOpen() ? 1 : 0;
    }

    @Override
    public void close() {
        Thread r;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            r = reconnector;
        }
        if (r != null) {
            LockSupport.unpark(r);
        }
        CoordinationClient k = coordination;
        if (k != null) {
            k.close();
        }
        ControlClient c = client;
        if (c != null) {
            c.close();
        }
    }
}
