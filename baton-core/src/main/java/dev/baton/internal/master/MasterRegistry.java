package dev.baton.internal.master;

import dev.baton.BatonException;
import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.Message;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.internal.wire.ControlProtocol;
import dev.baton.internal.wire.WireReader;
import dev.baton.internal.wire.WireWriter;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.Registry;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The node's side of the master: joins, registers servers and turns pushed events into listener calls, in
 * version order. Events that arrive before the JOIN answer's snapshot is applied are held and replayed; a
 * gap in versions triggers a fresh snapshot.
 */
public final class MasterRegistry implements Registry {

    private static final System.Logger LOG = System.getLogger(MasterRegistry.class.getName());

    private final InetSocketAddress master;
    private volatile ControlClient client;
    private volatile int rank = -1;

    // ---- guarded by this
    private Listener listener;
    private long version = -1;
    private final List<MembershipEvent> early = new ArrayList<>();
    private boolean closed;

    public MasterRegistry(InetSocketAddress master) {
        this.master = master;
    }

    @Override
    public NodeInfo join(long nodeId, InetSocketAddress address, String name, Listener listener, Duration timeout) {
        synchronized (this) {
            this.listener = listener;
        }
        ControlClient c = new ControlClient(name, nodeId, PeerIdentity.ROLE_NODE, () -> rank, master,
                this::onEventMessage, this::onMasterLost);
        client = c;
        try {
            c.awaitOpen(timeout);
            WireWriter w = new WireWriter().putLong(nodeId).putInt(-1).putString(address.getHostString())
                    .putInt(address.getPort()).putString(name);
            try (Message answer = c.callSync(ControlProtocol.JOIN, w.toBuffer(), timeout)) {
                WireReader r = new WireReader(answer.buffer());
                rank = r.getInt();
                applySnapshot(ControlProtocol.readSnapshot(r));
            }
            return new NodeInfo(rank, nodeId, address, name);
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    @Override
    public ServerInfo registerServer(String service, int serverId, Duration timeout) {
        WireWriter w = new WireWriter().putString(service).putInt(serverId);
        try (Message answer = client().callSync(ControlProtocol.REGISTER_SERVER, w.toBuffer(), timeout)) {
            return ControlProtocol.readServer(new WireReader(answer.buffer()));
        }
    }

    @Override
    public void deregisterServer(ServerInfo server, Duration timeout) {
        WireWriter w = new WireWriter();
        ControlProtocol.writeServer(w, server);
        client().callSync(ControlProtocol.DEREGISTER_SERVER, w.toBuffer(), timeout).close();
    }

    private ControlClient client() {
        ControlClient c = client;
        if (c == null) {
            throw Status.of(Status.Code.UNAVAILABLE, "not joined").asException();
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
        client().call(ControlProtocol.SNAPSHOT, ByteBuffer.allocate(0)).whenComplete((m, err) -> {
            if (m != null) {
                try (m) {
                    applySnapshot(ControlProtocol.readSnapshot(new WireReader(m.buffer())));
                }
            }
        });
    }

    private void onMasterLost(BatonException cause) {
        synchronized (this) {
            if (closed) {
                return;
            }
        }
        LOG.log(System.Logger.Level.WARNING, "lost the master at {0} ({1}); the last membership stays in use",
                master, cause.getMessage());
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        ControlClient c = client;
        if (c != null) {
            c.close();
        }
    }
}
