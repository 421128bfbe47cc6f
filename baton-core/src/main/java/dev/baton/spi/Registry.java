package dev.baton.spi;

import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * Where nodes meet: assigns ranks and server ids, and pushes membership changes. The default is the Baton
 * master ({@code dev.baton.Master}); a ZooKeeper registry can replace it for clusters that outgrow one master.
 *
 * <p>Thread-safe. Blocking methods wait at most their timeout and throw {@link dev.baton.BatonException}
 * (DEADLINE_EXCEEDED, UNAVAILABLE, ALREADY_EXISTS...).
 */
public interface Registry extends AutoCloseable {

    /** Receives the membership, first whole, then as events in version order. Must not block. */
    interface Listener {
        /** The whole membership (on join, or after a resynchronisation). */
        void onSnapshot(Membership membership);

        void onEvent(MembershipEvent event);

        /** The registry came back (e.g. a restarted master) and this node joined again, as {@code self}. */
        default void onRejoined(NodeInfo self) {
        }
    }

    /**
     * Joins the cluster as {@code self}: its node id, the address it accepts connections on, its name and host
     * identity (its rank is -1: the registry assigns one). The listener gets the first snapshot before this
     * returns. Returns this node's entry, {@code self} with its rank.
     */
    NodeInfo join(NodeInfo self, Listener listener, Duration timeout);

    /**
     * Follows the cluster without joining it, for an observer ({@link dev.baton.Node#observe}): the listener
     * gets the membership as in {@link #join}, but the observer takes no rank, appears in no membership and
     * causes no event; it registers no servers. Coordination works as after a join. Call at most one of
     * {@code join} and {@code observe}, once.
     *
     * @param name       the observer's name, for threads and logs
     * @param observerId its random id (its node id on the wire)
     * @throws UnsupportedOperationException if this registry cannot be followed without joining
     */
    default void observe(String name, long observerId, Listener listener, Duration timeout) {
        throw new UnsupportedOperationException(getClass().getName() + " cannot be followed without joining");
    }

    /** Registers a server of {@code service} on this node; {@code serverId} -1 lets the registry choose. */
    ServerInfo registerServer(String service, int serverId, Duration timeout);

    /** Removes a server registered by this node. */
    void deregisterServer(ServerInfo server, Duration timeout);

    /**
     * Coordination (barriers, locks, ids, key/value) served by this registry. Valid after {@link #join}; the
     * node calls it once and keeps the result. {@code events} runs the watch callbacks, one at a time in
     * change order (the node passes its event executor); they never run on a registry I/O thread. Locks taken
     * through it are released by the registry when this node's session ends (it closes, dies, or loses the
     * registry).
     */
    dev.baton.Coordination coordination(java.util.concurrent.Executor events);

    /** Connections to the registry this node holds open now, for {@link dev.baton.NodeStats}; 0 by default. */
    default int openConnections() {
        return 0;
    }

    /** Leaves the cluster (the node's servers go with it) and releases resources. Idempotent. */
    @Override
    void close();
}
