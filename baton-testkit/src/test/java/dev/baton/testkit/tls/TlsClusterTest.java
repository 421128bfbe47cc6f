package dev.baton.testkit.tls;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;
import dev.baton.TlsOptions;
import dev.baton.testkit.behaviour.Cluster;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A master and nodes over mutual TLS, each with a certificate of its own: who may join, and what works. */
@Timeout(90)
class TlsClusterTest {

    @AutoClose
    private final TlsFixture fx = new TlsFixture();
    private final TestPki pki = fx.pki;
    private final TestPki.Ca ca = fx.ca;

    private Node join(Master m, String name) {
        return fx.join(m, name, pki.options(pki.issue(ca, name), ca));
    }

    @Test
    void nodesJoinCallCoordinateAndEchoLargeMessagesOverMutualTls() throws Exception {
        Master m = fx.master();
        Node a = join(m, "node-a");
        Node b = join(m, "node-b");
        fx.add(Cluster.startEcho(a, "echo"));
        Client client = b.client("echo");
        client.awaitServers(1, Duration.ofSeconds(10));
        assertEquals("hello", new String(client.call(Cluster.ECHO, "hello".getBytes())));
        Random random = new Random(1);
        for (int size : new int[] {1 << 20, 16 << 20}) {
            byte[] big = new byte[size];
            random.nextBytes(big);
            assertArrayEquals(big, client.call(Cluster.ECHO, big), size + " bytes");
        }
        a.coordination().put("config/x", "1".getBytes());
        assertEquals("1", new String(b.coordination().get("config/x").orElseThrow()));
        assertEquals(0, a.coordination().nextId("ids"));
        assertEquals(1, b.coordination().nextId("ids"));
        assertEquals(java.util.Map.of(0, "tls"), b.stats().pathsByRank());
    }

    @Test
    void aNodeWithACertificateFromAnotherCaCannotJoinNorReachANode() throws Exception {
        Master m = fx.master();
        Node a = join(m, "node-a");
        TestPki.Ca other = pki.ca("other-ca");
        TlsOptions stranger = pki.options(pki.issue(other, "stranger"), ca);
        BatonException e = assertThrows(BatonException.class,
                () -> fx.add(Node.join(fx.nodeOptions(m, "stranger", stranger).build())));
        assertEquals(Status.Code.UNAUTHENTICATED, e.status().code(), e.getMessage());
        assertTrue(e.getMessage().contains("refused this side's certificate"), e.getMessage());
        assertEquals(1, m.membership().nodes().size());

        // Without a certificate a node cannot even listen; an observer (which does not) is refused by the master.
        TlsOptions none = TlsOptions.builder().trustedCertificates(ca.certFile()).build();
        BatonException noListen = assertThrows(BatonException.class,
                () -> fx.add(Node.join(fx.nodeOptions(m, "nobody", none).build())));
        assertEquals(Status.Code.INVALID_ARGUMENT, noListen.status().code(), noListen.getMessage());
        BatonException e2 = assertThrows(BatonException.class,
                () -> fx.add(Node.observe(fx.nodeOptions(m, "nobody", none).build())));
        assertEquals(Status.Code.UNAUTHENTICATED, e2.status().code(), e2.getMessage());
        assertTrue(e2.getMessage().contains("certificate is required"), e2.getMessage());

        // Nor can it reach a node directly.
        try (TlsPeer direct = new TlsPeer(dev.baton.spi.TransportFactory.tls(stranger), "direct")) {
            BatonException e3 = direct.closeCause(direct.connect(a.address()), Duration.ofSeconds(5));
            assertEquals(Status.Code.UNAUTHENTICATED, e3.status().code(), e3.getMessage());
            assertTrue(direct.opened.isEmpty());
        }
    }

    @Test
    void aPlainNodeCannotJoinATlsMasterAndFailsFast() {
        Master m = fx.master();
        long start = System.nanoTime();
        BatonException e = assertThrows(BatonException.class, () -> fx.add(Node.join(NodeOptions.builder()
                .master(m.address()).name("plain").joinTimeout(Duration.ofSeconds(8)).build())));
        assertTrue(e.status().code() == Status.Code.UNAVAILABLE, e.getMessage());
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "took " + (System.nanoTime() - start) / 1_000_000 + " ms");
    }
}
