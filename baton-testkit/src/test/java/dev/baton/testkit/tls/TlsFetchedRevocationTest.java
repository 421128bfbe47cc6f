package dev.baton.testkit.tls;

import com.sun.net.httpserver.HttpServer;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.Status;
import dev.baton.TlsOptions;
import dev.baton.testkit.Wait;
import dev.baton.testkit.behaviour.Cluster;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Revocation lists fetched from the CRL distribution points certificates name, served by a real HTTP server on
 * loopback that signs a fresh list at every request (valid for a few seconds, as a CA's responder would re-sign).
 */
@Timeout(90)
class TlsFetchedRevocationTest {

    private static final Duration LIST_VALIDITY = Duration.ofSeconds(4);

    @AutoClose
    private final TlsFixture fx = new TlsFixture();
    private final TestPki pki = fx.pki;
    private final TestPki.Ca ca = fx.ca;
    @AutoClose
    private final TestPki elsewhere = TestPki.create();     // its CA files do not overwrite the trusted one's
    @AutoClose("stopNow")
    private final CrlServer crlServer = new CrlServer();

    /** Serves {@code /ca.crl}: the CA's list of {@link #revoked}, or an error status, or another CA's list. */
    final class CrlServer {
        final HttpServer http;
        final Set<X509Certificate> revoked = new CopyOnWriteArraySet<>();
        final AtomicInteger status = new AtomicInteger(200);
        final AtomicReference<TestPki.Ca> signer = new AtomicReference<>(ca);
        final AtomicInteger requests = new AtomicInteger();
        final URI uri;

        CrlServer() {
            try {
                http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            http.createContext("/ca.crl", exchange -> {
                requests.incrementAndGet();
                try (exchange) {
                    int code = status.get();
                    if (code != 200) {
                        exchange.sendResponseHeaders(code, -1);
                        return;
                    }
                    Instant now = Instant.now();
                    byte[] der = signer.get().authority().revocationList(List.copyOf(revoked), now.minusSeconds(1),
                            now.plus(LIST_VALIDITY)).getEncoded();
                    exchange.sendResponseHeaders(200, der.length);
                    exchange.getResponseBody().write(der);
                } catch (java.security.cert.CRLException e) {
                    throw new IOException(e);
                }
            });
            http.start();
            uri = URI.create("http://127.0.0.1:" + http.getAddress().getPort() + "/ca.crl");
        }

        void stopNow() {
            http.stop(0);
        }
    }

    /** Presents {@code identity}, trusts the CA, fetches lists, and looks at them at every tick. */
    private TlsOptions fetching(TestPki.Issued identity) {
        return TlsOptions.builder().certificate(identity.certFile(), identity.keyFile())
                .trustedCertificates(ca.certFile()).fetchRevocationLists(true)
                .revocationFetchTimeout(Duration.ofSeconds(2)).reloadInterval(Duration.ZERO).build();
    }

    private TestPki.Issued issue(String name) {
        return pki.issue(ca, name, List.of(crlServer.uri));
    }

    @Test
    void aCertificateRevokedInTheFetchedListIsCutEverywhereAndTheOthersKeepCalling() throws Exception {
        // The master's own certificate names no point: it learns of the list from its peers' certificates.
        Master m = fx.add(Master.start(MasterOptions.builder().tls(fetching(pki.issue(ca, "master"))).build()));
        Node a = fx.join(m, "node-a", fetching(issue("node-a")));
        TestPki.Issued bCert = issue("node-b");
        Node b = fx.join(m, "node-b", fetching(bCert));
        Node c = fx.join(m, "node-c", fetching(issue("node-c")));
        fx.add(Cluster.startEcho(a, "echo"));
        Client fromB = b.client("echo");
        Client fromC = c.client("echo");
        fromB.awaitServers(1, Duration.ofSeconds(10));
        fromC.awaitServers(1, Duration.ofSeconds(10));
        assertEquals("before", new String(fromB.call(Cluster.ECHO, "before".getBytes())));
        assertTrue(crlServer.requests.get() >= 3, "each node fetched its CA's list at start: "
                + crlServer.requests.get());

        try (Warnings cuts = Warnings.of("dev.baton.internal.tcp.TlsConnection")) {
            crlServer.revoked.add(bCert.certificate());

            // At the next refresh (halfway to the list's next update) node-a and the master cut node-b.
            AtomicReference<BatonException> cut = new AtomicReference<>();
            Wait.until(() -> {
                try {
                    fromB.call(Cluster.ECHO, "after".getBytes());
                    return false;
                } catch (BatonException e) {
                    cut.set(e);
                    return true;
                }
            }, Duration.ofSeconds(20), () -> "node-b's calls failing after the fetched list revoked it");
            assertTrue(cut.get().status().code() == Status.Code.UNAVAILABLE
                    || cut.get().status().code() == Status.Code.UNAUTHENTICATED, cut.get().getMessage());
            Wait.until(() -> m.membership().nodes().stream().noneMatch(n -> n.name().equals("node-b")),
                    Duration.ofSeconds(20), () -> "node-b out of the master's membership " + m.membership().nodes());
            assertTrue(cuts.messages().stream().anyMatch(w -> w.contains("CN=node-b is refused: it has been revoked")),
                    cuts.messages().toString());
        }
        // The others go on through several refreshes of the list.
        for (int i = 0; i < 3; i++) {
            assertEquals("after", new String(fromC.call(Cluster.ECHO, "after".getBytes())));
            Thread.sleep(LIST_VALIDITY.toMillis() / 2);
        }
        TlsPeer asB = fx.peer(fetching(bCert), "as-b");
        BatonException refused = asB.closeCause(asB.connect(a.address()), Duration.ofSeconds(10));
        assertEquals(Status.Code.UNAUTHENTICATED, refused.status().code(), refused.getMessage());
    }

    @Test
    void aListSignedByAnotherKeyIsNotKeptAndAListNotRefreshedBeforeItsNextUpdateRefusesItsIssuer() throws Exception {
        TestPki.Issued serverCert = issue("server");
        TestPki.Issued clientCert = issue("client");
        TlsPeer server = fx.peer(pki.options(serverCert, ca), "server");      // only the client checks lists
        InetSocketAddress at = server.listen();
        TlsPeer client = fx.peer(fetching(clientCert), "client");

        // A list in the CA's name that another key signed, revoking the server: logged, and not applied.
        try (Warnings fetches = Warnings.of("dev.baton.internal.tls.FetchedRevocationLists")) {
            crlServer.signer.set(elsewhere.ca(ca.name()));
            crlServer.revoked.add(serverCert.certificate());
            Wait.until(() -> fetches.messages().stream().anyMatch(w -> w.contains("does not carry the signature")),
                    Duration.ofSeconds(20), () -> "a warning about the forged list: " + fetches.messages());
            assertEquals(null, client.attempt(at, Duration.ofSeconds(10)));

            // The responder fails from now on: the genuine list held lapses at its next update, and then the CA's
            // certificates are refused, as with a stale file.
            crlServer.signer.set(ca);
            crlServer.revoked.clear();
            crlServer.status.set(503);
            AtomicReference<BatonException> refused = new AtomicReference<>();
            Wait.until(() -> {
                refused.set(client.attempt(at, Duration.ofSeconds(10)));
                return refused.get() != null;
            }, Duration.ofSeconds(20), () -> "connections refused once the list held is past its next update");
            assertEquals(Status.Code.UNAUTHENTICATED, refused.get().status().code(), refused.get().getMessage());
            assertTrue(refused.get().getMessage().contains("CN=server is refused: the revocation list of CN=cluster-ca"
                    + " is out of date"), refused.get().getMessage());
            assertTrue(fetches.messages().stream().anyMatch(w -> w.contains("HTTP status 503")),
                    fetches.messages().toString());

            // The responder answers again: the next fetch brings a fresh list, and connections are made again.
            crlServer.status.set(200);
            Wait.until(() -> client.attempt(at, Duration.ofSeconds(10)) == null, Duration.ofSeconds(30),
                    () -> "connections accepted again with a fresh list");
        }
    }
}
