package dev.baton.testkit.registry;

import dev.baton.Membership;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import dev.baton.spi.Registry;

import java.time.Duration;

/**
 * A node at the {@link Registry} level: a registry made by the fixture's factory and joined with a
 * {@link MembershipRecorder}, with no transport or servers behind its address (the registry only records it).
 *
 * @param self what {@link Registry#join} returned
 */
record Member(String name, Registry registry, MembershipRecorder recorder, NodeInfo self) implements AutoCloseable {

    /** How long the suite lets a registry call (join, registration) wait. */
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);

    int rank() {
        return self.rank();
    }

    /** Registers a server of {@code service}; {@code serverId} -1 lets the registry choose. */
    ServerInfo register(String service, int serverId) {
        return registry.registerServer(service, serverId, CALL_TIMEOUT);
    }

    void deregister(ServerInfo server) {
        registry.deregisterServer(server, CALL_TIMEOUT);
    }

    /** The view this node's listener has built. */
    Membership view() {
        return recorder.view();
    }

    /** Leaves (closes the registry). */
    @Override
    public void close() {
        registry.close();
    }
}
