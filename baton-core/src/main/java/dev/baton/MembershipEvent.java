package dev.baton;

/**
 * One change of the membership, as the registry pushes it. Every event carries the membership version it
 * produces; a node applies them in version order.
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
