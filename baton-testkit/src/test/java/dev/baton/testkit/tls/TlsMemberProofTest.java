package dev.baton.testkit.tls;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.Status;
import dev.baton.TlsOptions;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.TransportSettings;
import dev.baton.testkit.behaviour.Cluster;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Proved members: the master records the certificate subject each node joined with, and nodes refuse a connection
 * whose certificate is not that of the member it claims to be, or was opened to.
 */
@Timeout(90)
class TlsMemberProofTest {

    private static final Duration FAST = Duration.ofSeconds(10);

    @AutoClose
    private final TlsFixture fx = new TlsFixture();
    private final TestPki pki = fx.pki;
    private final TestPki.Ca ca = fx.ca;

    private static NodeInfo member(Node viewer, int rank) {
        return viewer.membership().node(rank).orElseThrow();
    }

    @Test
    void theMembershipCarriesTheSubjectEachNodeJoinedWithAndARogueCannotClaimAnotherNodesRank() throws Exception {
        Master m = fx.master();
        Node a = fx.join(m, "node-a", pki.options(pki.issue(ca, "node-a"), ca));
        Node b = fx.join(m, "node-b", pki.options(pki.issue(ca, "node-b"), ca));
        fx.add(Cluster.startEcho(b, "echo"));
        Client fromA = a.client("echo");
        fromA.awaitServers(1, FAST);

        // Every view, the master's and the nodes', has each node's certificate subject, from its join.
        for (var view : List.of(m.membership(), a.membership(), b.membership())) {
            assertEquals("CN=node-a", view.node(a.rank()).orElseThrow().principal(), view.toString());
            assertEquals("CN=node-b", view.node(b.rank()).orElseThrow().principal(), view.toString());
        }

        // A member with a certificate of its own (CN=rogue) says in its handshake that it is node-b, rank and node
        // id: node-a refuses it, naming both identities.
        NodeInfo real = member(a, b.rank());
        TlsPeer rogue = new TlsPeer(TransportFactory.tls(pki.options(pki.issue(ca, "rogue"), ca)), "rogue",
                TransportSettings.builder().build(), real.nodeId(), real.rank());
        fx.add(rogue);
        try (Warnings refusals = Warnings.of("dev.baton.spi.connection.TransportCore")) {
            for (int i = 0; i < 3; i++) {
                TransportConnection c = rogue.connect(a.address());
                BatonException closed = rogue.closeCause(c, FAST);
                assertEquals(Status.Code.UNAVAILABLE, closed.status().code(), closed.getMessage());
                assertTrue(closed.getMessage().contains("connection closed by"), closed.getMessage());
            }
            // Logged once, though it tried three times (then at most once a minute per address, as bad secrets).
            assertEquals(1, refusals.messages().size(), refusals.messages().toString());
            assertTrue(refusals.messages().getFirst().contains("claims to be rank " + b.rank()
                    + ", which joined as CN=node-b, but its certificate is CN=rogue"), refusals.messages().toString());
        }

        // node-a's calls to node-b's service still reach node-b.
        assertEquals("still b", new String(fromA.call(Cluster.ECHO, "still b".getBytes())));
    }

    @Test
    void aNodeWhoseCertificateNoLongerNamesTheMemberItJoinedAsIsRefusedByThoseWhoConnectToIt() throws Exception {
        Master m = fx.master();
        Node a = fx.join(m, "node-a", pki.options(pki.issue(ca, "node-a"), ca));
        TestPki.Issued bCert = pki.issue(ca, "node-b");
        Node b = fx.join(m, "node-b", TlsOptions.builder().certificate(bCert.certFile(), bCert.keyFile())
                .trustedCertificates(ca.certFile()).reloadInterval(Duration.ZERO).build());
        fx.add(Cluster.startEcho(b, "echo"));
        Client fromA = a.client("echo");
        fromA.awaitServers(1, FAST);

        // node-b's files now hold a certificate of another subject; node-a has no connection to it yet, so its
        // first call connects and meets that certificate instead of CN=node-b, which node-b joined with.
        pki.replace(bCert, pki.issue(ca, "someone-else"));
        BatonException e = assertThrows(BatonException.class, () -> fromA.call(Cluster.ECHO, "to b".getBytes()));
        assertEquals(Status.Code.UNAUTHENTICATED, e.status().code(), e.getMessage());
        assertTrue(e.getMessage().contains("was reached as rank " + b.rank() + ", which joined as CN=node-b, but its "
                + "certificate is CN=someone-else"), e.getMessage());
    }

    @Test
    void aJoinClaimingAnotherNodesIdAndRankIsANewNodeUnlessItPresentsThatNodesCertificate() throws Exception {
        Master m = fx.master();
        Node b = fx.join(m, "node-b", pki.options(pki.issue(ca, "node-b"), ca));
        NodeInfo real = m.membership().node(b.rank()).orElseThrow();

        // What a node that lost its master connection sends to take its place back, from a member with another
        // certificate that read node-b's node id and rank in the membership.
        TlsPeer rogue = new TlsPeer(TransportFactory.tls(pki.options(pki.issue(ca, "rogue"), ca)), "rogue");
        fx.add(rogue);
        TransportConnection c = rogue.connect(m.address());
        rogue.nextOpened();
        int rank = rogue.join(c, real.nodeId(), real.rank(), "node-b");

        // It joined as a node of its own; node-b keeps its rank, its entry and its certificate's subject.
        assertNotEquals(real.rank(), rank);
        assertEquals(real, m.membership().node(real.rank()).orElseThrow());
        assertEquals("CN=rogue", m.membership().node(rank).orElseThrow().principal());
        assertTrue(b.membership().node(real.rank()).isPresent());
    }

    @Test
    void aConnectionThatClaimedARankBeforeItsMemberJoinedIsClosedOnceTheMemberIsKnown() throws Exception {
        Master m = fx.master();
        Node a = fx.join(m, "node-a", pki.options(pki.issue(ca, "node-a"), ca));
        int next = a.rank() + 1;        // ranks go in join order: the next node's

        // Nobody has that rank yet, so node-a has nothing to check the claim against, and lets it open.
        TlsPeer rogue = fx.add(new TlsPeer(TransportFactory.tls(pki.options(pki.issue(ca, "rogue"), ca)), "rogue",
                TransportSettings.builder().build(), 12345, next));
        TransportConnection c = rogue.connect(a.address());
        rogue.nextOpened();
        try (Warnings closes = Warnings.of("dev.baton.internal.rpc.PeerTable")) {
            Node b = fx.join(m, "node-b", pki.options(pki.issue(ca, "node-b"), ca));
            assertEquals(next, b.rank());
            // Once node-a learns who has the rank, the connection that claimed it with another certificate goes.
            BatonException closed = rogue.closeCause(c, FAST);
            assertEquals(Status.Code.UNAVAILABLE, closed.status().code(), closed.getMessage());
            assertEquals(1, closes.messages().size(), closes.messages().toString());
            assertTrue(closes.messages().getFirst().contains("claimed to be rank " + next + ", which joined as "
                    + "CN=node-b, but its certificate is CN=rogue"), closes.messages().toString());
        }
    }
}
