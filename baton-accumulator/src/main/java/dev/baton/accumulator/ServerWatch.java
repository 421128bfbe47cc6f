package dev.baton.accumulator;

import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.MembershipListener;
import dev.baton.Node;
import dev.baton.ServerInfo;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Where this node sees the accumulator server (server 0 of {@link Protocol#SERVICE}), and whether that may have
 * changed since the flush rounds last looked. It is the node's membership listener for the accumulators.
 *
 * <p>Thread-safe: the node's event thread calls {@link #onChange}; the hosting and the peer service
 * {@link #markMoved() mark} a move they caused; the flush rounds {@link #takeMoved() take} the mark on the
 * flush thread. Marking wakes that thread.
 */
final class ServerWatch implements MembershipListener {

    private final Node node;
    private final DutyRunner runner;
    /** Registrations and deregistrations of the accumulator server seen (membership events). */
    private final AtomicLong serverEvents = new AtomicLong();
    /** The membership version of the latest of them; 0 before any. */
    private final AtomicLong serverEventVersion = new AtomicLong();
    /** Starts true: the first round checks in with whatever server there is. */
    private volatile boolean moved = true;

    ServerWatch(Node node, DutyRunner runner) {
        this.node = node;
        this.runner = runner;
    }

    @Override
    public void onChange(MembershipEvent event, Membership membership) {
        // A server registered or deregistered, even on the same node as before (a new incarnation there):
        // check in again, and forget a hand-over that someone else's registration overtook.
        if (event instanceof MembershipEvent.ServerAdded a && isAccumulatorServer(a.server())
                || event instanceof MembershipEvent.ServerRemoved r && isAccumulatorServer(r.server())) {
            serverEvents.incrementAndGet();
            serverEventVersion.accumulateAndGet(event.version(), Math::max);
        }
        markMoved();
    }

    private static boolean isAccumulatorServer(ServerInfo s) {
        return s.serverId() == 0 && s.service().equals(Protocol.SERVICE);
    }

    /** The server may have moved (or the membership changed): the flush rounds look again. Never blocks. */
    void markMoved() {
        moved = true;
        runner.wake();
    }

    /** True when a move was marked since the last call, which clears the mark. Flush thread. */
    boolean takeMoved() {
        if (!moved) {
            return false;
        }
        moved = false;
        return true;
    }

    /** True when a move is marked and not taken yet. */
    boolean isMoved() {
        return moved;
    }

    /** How many registrations and deregistrations of the accumulator server this node has seen. */
    long serverEvents() {
        return serverEvents.get();
    }

    /**
     * The membership version of the latest registration or deregistration of the accumulator server this node has
     * seen (0: none): a membership of that version or later already shows it.
     */
    long serverEventVersion() {
        return serverEventVersion.get();
    }

    /** The accumulator server as this node's membership shows it, or null when there is none. */
    ServerInfo current() {
        return current(node.membership());
    }

    /** The accumulator server as {@code membership} shows it, or null when there is none. */
    static ServerInfo current(Membership membership) {
        for (ServerInfo s : membership.servers(Protocol.SERVICE)) {
            if (s.serverId() == 0) {
                return s;
            }
        }
        return null;
    }
}
