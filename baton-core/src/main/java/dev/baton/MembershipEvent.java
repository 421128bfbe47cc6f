package dev.baton;

/**
 * One change of the membership, as the registry pushes it. Every event carries the membership version it
 * produces; a node applies them in version order. Versions grow, and the same change has the same version on
 * every node; they are consecutive under the master and not under ZooKeeper (whose transaction ids they are).
 */
public sealed interface MembershipEvent {

    /** The membership version after this event. */
    long version();

    record NodeJoined(long version, NodeInfo node) implements MembershipEvent {
    }

    record NodeLeft(long version, NodeInfo node) implements MembershipEvent {
    }

    record ServerAdded(long version, ServerInfo server) implements MembershipEvent {
    }

    record ServerRemoved(long version, ServerInfo server) implements MembershipEvent {
    }
}
