package dev.baton.testkit.tls;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.NodeOptions;
import dev.baton.Status;
import dev.baton.spi.ClusterSecret;
import dev.baton.spi.MemberKey;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.TransportSettings;
import dev.baton.testkit.behaviour.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Proved members with the cluster secret alone, no TLS: each node signs its handshakes with a member key of its own,
 * the master records the key each node joined with, and nodes refuse a connection that claims another member's rank
 * without that member's key, as {@link TlsMemberProofTest} does with certificates (its bare peer and log capture are
 * shared, hence this package).
 */
@Timeout(90)
class MemberKeyProofTest {

    private static final Duration FAST = Duration.ofSeconds(10);
    private static final ClusterSecret SECRET = ClusterSecret.of(
            "correct horse battery staple".getBytes(StandardCharsets.US_ASCII));

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private <T extends AutoCloseable> T add(T closeable) {
        open.add(closeable);
        return closeable;
    }

    private Node join(Master m, String name) {
        return add(Node.join(NodeOptions.builder().master(m.address()).name(name).clusterSecret(SECRET)
                .joinTimeout(Duration.ofSeconds(5)).defaultTimeout(Duration.ofSeconds(20)).build()));
    }

    @Test
    void everyViewCarriesEachNodesKeyAndServersSeeTheCallersKeyAsItsPrincipal() throws Exception {
        Master m = add(Master.start(MasterOptions.builder().port(0).clusterSecret(SECRET).build()));
        Node a = join(m, "node-a");
        Node b = join(m, "node-b");
        add(b.newServer("whoami").inline(0, call -> call.reply(
                call.caller().principal().getName().getBytes(StandardCharsets.US_ASCII))).start());
        Client fromA = a.client("whoami");
        fromA.awaitServers(1, FAST);

        String keyA = m.membership().node(a.rank()).orElseThrow().principal();
        String keyB = m.membership().node(b.rank()).orElseThrow().principal();
        assertTrue(keyA.startsWith(MemberKey.PRINCIPAL_PREFIX), keyA);
        assertTrue(keyB.startsWith(MemberKey.PRINCIPAL_PREFIX), keyB);
        assertNotEquals(keyA, keyB, "each node has a key of its own");
        for (var view : List.of(m.membership(), a.membership(), b.membership())) {
            assertEquals(keyA, view.node(a.rank()).orElseThrow().principal(), view.toString());
            assertEquals(keyB, view.node(b.rank()).orElseThrow().principal(), view.toString());
        }
        assertEquals(keyA, new String(fromA.call(0, new byte[0]), StandardCharsets.US_ASCII),
                "node-b's server sees node-a's key as its caller's principal");
    }

    @Test
    void aPeerWithTheSecretCannotClaimAnotherNodesRankWithAKeyOfItsOwn() throws Exception {
        assertRogueRefused(true, "but it proved the member key " + MemberKey.PRINCIPAL_PREFIX);
    }

    /** As an older node would, or one that hopes to slip past the check by proving the secret alone. */
    @Test
    void aPeerWithTheSecretCannotClaimAnotherNodesRankWithoutAKey() throws Exception {
        assertRogueRefused(false, "but it proved no member key");
    }

    /**
     * A peer with the secret says in its handshake that it is node-b (rank and node id), with a key of its own or
     * with none: node-a refuses it (logged, naming both), and its calls to node-b go on.
     */
    private void assertRogueRefused(boolean withKey, String proved) throws Exception {
        Master m = add(Master.start(MasterOptions.builder().port(0).clusterSecret(SECRET).build()));
        Node a = join(m, "node-a");
        Node b = join(m, "node-b");
        add(Cluster.startEcho(b, "echo"));
        Client fromA = a.client("echo");
        fromA.awaitServers(1, FAST);
        NodeInfo real = a.membership().node(b.rank()).orElseThrow();

        TlsPeer rogue = add(withKey
                ? new TlsPeer(TransportFactory.tcp().withClusterSecret(SECRET), "rogue",
                        TransportSettings.builder().build(), real.nodeId(), real.rank())
                : new TlsPeer(TransportFactory.tcp(), "rogue",
                        TransportSettings.builder().clusterSecret(SECRET).build(), real.nodeId(), real.rank()));
        try (Warnings refusals = Warnings.of("dev.baton.spi.connection.TransportCore")) {
            TransportConnection c = rogue.connect(a.address());
            BatonException closed = rogue.closeCause(c, FAST);
            assertEquals(Status.Code.UNAVAILABLE, closed.status().code(), closed.getMessage());
            assertEquals(1, refusals.messages().size(), refusals.messages().toString());
            assertTrue(refusals.messages().getFirst().contains("claims to be rank " + b.rank() + ", which joined as "
                    + real.principal() + ", " + proved), refusals.messages().toString());
        }
        assertEquals("still b", new String(fromA.call(Cluster.ECHO, "still b".getBytes())));
    }

    @Test
    void aJoinClaimingAnotherNodesIdAndRankIsANewNodeUnlessItProvesThatNodesKey() throws Exception {
        Master m = add(Master.start(MasterOptions.builder().port(0).clusterSecret(SECRET).build()));
        Node b = join(m, "node-b");
        NodeInfo real = m.membership().node(b.rank()).orElseThrow();

        TlsPeer rogue = add(new TlsPeer(TransportFactory.tcp().withClusterSecret(SECRET), "rogue"));
        TransportConnection c = rogue.connect(m.address());
        rogue.nextOpened();
        int rank = rogue.join(c, real.nodeId(), real.rank(), "node-b");

        assertNotEquals(real.rank(), rank);
        assertEquals(real, m.membership().node(real.rank()).orElseThrow(), "node-b keeps its rank, entry and key");
        String rogueKey = m.membership().node(rank).orElseThrow().principal();
        assertTrue(rogueKey.startsWith(MemberKey.PRINCIPAL_PREFIX) && !rogueKey.equals(real.principal()), rogueKey);
    }

    @Test
    void withoutASecretNothingIsSignedAndNoKeyIsRecorded() {
        Master m = add(Master.start(MasterOptions.builder().port(0).build()));
        Node a = add(Node.join(NodeOptions.builder().master(m.address()).name("plain")
                .joinTimeout(Duration.ofSeconds(5)).build()));
        assertEquals("", m.membership().node(a.rank()).orElseThrow().principal());
    }
}
