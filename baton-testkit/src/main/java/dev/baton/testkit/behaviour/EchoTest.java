package dev.baton.testkit.behaviour;

import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.NodeStats;
import dev.baton.Server;
import dev.baton.ServerCall;
import dev.baton.testkit.Wait;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static dev.baton.testkit.behaviour.Cluster.ECHO;
import static dev.baton.testkit.behaviour.Cluster.startEcho;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** prpc's rpc_test (ok, ok2, p2p) over the transport under test. */
@Timeout(60)
public abstract class EchoTest extends BehaviourTest {

    @Test
    public void oneEchoAcrossTwoNodes() throws Exception {
        try (Cluster c = cluster(2)) {
            startEcho(c.node(0), "echo");
            Client client = c.node(1).client("echo");
            client.awaitServers(1, Duration.ofSeconds(5));
            byte[] answer = client.call(ECHO, "hello".getBytes(StandardCharsets.UTF_8));
            assertEquals("hello", new String(answer, StandardCharsets.UTF_8));
        }
    }

    @Test
    public void ranksAreAssignedInJoinOrderAndEveryNodeSeesEveryOther() throws Exception {
        try (Cluster c = cluster(3)) {
            for (int i = 0; i < 3; i++) {
                assertEquals(i, c.node(i).rank());
            }
            Node last = c.node(2);
            assertEquals(List.of(0, 1, 2), last.membership().nodes().stream().map(NodeInfo::rank).toList());
            Wait.until(() -> c.node(0).membership().nodes().size() == 3, Duration.ofSeconds(5));
            assertEquals(c.node(2).address(), c.node(0).membership().node(2).orElseThrow().address());
        }
    }

    @Test
    public void twoServersOfOneServiceAddressedById() throws Exception {
        try (Cluster c = cluster(2)) {
            Server s0 = c.node(0).newServer("asdf").inline(ECHO, call -> call.reply(("s0:" + text(call)).getBytes())).start();
            Server s1 = c.node(0).newServer("asdf").inline(ECHO, call -> call.reply(("s1:" + text(call)).getBytes())).start();
            assertEquals(0, s0.serverId());
            assertEquals(1, s1.serverId());
            Client client = c.node(1).client("asdf");
            client.awaitServers(2, Duration.ofSeconds(5));
            for (int sid = 0; sid < 2; sid++) {
                try (Message m = client.call(ECHO, ByteBuffer.wrap("x".getBytes()), CallOptions.DEFAULT.withServerId(sid))) {
                    assertEquals("s" + sid + ":x", new String(m.toByteArray()));
                }
            }
        }
    }

    @Test
    public void aNodeCallingItselfByRankOpensNoConnection() throws Exception {
        try (Cluster c = cluster(1)) {
            Node node = c.node(0);
            startEcho(node, "p2p");
            Client client = node.client("p2p");
            client.awaitServers(1, Duration.ofSeconds(5));
            long connectionsBefore = node.stats().connectionsOpened();
            ByteBuffer request = ByteBuffer.wrap("me".getBytes());
            try (Message m = client.call(ECHO, request, CallOptions.DEFAULT.withRank(node.rank()))) {
                assertEquals("me", new String(m.toByteArray()));
            }
            NodeStats stats = node.stats();
            assertEquals(connectionsBefore, stats.connectionsOpened(), "no connection may be opened");
            assertEquals(0, stats.openConnections());
            assertEquals(1, stats.localCalls());
        }
    }

    @Test
    public void zeroLengthMessagesWork() throws Exception {
        try (Cluster c = cluster(2)) {
            startEcho(c.node(0), "echo");
            Client client = c.node(1).client("echo");
            client.awaitServers(1, Duration.ofSeconds(5));
            assertArrayEquals(new byte[0], client.call(ECHO, new byte[0]));
        }
    }

    static String text(ServerCall call) {
        return new String(call.request().toByteArray(), StandardCharsets.UTF_8);
    }
}
