package dev.baton.testkit.tls;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import dev.baton.BatonException;
import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Status;
import dev.baton.TlsOptions;
import dev.baton.pki.RevocationSources;
import dev.baton.spi.TransportConnection;
import dev.baton.testkit.Wait;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.math.BigInteger;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Revocation checked online, against a real HTTP server on loopback standing for the CA: revocation lists fetched
 * from the CRL distribution points certificates name (a fresh list signed at every request, valid for a few seconds,
 * as a CA would re-sign it), and OCSP responders asked about peers (the CA's own signed answers).
 */
@Timeout(90)
class TlsOnlineRevocationTest {

    private static final Duration LIST_VALIDITY = Duration.ofSeconds(4);

    @AutoClose
    private final TlsFixture fx = new TlsFixture();
    private final TestPki pki = fx.pki;
    private final TestPki.Ca ca = fx.ca;
    @AutoClose
    private final TestPki elsewhere = TestPki.create();     // its CA files do not overwrite the trusted one's
    @AutoClose("stopNow")
    private final CaServer caServer = new CaServer();

    /**
     * Serves {@code /ca.crl}: the CA's list of {@link #revoked}, or an error status, or another CA's list; and
     * {@code /ocsp}: the CA's OCSP answers, by POST or GET (RFC 6960, A.1), revoking {@link #revoked}.
     */
    final class CaServer {
        final HttpServer http;
        final Set<X509Certificate> revoked = new CopyOnWriteArraySet<>();
        final AtomicInteger status = new AtomicInteger(200);
        /** How long each answer takes. */
        final AtomicInteger delayMillis = new AtomicInteger();
        final AtomicReference<TestPki.Ca> signer = new AtomicReference<>(ca);
        final AtomicInteger requests = new AtomicInteger();
        final AtomicInteger ocspRequests = new AtomicInteger();
        final URI uri;
        final URI ocspUri;

        CaServer() {
            try {
                http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            serve("/ca.crl", requests, "application/pkix-crl", exchange -> {
                Instant now = Instant.now();
                return signer.get().authority().revocationList(List.copyOf(revoked), now.minusSeconds(1),
                        now.plus(LIST_VALIDITY)).getEncoded();
            });
            serve("/ocsp", ocspRequests, "application/ocsp-response", exchange -> {
                byte[] request;
                if (exchange.getRequestMethod().equals("POST")) {
                    request = exchange.getRequestBody().readNBytes(64 * 1024);
                } else {
                    String encoded = exchange.getRequestURI().getRawPath().substring("/ocsp/".length());
                    request = Base64.getDecoder().decode(URLDecoder.decode(encoded, StandardCharsets.US_ASCII));
                }
                Map<BigInteger, Instant> serials = new HashMap<>();
                for (X509Certificate c : revoked) {
                    serials.put(c.getSerialNumber(), Instant.now().minusSeconds(1));
                }
                Instant now = Instant.now();
                return ca.authority().ocspResponse(request, serials, now.minusSeconds(1), now.plus(Duration.ofHours(1)));
            });
            http.start();
            uri = URI.create("http://127.0.0.1:" + http.getAddress().getPort() + "/ca.crl");
            ocspUri = URI.create("http://127.0.0.1:" + http.getAddress().getPort() + "/ocsp");
        }

        void stopNow() {
            http.stop(0);
        }

        /** What a path answers: the body of a 200. */
        interface Answer {
            byte[] of(HttpExchange exchange) throws Exception;
        }

        /** Serves {@code path}, counting requests in {@code count}: {@link #status} when it is not 200, else the answer. */
        private void serve(String path, AtomicInteger count, String contentType, Answer answer) {
            http.createContext(path, exchange -> {
                count.incrementAndGet();
                try (exchange) {
                    Thread.sleep(delayMillis.get());
                    int code = status.get();
                    if (code != 200) {
                        exchange.sendResponseHeaders(code, -1);
                        return;
                    }
                    byte[] body = answer.of(exchange);
                    exchange.getResponseHeaders().set("Content-Type", contentType);
                    exchange.sendResponseHeaders(200, body.length);
                    exchange.getResponseBody().write(body);
                } catch (IOException e) {
                    throw e;
                } catch (Exception e) {
                    throw new IOException(e);
                }
            });
        }
    }

    /** Presents {@code identity}, trusts the CA, fetches lists, and looks at them at every tick. */
    private TlsOptions fetching(TestPki.Issued identity) {
        return fetchingBuilder(identity).build();
    }

    private TlsOptions.Builder fetchingBuilder(TestPki.Issued identity) {
        return TlsOptions.builder().certificate(identity.certFile(), identity.keyFile())
                .trustedCertificates(ca.certFile()).fetchRevocationLists(true)
                .revocationFetchTimeout(Duration.ofSeconds(2)).reloadInterval(Duration.ZERO);
    }

    private TestPki.Issued issue(String name) {
        return pki.issue(ca, name, RevocationSources.crl(caServer.uri));
    }

    @Test
    void aCertificateRevokedInTheFetchedListIsCutEverywhereAndTheOthersKeepCalling() throws Exception {
        // The master's own certificate names no point: it learns of the list from its peers' certificates.
        Master m = fx.add(Master.start(MasterOptions.builder().tls(fetching(pki.issue(ca, "master"))).build()));
        TlsFixture.EchoTrio trio = fx.echoTrio(m, this::issue, this::fetching);
        assertTrue(caServer.requests.get() >= 3, "each node fetched its CA's list at start: "
                + caServer.requests.get());

        try (Warnings cuts = Warnings.of("dev.baton.internal.tcp.TlsConnection")) {
            caServer.revoked.add(trio.bCert().certificate());

            // At the next refresh (halfway to the list's next update) node-a and the master cut node-b.
            trio.awaitBCut();
            assertTrue(cuts.messages().stream().anyMatch(w -> w.contains("CN=node-b is refused: it has been revoked")),
                    cuts.messages().toString());
        }
        // The others go on through several refreshes of the list.
        for (int i = 0; i < 3; i++) {
            assertEquals("before", trio.echoFromC());
            Thread.sleep(LIST_VALIDITY.toMillis() / 2);
        }
        TlsPeer asB = fx.peer(fetching(trio.bCert()), "as-b");
        BatonException refused = asB.attempt(trio.a().address(), Duration.ofSeconds(10));
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
            caServer.signer.set(elsewhere.ca(ca.name()));
            caServer.revoked.add(serverCert.certificate());
            Wait.until(() -> fetches.messages().stream().anyMatch(w -> w.contains("does not carry the signature")),
                    Duration.ofSeconds(20), () -> "a warning about the forged list: " + fetches.messages());
            assertEquals(null, client.attempt(at, Duration.ofSeconds(10)));

            // The responder fails from now on: the genuine list held lapses at its next update, and then the CA's
            // certificates are refused, as with a stale file.
            caServer.signer.set(ca);
            caServer.revoked.clear();
            caServer.status.set(503);
            BatonException refused = awaitRefused(client, at, "connections refused once the list held is past its "
                    + "next update");
            assertTrue(refused.getMessage().contains("CN=server is refused: the revocation list of CN=cluster-ca"
                    + " is out of date"), refused.getMessage());
            assertTrue(fetches.messages().stream().anyMatch(w -> w.contains("HTTP status 503")),
                    fetches.messages().toString());

            // The responder answers again: the next fetch brings a fresh list, and connections are made again.
            caServer.status.set(200);
            Wait.until(() -> client.attempt(at, Duration.ofSeconds(10)) == null, Duration.ofSeconds(30),
                    () -> "connections accepted again with a fresh list");
        }
    }

    @Test
    void aCertificateItsOcspResponderSaysIsRevokedIsCutEverywhereAndTheOthersKeepCalling() throws Exception {
        Master m = fx.add(Master.start(MasterOptions.builder().tls(asking(pki.issue(ca, "master"))).build()));
        TlsFixture.EchoTrio trio = fx.echoTrio(m, this::answered, this::asking);
        Wait.until(() -> caServer.ocspRequests.get() >= 3, Duration.ofSeconds(10),
                () -> "the responder asked about the nodes: " + caServer.ocspRequests.get());

        try (Warnings cuts = Warnings.of("dev.baton.internal.tcp.TlsConnection")) {
            caServer.revoked.add(trio.bCert().certificate());

            // At the next question (every second) node-a and the master learn it, and cut node-b.
            trio.awaitBCut();
            assertTrue(cuts.messages().stream().anyMatch(w -> w.contains("CN=node-b is refused: its issuer's OCSP "
                    + "responder says it has been revoked")), cuts.messages().toString());
        }
        for (int i = 0; i < 3; i++) {
            assertEquals("before", trio.echoFromC());
            Thread.sleep(500);
        }
        TlsPeer asB = fx.peer(asking(trio.bCert()), "as-b");
        BatonException refused = asB.attempt(trio.a().address(), Duration.ofSeconds(10));
        assertEquals(Status.Code.UNAUTHENTICATED, refused.status().code(), String.valueOf(refused));
    }

    @Test
    void aResponderThatDoesNotAnswerChangesNothingAndWhenItAnswersARevocationIsRefused() throws Exception {
        TlsPeer server = fx.peer(asking(answered("server")), "server");
        InetSocketAddress at = server.listen();
        TestPki.Issued clientCert = answered("client");
        TlsPeer client = fx.peer(asking(clientCert), "client");
        try (Warnings asks = Warnings.of("dev.baton.internal.tls.OcspStatuses")) {
            caServer.status.set(503);
            assertEquals(null, client.attempt(at, Duration.ofSeconds(10)));
            Wait.until(() -> asks.messages().stream().anyMatch(w -> w.contains("no OCSP answer about CN=client")),
                    Duration.ofSeconds(10), () -> "a warning that the responder did not answer: " + asks.messages());
            assertEquals(null, client.attempt(at, Duration.ofSeconds(10)), "soft: nothing is refused meanwhile");
        }
        caServer.status.set(200);
        caServer.revoked.add(clientCert.certificate());
        awaitRefused(client, at, "the server refusing the client once its responder answers");

        // Closed, the two ask nothing more (though nothing closes their sources, which live until collected).
        client.close();
        server.close();
        Thread.sleep(1_000);        // a question already under way when they closed reaches the responder
        int asked = caServer.ocspRequests.get();
        Thread.sleep(2_500);
        assertEquals(asked, caServer.ocspRequests.get(), "questions after the transports closed");
    }

    @Test
    void hardModeWaitsForANewPeersAnswerAndRefusesPeersWhoseResponderDoesNotAnswer() throws Exception {
        TestPki.Issued serverCert = answered("server");
        TlsPeer server = fx.peer(pki.options(serverCert, ca), "server");     // only the client asks
        InetSocketAddress at = server.listen();
        TlsPeer client = fx.peer(askingBuilder(answered("client")).requireRevocationStatus(true).build(), "client");

        // The first connection waits in its handshake (off the I/O thread) for the responder's first answer.
        assertEquals(null, client.attempt(at, Duration.ofSeconds(10)));
        assertTrue(caServer.ocspRequests.get() >= 1, "asked: " + caServer.ocspRequests.get());
        TransportConnection open = client.connect(at);
        assertEquals(open, client.nextOpened());

        // The responder stops answering. A new peer is refused, saying why; so is the first one, once a question
        // about it went unanswered; its open connection goes on carrying frames (only a revocation cuts it).
        caServer.status.set(503);
        TlsPeer other = fx.peer(pki.options(answered("other"), ca), "other");
        InetSocketAddress otherAt = other.listen();
        assertRefusedUnknown(client.attempt(otherAt, Duration.ofSeconds(10)), "other",
                "its OCSP responder has not answered (");
        assertRefusedUnknown(awaitRefused(client, at, "refused once a question went unanswered"), "server",
                "its OCSP responder has not answered (");
        TlsPeer.send(open, 7, "still open".getBytes(StandardCharsets.UTF_8));
        assertEquals("still open", new String(server.nextReceived(), StandardCharsets.UTF_8));

        // It answers again: both are accepted; then it revokes the server, which is refused for that.
        caServer.status.set(200);
        Wait.until(() -> client.attempt(otherAt, Duration.ofSeconds(10)) == null
                && client.attempt(at, Duration.ofSeconds(10)) == null, Duration.ofSeconds(20),
                () -> "accepted once the responder answered");
        caServer.revoked.add(serverCert.certificate());
        Wait.until(() -> {
            BatonException why = client.attempt(at, Duration.ofSeconds(10));
            return why != null && why.getMessage().contains("says it has been revoked");
        }, Duration.ofSeconds(20), () -> "refused for its revocation");
    }

    @Test
    void hardModeAcceptsANewPeersConnectionsMadeWhileItsFirstQuestionIsUnderWay() throws Exception {
        TlsPeer server = fx.peer(pki.options(answered("server"), ca), "server");
        InetSocketAddress at = server.listen();
        TlsPeer client = fx.peer(askingBuilder(answered("client")).requireRevocationStatus(true).build(), "client");
        caServer.delayMillis.set(1_000);
        List<TransportConnection> lanes = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            lanes.add(client.connect(at));      // the first asks; the others wait for its answer
        }
        for (int i = 0; i < lanes.size(); i++) {
            assertTrue(lanes.contains(client.nextOpened()), "one of the four opened");
        }
        assertEquals(1, caServer.ocspRequests.get(), "one question for the four");
    }

    @Test
    void hardModeWithFetchedListsWaitsForANewPointsListAndRefusesWhileItCannotBeFetched() throws Exception {
        TlsPeer server = fx.peer(pki.options(issue("server"), ca), "server");
        InetSocketAddress at = server.listen();
        // The clients' own certificates name no point: they learn of it from the server's.
        TestPki.Issued clientCert = pki.issue(ca, "client");

        caServer.status.set(503);
        TlsPeer refusedClient = fx.peer(fetchingBuilder(clientCert).requireRevocationStatus(true).build(), "client-1");
        assertRefusedUnknown(refusedClient.attempt(at, Duration.ofSeconds(10)), "server",
                "no list of CN=cluster-ca has come from " + caServer.uri + " (HTTP status 503)");
        caServer.status.set(200);
        Wait.until(() -> refusedClient.attempt(at, Duration.ofSeconds(10)) == null, Duration.ofSeconds(30),
                () -> "accepted once the CA's list came");

        // A client that meets the point for the first time while the list server answers waits for its list.
        int fetched = caServer.requests.get();
        TlsPeer newClient = fx.peer(fetchingBuilder(clientCert).requireRevocationStatus(true).build(), "client-2");
        assertEquals(null, newClient.attempt(at, Duration.ofSeconds(10)));
        assertTrue(caServer.requests.get() > fetched, "fetched: " + caServer.requests.get());
    }

    @Test
    void hardModeNeedsAnOnlineCheck() {
        TestPki.Issued node = issue("node");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TlsOptions.builder()
                .certificate(node.certFile(), node.keyFile()).trustedCertificates(ca.certFile())
                .requireRevocationStatus(true).build());
        assertTrue(e.getMessage().contains("fetchRevocationLists or askOcspResponders"), e.getMessage());
    }

    /** {@code refused} is the refusal of the peer {@code CN=name} for want of its revocation status, {@code detail}. */
    private static void assertRefusedUnknown(BatonException refused, String name, String detail) {
        assertTrue(refused != null, "a refusal");
        assertEquals(Status.Code.UNAUTHENTICATED, refused.status().code(), refused.getMessage());
        assertTrue(refused.getMessage().contains("CN=" + name + " is refused: its revocation status is not known: ")
                && refused.getMessage().contains(detail), refused.getMessage());
    }

    /** Connects from {@code client} to {@code at} until a connection is refused, UNAUTHENTICATED; returns why. */
    private static BatonException awaitRefused(TlsPeer client, InetSocketAddress at, String what) {
        AtomicReference<BatonException> refused = new AtomicReference<>();
        // A connection made just before the server learnt of a change may be cut by its recheck before this side
        // saw it open: UNAVAILABLE ("connection closed by"), not a refusal; the next attempt is refused.
        Wait.until(() -> {
            refused.set(client.attempt(at, Duration.ofSeconds(10)));
            return refused.get() != null && refused.get().status().code() != Status.Code.UNAVAILABLE;
        }, Duration.ofSeconds(20), () -> what + "; last: " + refused.get());
        assertEquals(Status.Code.UNAUTHENTICATED, refused.get().status().code(), refused.get().getMessage());
        return refused.get();
    }

    /** Presents {@code identity}, trusts the CA, asks OCSP responders every second, looks at the answers at every tick. */
    private TlsOptions asking(TestPki.Issued identity) {
        return askingBuilder(identity).build();
    }

    private TlsOptions.Builder askingBuilder(TestPki.Issued identity) {
        return TlsOptions.builder().certificate(identity.certFile(), identity.keyFile())
                .trustedCertificates(ca.certFile()).askOcspResponders(Duration.ofSeconds(1))
                .reloadInterval(Duration.ZERO);
    }

    /** A certificate naming the server's OCSP responder. */
    private TestPki.Issued answered(String name) {
        return pki.issue(ca, name, RevocationSources.ocsp(caServer.ocspUri));
    }
}
