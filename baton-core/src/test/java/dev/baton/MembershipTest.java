package dev.baton;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Membership as a node presents it (listeners, clients, routing). What every registry must tell nodes (ranks,
 * events, server ids, ALREADY_EXISTS for a taken id...) is pinned by the registry conformance suite in
 * baton-testkit, which the master passes.
 */
@Timeout(60)
class MembershipTest {

    @Test
    void changesArriveAsIncrementalVersionedEvents() throws Exception {
        try (Cluster c = Cluster.withNodes(1)) {
            Node observer = c.node(0);
            List<MembershipEvent> events = new CopyOnWriteArrayList<>();
            observer.addMembershipListener((e, m) -> events.add(e));
            Node other = c.join("other");
            Server s = other.newServer("svc").inline(0, call -> call.reply(new byte[0])).start();
            Wait.until(() -> events.size() >= 2, Duration.ofSeconds(5));
            assertInstanceOf(MembershipEvent.NodeJoined.class, events.get(0));
            assertInstanceOf(MembershipEvent.ServerAdded.class, events.get(1));
            assertEquals(events.get(0).version() + 1, events.get(1).version());
            assertEquals(new ServerInfo("svc", s.serviceId(), 0, other.rank()),
                    ((MembershipEvent.ServerAdded) events.get(1)).server());
            s.close();
            Wait.until(() -> events.size() >= 3, Duration.ofSeconds(5));
            assertInstanceOf(MembershipEvent.ServerRemoved.class, events.get(2));
            assertTrue(observer.membership().servers("svc").isEmpty());
        }
    }

    @Test
    void aNodeThatClosesLeavesEveryViewAndItsServersDisappearFromClients() throws Exception {
        try (Cluster c = Cluster.withNodes(3)) {
            for (int i = 1; i < 3; i++) {
                Cluster.startEcho(c.node(i), "echo");
            }
            Client client = c.node(0).client("echo");
            client.awaitServers(2, Duration.ofSeconds(5));
            assertEquals(3, client.call(0, new byte[3]).length);
            Node leaving = c.nodes.remove(2);
            int rank = leaving.rank();
            leaving.close();
            for (Node n : c.nodes) {
                Wait.until(() -> n.membership().node(rank).isEmpty(), Duration.ofSeconds(5));
            }
            Wait.until(() -> client.servers().size() == 1, Duration.ofSeconds(5));
            assertFalse(client.servers().stream().anyMatch(s -> s.rank() == rank));
            for (int i = 0; i < 20; i++) {
                assertEquals(3, client.call(0, new byte[3]).length);
            }
            assertEquals(Status.Code.NO_SUCH_RANK, assertThrows(BatonException.class,
                    () -> client.call(0, java.nio.ByteBuffer.allocate(1), CallOptions.DEFAULT.withRank(rank))).code());
        }
    }

    @Test
    void awaitServersTimesOutWithATypedError() {
        try (Cluster c = Cluster.withNodes(1)) {
            BatonException e = assertThrows(BatonException.class,
                    () -> c.node(0).client("none").awaitServers(1, Duration.ofMillis(100)));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
        }
    }
}
