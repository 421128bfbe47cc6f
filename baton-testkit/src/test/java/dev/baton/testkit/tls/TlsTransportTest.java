package dev.baton.testkit.tls;

import dev.baton.BatonException;
import dev.baton.Status;
import dev.baton.TlsOptions;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportFactory;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The TLS transport on real sockets: who each side proves to be, who is refused and how fast, pinning, rotation of
 * the files, large messages, and a peer that sends garbage.
 */
@Timeout(60)
class TlsTransportTest {

    /** Failures that can be told at once must not wait for the 10 s handshake timeout. */
    private static final Duration FAST = Duration.ofSeconds(3);

    @AutoClose
    private final TlsFixture fx = new TlsFixture();
    private final TestPki pki = fx.pki;
    private final TestPki.Ca ca = fx.ca;

    private TlsPeer peer(TransportFactory factory, String name) {
        return fx.add(new TlsPeer(factory, name));
    }

    private TlsPeer peer(TlsOptions options, String name) {
        return peer(TransportFactory.tls(options), name);
    }

    @Test
    void eachSideSeesThePeersVerifiedSubjectAndFramesFlowBothWays() throws Exception {
        TlsPeer server = peer(pki.options(pki.issue(ca, "server"), ca), "server");
        TlsPeer client = peer(pki.options(pki.issue(ca, "client"), ca), "client");
        InetSocketAddress at = server.listen();
        TransportConnection out = client.connect(at);
        TransportConnection outOpened = client.nextOpened();
        TransportConnection in = server.nextOpened();
        assertEquals(out, outOpened);
        assertEquals("CN=server", out.peerPrincipal().getName());
        assertEquals("CN=client", in.peerPrincipal().getName());
        assertEquals("tls", client.transport.pathOf(out));
        TlsPeer.send(out, 1, "ping".getBytes());
        assertEquals("ping", new String(server.nextReceived()));
        TlsPeer.send(in, 2, "pong".getBytes());
        assertEquals("pong", new String(client.nextReceived()));
    }

    @Test
    void messagesOfOneAndSixteenMebibytesArriveIntactBothWays() throws Exception {
        TlsPeer server = peer(pki.options(pki.issue(ca, "server"), ca), "server");
        TlsPeer client = peer(pki.options(pki.issue(ca, "client"), ca), "client");
        TransportConnection out = client.connect(server.listen());
        client.nextOpened();
        TransportConnection in = server.nextOpened();
        Random random = new Random(42);
        for (int size : new int[] {1 << 20, 16 << 20, 1, 16_384, 16_385, 0}) {
            byte[] payload = new byte[size];
            random.nextBytes(payload);
            TlsPeer.send(out, size, payload);
            assertArrayEquals(payload, server.nextReceived(), "client to server, " + size + " bytes");
            TlsPeer.send(in, size, payload);
            assertArrayEquals(payload, client.nextReceived(), "server to client, " + size + " bytes");
        }
    }

    @Test
    void aPeerWithACertificateFromAnotherCaIsRefusedOnBothSides() throws Exception {
        TestPki.Ca other = pki.ca("other-ca");
        TlsPeer server = peer(pki.options(pki.issue(ca, "server"), ca), "server");
        // Trusts the server's CA, but its own certificate is from another.
        TlsPeer stranger = peer(pki.options(pki.issue(other, "stranger"), ca), "stranger");
        TransportConnection c = stranger.connect(server.listen());
        BatonException e = stranger.closeCause(c, FAST);
        assertEquals(Status.Code.UNAUTHENTICATED, e.status().code(), e.getMessage());
        assertTrue(e.getMessage().contains("refused this side's certificate"), e.getMessage());
        assertTrue(server.opened.isEmpty());

        // And a server from another CA is refused by a client that trusts only its own.
        TlsPeer strangeServer = peer(pki.options(pki.issue(other, "strange-server"), other), "strange-server");
        TlsPeer client = peer(pki.options(pki.issue(ca, "client"), ca), "client");
        TransportConnection c2 = client.connect(strangeServer.listen());
        BatonException e2 = client.closeCause(c2, FAST);
        assertEquals(Status.Code.UNAUTHENTICATED, e2.status().code(), e2.getMessage());
        assertTrue(e2.getMessage().contains("certificate was refused") && e2.getMessage().contains("not trusted"),
                e2.getMessage());
    }

    @Test
    void aPeerWithoutACertificateIsRefusedAndCannotListen() throws Exception {
        TlsPeer server = peer(pki.options(pki.issue(ca, "server"), ca), "server");
        TlsOptions anonymous = TlsOptions.builder().trustedCertificates(ca.certFile()).build();
        TlsPeer nobody = peer(anonymous, "nobody");
        TransportConnection c = nobody.connect(server.listen());
        BatonException e = nobody.closeCause(c, FAST);
        assertEquals(Status.Code.UNAUTHENTICATED, e.status().code(), e.getMessage());
        assertTrue(e.getMessage().contains("certificate is required"), e.getMessage());
        BatonException listen = assertThrows(BatonException.class, nobody::listen);
        assertEquals(Status.Code.INVALID_ARGUMENT, listen.status().code());
    }

    @Test
    void aPlainPeerAndATlsPortRefuseEachOtherFast() throws Exception {
        TlsPeer tlsServer = peer(pki.options(pki.issue(ca, "server"), ca), "tls-server");
        TlsPeer plainClient = peer(TransportFactory.tcp(), "plain-client");
        long start = System.nanoTime();
        TransportConnection c = plainClient.connect(tlsServer.listen());
        BatonException e = plainClient.closeCause(c, FAST);
        assertTrue(e.status().code() == Status.Code.UNAVAILABLE || e.status().code() == Status.Code.PROTOCOL_ERROR,
                e.getMessage());
        assertTrue(e.getMessage().contains("does it require TLS"), "the plain side is told what to suspect: "
                + e.getMessage());
        assertTrue(plainClient.opened.isEmpty() && tlsServer.opened.isEmpty());

        TlsPeer plainServer = peer(TransportFactory.tcp(), "plain-server");
        TlsPeer tlsClient = peer(pki.options(pki.issue(ca, "client"), ca), "tls-client");
        TransportConnection c2 = tlsClient.connect(plainServer.listen());
        BatonException e2 = tlsClient.closeCause(c2, FAST);
        assertEquals(Status.Code.UNAUTHENTICATED, e2.status().code(), e2.getMessage());
        assertTrue(e2.getMessage().contains("does not speak TLS"), e2.getMessage());
        assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(FAST) < 0);
    }

    @Test
    void noProtocolInCommonIsReportedAsSuch() throws Exception {
        TestPki.Issued s = pki.issue(ca, "server");
        TestPki.Issued cl = pki.issue(ca, "client");
        TlsPeer server = peer(TlsOptions.builder().certificate(s.certFile(), s.keyFile())
                .trustedCertificates(ca.certFile()).protocols(TlsOptions.TLS_1_2).build(), "tls12-server");
        TlsPeer client = peer(pki.options(cl, ca), "tls13-client");
        TransportConnection c = client.connect(server.listen());
        BatonException e = client.closeCause(c, FAST);
        assertEquals(Status.Code.UNAUTHENTICATED, e.status().code(), e.getMessage());
        assertTrue(e.getMessage().contains("no TLS protocol version or cipher suite in common"), e.getMessage());

        // With 1.2 allowed on the client too, the two meet on TLS 1.2.
        TlsPeer both = peer(TlsOptions.builder().certificate(cl.certFile(), cl.keyFile())
                .trustedCertificates(ca.certFile()).protocols(TlsOptions.TLS_1_3, TlsOptions.TLS_1_2).build(), "both");
        both.connect(server.listen());
        both.nextOpened();
        TlsPeer.send(server.nextOpened(), 7, new byte[100_000]);
        assertEquals(100_000, both.nextReceived().length);
    }

    @Test
    void restrictedCipherSuitesMeetOnlyWhereTheyOverlap() throws Exception {
        TestPki.Issued s = pki.issue(ca, "server");
        TestPki.Issued cl = pki.issue(ca, "client");
        TlsPeer server = peer(TlsOptions.builder().certificate(s.certFile(), s.keyFile())
                .trustedCertificates(ca.certFile()).cipherSuites("TLS_AES_256_GCM_SHA384").build(), "aes256-server");
        TlsPeer chacha = peer(TlsOptions.builder().certificate(cl.certFile(), cl.keyFile())
                .trustedCertificates(ca.certFile()).cipherSuites("TLS_CHACHA20_POLY1305_SHA256").build(), "chacha");
        BatonException e = chacha.closeCause(chacha.connect(server.listen()), FAST);
        assertEquals(Status.Code.UNAUTHENTICATED, e.status().code(), e.getMessage());
        assertTrue(e.getMessage().contains("no TLS protocol version or cipher suite in common"), e.getMessage());
        assertTrue(server.opened.isEmpty());

        // One suite in common is enough.
        TlsPeer both = peer(TlsOptions.builder().certificate(cl.certFile(), cl.keyFile())
                .trustedCertificates(ca.certFile())
                .cipherSuites("TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_256_GCM_SHA384").build(), "both");
        TransportConnection out = both.connect(server.listen());
        both.nextOpened();
        TlsPeer.send(out, 3, "over AES-256".getBytes());
        assertEquals("over AES-256", new String(server.nextReceived()));
    }

    @Test
    void cipherSuitesAreCheckedWhenTheOptionsAreBuilt() {
        TlsOptions.Builder b = TlsOptions.builder().trustedCertificates(ca.certFile());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> b.cipherSuites("TLS_AES_256_GCM_SHA384", "TLS_NO_SUCH_SUITE"));
        assertTrue(unknown.getMessage().contains("does not support [TLS_NO_SUCH_SUITE]"), unknown.getMessage());
        assertThrows(IllegalArgumentException.class, b::cipherSuites);
        // A TLS 1.2 suite alone leaves TLS 1.3 (the default protocol) nothing; with 1.2 enabled as well it is allowed.
        b.cipherSuites("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, b::build);
        assertTrue(none.getMessage().contains("leave TLSv1.3 no suite"), none.getMessage());
        assertEquals(List.of("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"),
                b.protocols(TlsOptions.TLS_1_2, TlsOptions.TLS_1_3)
                        .cipherSuites("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256")
                        .build().cipherSuites());
        assertTrue(TlsOptions.builder().trustedCertificates(ca.certFile()).build().cipherSuites().isEmpty());
    }

    @Test
    void pinnedFingerprintsAcceptThePinnedCertificateAndRefuseAnother() throws Exception {
        TestPki.Issued s = pki.issue(ca, "server");
        TestPki.Issued pinned = pki.issue(ca, "pinned");
        TestPki.Issued unpinned = pki.issue(ca, "unpinned");
        TlsPeer server = peer(TlsOptions.builder().certificate(s.certFile(), s.keyFile())
                .pinSha256(pinned.sha256()).build(), "server");
        InetSocketAddress at = server.listen();
        TlsPeer good = peer(TlsOptions.builder().certificate(pinned.certFile(), pinned.keyFile())
                .pinSha256(s.sha256().toUpperCase()).build(), "good");
        good.connect(at);
        assertEquals("CN=server", good.nextOpened().peerPrincipal().getName());
        assertEquals("CN=pinned", server.nextOpened().peerPrincipal().getName());

        // Same CA, but the server trusts only the pinned certificate.
        TlsPeer bad = peer(TlsOptions.builder().certificate(unpinned.certFile(), unpinned.keyFile())
                .pinSha256(s.sha256()).build(), "bad");
        BatonException e = bad.closeCause(bad.connect(at), FAST);
        assertEquals(Status.Code.UNAUTHENTICATED, e.status().code(), e.getMessage());
        // And a client whose pin names another certificate refuses the server.
        TlsPeer wrongPin = peer(TlsOptions.builder().certificate(pinned.certFile(), pinned.keyFile())
                .pinSha256(unpinned.sha256()).build(), "wrong-pin");
        BatonException e2 = wrongPin.closeCause(wrongPin.connect(at), FAST);
        assertTrue(e2.getMessage().contains("not among the pinned certificates"), e2.getMessage());
    }

    @Test
    void anExpectedPeerNameIsCheckedWhenAsked() throws Exception {
        TestPki.Issued s = pki.issue(ca, "server");
        TlsPeer server = peer(pki.options(s, ca), "server");
        InetSocketAddress at = server.listen();
        TestPki.Issued cl = pki.issue(ca, "client");
        TlsPeer right = peer(TlsOptions.builder().certificate(cl.certFile(), cl.keyFile())
                .trustedCertificates(ca.certFile()).peerName("server").build(), "right");
        right.connect(at);
        right.nextOpened();
        TlsPeer wrong = peer(TlsOptions.builder().certificate(cl.certFile(), cl.keyFile())
                .trustedCertificates(ca.certFile()).peerName("db.example").build(), "wrong");
        BatonException e = wrong.closeCause(wrong.connect(at), FAST);
        assertTrue(e.getMessage().contains("does not name db.example"), e.getMessage());
    }

    @Test
    void replacedFilesAreUsedByNewConnectionsWhileOldOnesKeepWorking() throws Exception {
        TestPki.Issued live = pki.issue(ca, "server-1");
        TlsPeer server = peer(TlsOptions.builder().certificate(live.certFile(), live.keyFile())
                .trustedCertificates(ca.certFile()).reloadInterval(Duration.ZERO).build(), "server");
        InetSocketAddress at = server.listen();
        TlsPeer client = peer(pki.options(pki.issue(ca, "client"), ca), "client");
        TransportConnection before = client.connect(at);
        assertEquals("CN=server-1", client.nextOpened().peerPrincipal().getName());
        TransportConnection beforeIn = server.nextOpened();

        pki.replace(live, pki.issue(ca, "server-2"));
        TransportConnection after = client.connect(at);
        assertEquals("CN=server-2", client.nextOpened().peerPrincipal().getName());
        server.nextOpened();
        assertTrue(before.isOpen());
        TlsPeer.send(before, 1, "still".getBytes());
        assertEquals("still", new String(server.nextReceived()));
        TlsPeer.send(beforeIn, 2, "here".getBytes());
        assertEquals("here", new String(client.nextReceived()));

        // A key that does not match its certificate keeps the previous files in force.
        Files.copy(pki.issue(ca, "server-3").keyFile(), live.keyFile(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.setLastModifiedTime(live.keyFile(), java.nio.file.attribute.FileTime.fromMillis(
                System.currentTimeMillis() + 5_000));
        client.connect(at);
        assertEquals("CN=server-2", client.nextOpened().peerPrincipal().getName());
        assertTrue(after.isOpen());
    }

    @Test
    void keyStoresWorkLikePemFiles() throws Exception {
        char[] password = "secret".toCharArray();
        TestPki.Issued s = pki.issue(ca, "server", TestPki.KeyKind.RSA, Duration.ofDays(1));
        TlsPeer server = peer(TlsOptions.builder().keyStore(pki.keyStore(s, password), password)
                .trustStore(pki.trustStore(ca, password), password).build(), "server");
        TlsPeer client = peer(pki.options(pki.issue(ca, "client"), ca), "client");
        client.connect(server.listen());
        assertEquals("CN=server", client.nextOpened().peerPrincipal().getName());
    }

    @Test
    void unusableFilesFailWithAMessageThatSaysWhy() throws Exception {
        TestPki.Issued s = pki.issue(ca, "server");
        Path pkcs1 = pki.dir().resolve("legacy.key");
        Files.writeString(pkcs1, "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n");
        assertInvalid(TlsOptions.builder().certificate(s.certFile(), pkcs1).trustedCertificates(ca.certFile()).build(),
                "openssl pkcs8 -topk8");
        TestPki.Issued other = pki.issue(ca, "other");
        assertInvalid(TlsOptions.builder().certificate(s.certFile(), other.keyFile())
                .trustedCertificates(ca.certFile()).build(), "does not match");
        assertInvalid(TlsOptions.builder().certificate(s.certFile(), s.keyFile())
                .trustedCertificates(pki.dir().resolve("missing.crt")).build(), "missing.crt");
        assertInvalid(TlsOptions.builder().keyStore(pki.keyStore(s, "a".toCharArray()), "b".toCharArray())
                .trustedCertificates(ca.certFile()).build(), "wrong password");
    }

    @Test
    void anEncryptedPemKeyIsReadWithItsPasswordAndRefusedWithoutIt() throws Exception {
        TestPki.Issued s = pki.issue(ca, "server");
        char[] password = "correct horse battery staple".toCharArray();
        Path encrypted = pki.encryptedKeyFile(s, password);
        assertTrue(Files.readString(encrypted).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        TlsPeer server = peer(TlsOptions.builder().certificate(s.certFile(), encrypted, password)
                .trustedCertificates(ca.certFile()).build(), "encrypted-key-server");
        TlsPeer client = peer(pki.options(pki.issue(ca, "client"), ca), "client");
        client.connect(server.listen());
        assertEquals("CN=server", client.nextOpened().peerPrincipal().getName());

        assertInvalid(TlsOptions.builder().certificate(s.certFile(), encrypted)
                .trustedCertificates(ca.certFile()).build(), "is encrypted: give its password");
        assertInvalid(TlsOptions.builder().certificate(s.certFile(), encrypted, "wrong".toCharArray())
                .trustedCertificates(ca.certFile()).build(), "wrong password");
    }

    private static void assertInvalid(TlsOptions options, String expected) {
        BatonException e = assertThrows(BatonException.class, () -> TransportFactory.tls(options));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.status().code());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void aPeerThatSendsGarbageAfterTheTlsHandshakeIsClosed() throws Exception {
        TlsPeer server = peer(pki.options(pki.issue(ca, "server"), ca), "server");
        InetSocketAddress at = server.listen();
        SSLContext context = pki.jdkContext(pki.issue(ca, "client"), ca);
        Random random = new Random(7);
        // Garbage inside TLS (not Baton's handshake), then garbage in place of TLS records.
        for (boolean insideTls : new boolean[] {true, false}) {
            try (Socket raw = new Socket(at.getAddress(), at.getPort());
                 SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(raw, "127.0.0.1", at.getPort(), false)) {
                tls.setUseClientMode(true);
                tls.startHandshake();
                byte[] junk = new byte[4096];
                random.nextBytes(junk);
                raw.setSoTimeout(5_000);
                OutputStream out = insideTls ? tls.getOutputStream() : raw.getOutputStream();
                InputStream in = insideTls ? tls.getInputStream() : raw.getInputStream();
                assertTrue(closedAfterWriting(out, in, junk), "the server did not close the connection");
            }
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (server.transport.stats().openConnections() > 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(0, server.transport.stats().openConnections());
        assertTrue(server.opened.isEmpty());
    }

    /** Writes {@code junk} until the peer closes; true if it closed before 1000 writes. */
    private static boolean closedAfterWriting(OutputStream out, InputStream in, byte[] junk) {
        try {
            for (int i = 0; i < 1000; i++) {
                out.write(junk);
                out.flush();
            }
        } catch (java.io.IOException expected) {
            return true;
        }
        try {
            byte[] sink = new byte[8192];
            while (true) {
                if (in.read(sink) < 0) {
                    return true;
                }
            }
        } catch (SocketException | javax.net.ssl.SSLException e) {
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
