package dev.baton.testkit.tls;

import dev.baton.BatonException;
import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;
import dev.baton.TlsOptions;
import dev.baton.pki.CertificateAuthority;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Certificate revocation lists: who is refused, both ways, and what a new or broken list does to a running node. */
@Timeout(90)
class TlsRevocationTest {

    private static final Duration FAST = Duration.ofSeconds(10);

    @AutoClose
    private final TlsFixture fx = new TlsFixture();
    private final TestPki pki = fx.pki;
    private final TestPki.Ca ca = fx.ca;
    private final Path crl = pki.dir().resolve("crl.pem");

    /** Presents {@code identity}, trusts {@code trusted} and checks {@link #crl}, reread at every connection. */
    private TlsOptions withList(TestPki.Issued identity, Path trusted) {
        return TlsOptions.builder().certificate(identity.certFile(), identity.keyFile()).trustedCertificates(trusted)
                .revocationList(crl).reloadInterval(Duration.ZERO).build();
    }

    private Master master() {
        return fx.add(Master.start(MasterOptions.builder().tls(withList(pki.issue(ca, "master"), ca.certFile()))
                .build()));
    }

    private NodeOptions nodeOptions(Master m, String name, TlsOptions tls) {
        return fx.nodeOptions(m, name, tls).build();
    }

    @Test
    void aRevokedCertificateIsRefusedByBothSidesWhileOthersWorkWithTheSameList() throws Exception {
        TestPki.Issued revoked = pki.issue(ca, "revoked");
        pki.revocationList(crl, ca, Duration.ofDays(1), revoked);
        Master m = master();
        Node good = fx.join(m, "good", withList(pki.issue(ca, "good"), ca.certFile()));

        // The master (accepting side) refuses the revoked node.
        BatonException e = assertThrows(BatonException.class,
                () -> fx.add(Node.join(nodeOptions(m, "revoked", withList(revoked, ca.certFile())))));
        assertEquals(Status.Code.UNAUTHENTICATED, e.status().code(), e.getMessage());
        assertTrue(e.getMessage().contains("refused this side's certificate"), e.getMessage());
        assertEquals(1, m.membership().nodes().size());

        // A connecting side with the list refuses a server presenting the revoked certificate, not a good one.
        TlsPeer revokedServer = fx.peer(pki.options(revoked, ca), "revoked-server");
        TlsPeer client = fx.peer(withList(pki.issue(ca, "client"), ca.certFile()), "client");
        BatonException refused = client.closeCause(client.connect(revokedServer.listen()), FAST);
        assertEquals(Status.Code.UNAUTHENTICATED, refused.status().code(), refused.getMessage());
        assertTrue(refused.getMessage().contains("CN=revoked is refused: it has been revoked"), refused.getMessage());
        client.connect(good.address());
        assertEquals("CN=good", client.nextOpened().peerPrincipal().getName());
    }

    @Test
    void rewritingTheListCutsARevokedNodesOpenConnectionsAndRefusesItsNextOnes() throws Exception {
        pki.revocationList(crl, ca, Duration.ofDays(1));
        Master m = master();
        TlsFixture.EchoTrio trio = fx.echoTrio(m, name -> pki.issue(ca, name), id -> withList(id, ca.certFile()));
        TestPki.Issued bCert = trio.bCert();

        try (Warnings cuts = Warnings.of("dev.baton.internal.tcp.TlsConnection")) {
            pki.revocationList(crl, ca, Duration.ofDays(1), bCert);

            // Within the reload interval (every tick here) node-a and the master close node-b's open connections,
            // and it cannot open new ones: its calls fail, and the master drops it from the membership.
            trio.awaitBCut();
            List<String> warnings = cuts.messages();
            assertTrue(warnings.stream().anyMatch(w -> w.contains("the changed TLS trust refuses its peer: the "
                    + "certificate CN=node-b is refused: it has been revoked")), warnings.toString());
            assertTrue(warnings.stream().noneMatch(w -> w.contains("CN=node-a") || w.contains("CN=node-c")
                    || w.contains("CN=master")), warnings.toString());
        }

        // node-b's certificate opens no new connection: not to node-a, not to the master.
        TlsPeer asB = fx.peer(pki.options(bCert, ca), "as-b");
        BatonException e = asB.closeCause(asB.connect(trio.a().address()), FAST);
        assertEquals(Status.Code.UNAUTHENTICATED, e.status().code(), e.getMessage());
        BatonException rejoin = assertThrows(BatonException.class,
                () -> fx.add(Node.join(nodeOptions(m, "node-b2", withList(bCert, ca.certFile())))));
        assertEquals(Status.Code.UNAUTHENTICATED, rejoin.status().code(), rejoin.getMessage());
        // The others' connections were checked again and kept.
        assertEquals("before", trio.echoFromC());
    }

    @Test
    void onlyIssuersWithAListAreCheckedAndAnOutOfDateListRefusesItsIssuersCertificates() throws Exception {
        TestPki.Ca other = pki.ca("other-ca");
        Path bundle = pki.dir().resolve("bundle.crt");
        Files.writeString(bundle, Files.readString(ca.certFile()) + Files.readString(other.certFile()));
        pki.revocationList(crl, other, Duration.ofDays(1));
        TlsPeer client = fx.peer(withList(pki.issue(ca, "client"), bundle), "client");

        // cluster-ca has no list in the file: its certificates are not checked.
        TlsPeer fromCa = fx.peer(pki.options(pki.issue(ca, "from-ca"), ca), "from-ca");
        client.connect(fromCa.listen());
        assertEquals("CN=from-ca", client.nextOpened().peerPrincipal().getName());
        TlsPeer fromOther = fx.peer(pki.options(pki.issue(other, "from-other"), ca), "from-other");
        InetSocketAddress otherAt = fromOther.listen();
        client.connect(otherAt);
        assertEquals("CN=from-other", client.nextOpened().peerPrincipal().getName());

        // other-ca's list is past its next update: its certificates are refused, cluster-ca's are not.
        pki.revocationList(crl, other, Duration.ofDays(-1));
        BatonException e = client.closeCause(client.connect(otherAt), FAST);
        assertEquals(Status.Code.UNAUTHENTICATED, e.status().code(), e.getMessage());
        assertTrue(e.getMessage().contains("the revocation list of CN=other-ca is out of date"), e.getMessage());
        client.connect(fromCa.listen());
        assertEquals("CN=from-ca", client.nextOpened().peerPrincipal().getName());
    }

    @Test
    void aBadListFailsAtStartNamingTheFileAndOnReloadKeepsTheOldListAndWarnsOnce() throws Exception {
        TestPki.Issued server = pki.issue(ca, "server");
        Path bad = pki.dir().resolve("bad-crl.pem");
        Files.writeString(bad, "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n");
        TlsOptions badOptions = TlsOptions.builder().certificate(server.certFile(), server.keyFile())
                .trustedCertificates(ca.certFile()).revocationList(bad).build();
        BatonException e = assertThrows(BatonException.class,
                () -> fx.add(Master.start(MasterOptions.builder().tls(badOptions).build())));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.status().code(), e.getMessage());
        assertTrue(e.getMessage().contains("bad-crl.pem") && e.getMessage().contains("not a valid X.509 CRL"),
                e.getMessage());
        // A list in the trusted CA's name that its key did not sign.
        Instant now = Instant.now();
        CertificateAuthority impostor = CertificateAuthority.create("cluster-ca", now.minusSeconds(60),
                now.plusSeconds(3600));
        Files.writeString(bad, dev.baton.pki.Pem.revocationList(impostor.revocationList(List.of(), now,
                now.plusSeconds(3600))));
        BatonException forged = assertThrows(BatonException.class,
                () -> fx.add(Master.start(MasterOptions.builder().tls(badOptions).build())));
        assertTrue(forged.getMessage().contains("bad-crl.pem") && forged.getMessage().contains("does not carry"),
                forged.getMessage());

        TestPki.Issued revoked = pki.issue(ca, "revoked");
        pki.revocationList(crl, ca, Duration.ofDays(1), revoked);
        InetSocketAddress at = fx.peer(withList(server, ca.certFile()), "server").listen();
        TlsPeer good = fx.peer(pki.options(pki.issue(ca, "good"), ca), "good");
        TlsPeer asRevoked = fx.peer(pki.options(revoked, ca), "as-revoked");
        try (Warnings reloads = Warnings.of("dev.baton.internal.tls.TlsContextSource")) {
            pki.revocationLists(crl, List.of("-----BEGIN X509 CRL-----\nhalf written"));
            for (int i = 0; i < 3; i++) {
                BatonException still = asRevoked.closeCause(asRevoked.connect(at), FAST);
                assertEquals(Status.Code.UNAUTHENTICATED, still.status().code(), still.getMessage());
                good.connect(at);
                good.nextOpened();
            }
            List<String> warnings = reloads.messages();
            assertEquals(1, warnings.size(), warnings.toString());
            assertTrue(warnings.getFirst().contains(crl.toString()), warnings.getFirst());

            // A good list again is read: nobody is revoked now.
            pki.revocationList(crl, ca, Duration.ofDays(1));
            asRevoked.connect(at);
            assertEquals("CN=server", asRevoked.nextOpened().peerPrincipal().getName());
        }
    }
}
