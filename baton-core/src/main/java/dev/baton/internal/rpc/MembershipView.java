package dev.baton.internal.rpc;

import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.MembershipListener;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import dev.baton.Status;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The node's view of the membership: the current {@link Membership} (read without a lock on every call),
 * how snapshots and events change it, the nodes a snapshot carried over, and who is told.
 *
 * <p>Nodes of the old view that a snapshot lacks may simply not have rejoined a restarted master yet: they and
 * their servers are carried over, still routable, and stay <em>unconfirmed</em> until the registry confirms
 * them (a NodeJoined) or the runtime expires them after a grace period. So a master restart never makes live
 * servers disappear from clients.
 *
 * <p>Thread-safe. Changes and waits use one monitor; listeners run on the events executor, never under it.
 */
final class MembershipView {

    private static final System.Logger LOG = System.getLogger(MembershipView.class.getName());

    private final Object monitor = new Object();
    private final List<MembershipListener> listeners = new CopyOnWriteArrayList<>();
    private final Executor events;
    private volatile Membership current = Membership.empty();     // written under monitor
    private final Set<Integer> unconfirmed = new HashSet<>();     // guarded by monitor
    private volatile boolean quiet;

    MembershipView(Executor events) {
        this.events = events;
    }

    Membership current() {
        return current;
    }

    void addListener(MembershipListener l) {
        listeners.add(l);
    }

    void removeListener(MembershipListener l) {
        listeners.remove(l);
    }

    /** Applies a whole view; returns the nodes it carried over (unconfirmed), never {@code selfRank}. */
    List<NodeInfo> applySnapshot(Membership fresh, int selfRank) {
        Membership old;
        Membership m;
        List<NodeInfo> carried = new ArrayList<>();
        synchronized (monitor) {
            old = current;
            List<NodeInfo> nodes = new ArrayList<>(fresh.nodes());
            List<ServerInfo> servers = new ArrayList<>();
            for (String service : fresh.services()) {
                servers.addAll(fresh.servers(service));
            }
            for (NodeInfo n : old.nodes()) {
                if (fresh.node(n.rank()).isEmpty() && n.rank() != selfRank) {
                    carried.add(n);
                    nodes.add(n);
                    for (ServerInfo s : old.serversOn(n.rank())) {
                        boolean taken = fresh.servers(s.service()).stream().anyMatch(x -> x.serverId() == s.serverId());
                        if (!taken) {
                            servers.add(s);
                        }
                    }
                }
            }
            m = carried.isEmpty() ? fresh : Membership.of(fresh.version(), nodes, servers);
            current = m;
            unconfirmed.clear();
            for (NodeInfo n : carried) {
                unconfirmed.add(n.rank());
            }
            monitor.notifyAll();
        }
        // Listeners learn what the snapshot changed as the events it stands for.
        for (MembershipEvent e : MembershipDiff.between(old, m)) {
            notifyListeners(e, m);
        }
        return carried;
    }

    /** Applies one event from the registry (a NodeJoined or NodeLeft settles a carried-over node). */
    Membership applyEvent(MembershipEvent e) {
        Membership m;
        synchronized (monitor) {
            m = current.apply(e);
            current = m;
            switch (e) {
                case MembershipEvent.NodeJoined j -> unconfirmed.remove(j.node().rank());
                case MembershipEvent.NodeLeft l -> unconfirmed.remove(l.node().rank());
                default -> {
                }
            }
            monitor.notifyAll();
        }
        notifyListeners(e, m);
        return m;
    }

    /**
     * Drops {@code n} if it is still the unconfirmed node a snapshot carried over; returns whether it did
     * (then every listener is told it left).
     */
    boolean expireUnconfirmed(NodeInfo n) {
        MembershipEvent left;
        Membership m;
        synchronized (monitor) {
            NodeInfo now = current.node(n.rank()).orElse(null);
            if (!unconfirmed.remove(n.rank()) || now == null || now.nodeId() != n.nodeId()) {
                return false;
            }
            left = new MembershipEvent.NodeLeft(current.version(), now);
            m = current.apply(left);
            current = m;
            monitor.notifyAll();
        }
        notifyListeners(left, m);
        return true;
    }

    /** Waits until {@code service} has {@code count} servers; DEADLINE_EXCEEDED after {@code timeout}. */
    List<ServerInfo> awaitServers(String service, int count, Duration timeout, BooleanSupplier closed)
            throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        synchronized (monitor) {
            while (true) {
                List<ServerInfo> s = current.servers(service);
                if (s.size() >= count) {
                    return s;
                }
                if (closed.getAsBoolean()) {
                    throw Status.of(Status.Code.CLOSED, "node is closed").asException();
                }
                long left = end - System.nanoTime();
                if (left <= 0) {
                    throw Status.of(Status.Code.DEADLINE_EXCEEDED, "only " + s.size() + " of " + count + " servers of '"
                            + service + "' known after " + timeout.toMillis() + " ms").asException();
                }
                TimeUnit.NANOSECONDS.timedWait(monitor, left);
            }
        }
    }

    /** The node is closing: wake every waiter (they see it closed) and tell listeners nothing more. */
    void close() {
        quiet = true;
        synchronized (monitor) {
            monitor.notifyAll();
        }
    }

    private void notifyListeners(MembershipEvent e, Membership m) {
        if (listeners.isEmpty() || quiet) {
            return;
        }
        events.execute(() -> {
            for (MembershipListener l : listeners) {
                try {
                    l.onChange(e, m);
                } catch (RuntimeException ex) {
                    LOG.log(System.Logger.Level.WARNING, "membership listener failed", ex);
                }
            }
        });
    }
}
