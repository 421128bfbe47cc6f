package dev.baton.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.PKIXRevocationChecker;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code baton certs serve}, its own JVM: the JDK fetches its list and asks it about certificates (verifying the
 * CA's signatures), a master and a node that require a known revocation status join by its answers, and what
 * {@code baton certs revoke} writes is served at once.
 */
@Timeout(120)
class CertsServeCommandTest {

    private final List<Process> started = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path temp;

    @AfterEach
    void noChildProcessIsLeftBehind() {
        http.close();
        started.forEach(Process::destroyForcibly);
        ChildProcesses.assertNoneLeft(Duration.ofSeconds(10));
    }

    @Test
    void servesTheListAndOcspAnswersThatAHardModeClusterJoinsByAndARevocationAtOnce() throws Exception {
        Path dir = temp.resolve("pki");
        assertEquals(0, CliRun.of("certs", "--dir", dir.toString(), "--names", "seed").exitCode());
        Process serve = ChildProcesses.startCli(started, "certs", "serve", "--dir", dir.toString(), "--port", "0",
                "--supervised");
        String url = ChildProcesses.awaitFirstLine(serve,
                Pattern.compile(Pattern.quote(CertsServeCommand.READY) + "(http://\\S+)")).group(1);
        CliRun issued = CliRun.of("certs", "issue", "--dir", dir.toString(), "--name", "master,node-1,node-2",
                "--crl-url", url + "/crl", "--ocsp-url", url + "/ocsp");
        assertEquals(0, issued.exitCode(), issued.err());
        X509Certificate ca = certificate(dir.resolve("ca.pem"));

        // The JDK as the client: a list the CA signed, revoking nothing; OCSP says node-2 is good.
        X509CRL list = list(url + "/crl");
        list.verify(ca.getPublicKey());
        assertNull(list.getRevokedCertificates());
        assertTrue(list.getNextUpdate().getTime() - System.currentTimeMillis() > Duration.ofMinutes(9).toMillis(),
                "valid for the default 10 minutes: " + list.getNextUpdate());
        X509Certificate node2 = certificate(DevPki.cert(dir, "node-2"));
        askOcsp(ca, node2);

        // A master and a node that require a known status (lists and OCSP) join by the served answers.
        Process master = ChildProcesses.startCli(started, hard(List.of("master", "--port", "0", "--supervised"),
                DevPki.tlsArgs(dir, "master")));
        String address = ChildProcesses.awaitFirstLine(master, DemoCommand.MASTER_READY).group(1);
        Process node = ChildProcesses.startCli(started, hard(List.of("node", "--master", address, "--name", "n1",
                "--services", "echo", "--supervised"), DevPki.tlsArgs(dir, "node-1")));
        ChildProcesses.awaitFirstLine(node, Pattern.compile("baton node rank 0 listening on (\\S+)"));

        // Revoking node-2 is served at once, by the list and by OCSP; node-2 can no longer join.
        CliRun revoked = CliRun.of("certs", "revoke", "--dir", dir.toString(), "--name", "node-2");
        assertEquals(0, revoked.exitCode(), revoked.err());
        X509CRL after = list(url + "/any/path/serves/the/list");
        assertEquals(node2.getSerialNumber(), after.getRevokedCertificates().iterator().next().getSerialNumber());
        CertPathValidatorException e = assertThrows(CertPathValidatorException.class, () -> askOcsp(ca, node2));
        assertEquals(CertPathValidatorException.BasicReason.REVOKED, e.getReason(), e.getMessage());
        Path nodeErr = temp.resolve("node-2.err");
        Process refused = ChildProcesses.startCli(started, ProcessBuilder.Redirect.to(nodeErr.toFile()),
                hard(List.of("node", "--master", address, "--name", "n2", "--supervised"),
                        DevPki.tlsArgs(dir, "node-2")));
        assertTrue(refused.waitFor(60, TimeUnit.SECONDS), "node-2 gave up");
        assertTrue(refused.exitValue() != 0, "exit " + refused.exitValue());
        String why = Files.readString(nodeErr);
        assertTrue(why.contains("UNAUTHENTICATED") && why.contains("the peer refused this side's certificate")
                && why.contains("(1 revoked"), why);

        // Bad requests get HTTP errors, or OCSP's own: never a crash.
        assertEquals(405, send(HttpRequest.newBuilder(URI.create(url + "/crl"))
                .PUT(HttpRequest.BodyPublishers.ofString("x"))).statusCode());
        assertEquals(413, send(HttpRequest.newBuilder(URI.create(url + "/ocsp"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[DevRevocationServer.MAX_REQUEST_BYTES + 1])))
                .statusCode());
        HttpResponse<byte[]> garbage = send(HttpRequest.newBuilder(URI.create(url + "/ocsp"))
                .POST(HttpRequest.BodyPublishers.ofString("not an OCSP request")));
        assertEquals(200, garbage.statusCode());
        assertEquals(List.of(0x30, 0x03, 0x0a, 0x01, 0x01), toInts(garbage.body()),
                "OCSPResponse { responseStatus malformedRequest (1) }");
        assertEquals(200, send(HttpRequest.newBuilder(URI.create(url + "/ocsp/!!not*base64!!"))).statusCode());
        assertTrue(serve.isAlive(), "still serving");
    }

    @Test
    void aListOfAnotherCaIsAnsweredWithAnErrorNotWithWhatItListedBefore() throws Exception {
        Path dir = temp.resolve("pki");
        Path other = temp.resolve("other");
        assertEquals(0, CliRun.of("certs", "--dir", dir.toString(), "--names", "node-1").exitCode());
        assertEquals(0, CliRun.of("certs", "--dir", other.toString(), "--names", "node-1").exitCode());
        assertEquals(0, CliRun.of("certs", "revoke", "--dir", dir.toString(), "--name", "node-1").exitCode());
        StringWriter errors = new StringWriter();
        try (DevRevocationServer server = DevRevocationServer.start(new InetSocketAddress("127.0.0.1", 0),
                dir, DevPki.loadCa(dir, null), Duration.ofMinutes(10), new PrintWriter(errors, true))) {
            String url = server.uri() + "/crl";
            assertEquals(1, list(url).getRevokedCertificates().size());

            // Another CA's list where this one's was: HTTP 500 saying why, logged once, until it is rewritten.
            assertEquals(0, CliRun.of("certs", "revoke", "--dir", other.toString(), "--name", "node-1").exitCode());
            Files.copy(other.resolve("crl.pem"), dir.resolve("crl.pem"), StandardCopyOption.REPLACE_EXISTING);
            for (int i = 0; i < 2; i++) {
                HttpResponse<byte[]> refused = send(HttpRequest.newBuilder(URI.create(url)));
                assertEquals(500, refused.statusCode());
                assertTrue(new String(refused.body(), StandardCharsets.UTF_8)
                        .contains("cannot read the revocation list"), new String(refused.body()));
            }
            assertEquals(1, errors.toString().lines().filter(l -> l.contains("answering HTTP 500")).count(),
                    errors.toString());

            Files.delete(dir.resolve("crl.pem"));       // none: nothing revoked
            assertNull(list(url).getRevokedCertificates());
        }
    }

    @Test
    void badOptionsAreUsageErrors() {
        CliRun noDir = CliRun.of("certs", "serve", "--dir", temp.resolve("none").toString(), "--port", "0");
        assertEquals(1, noDir.exitCode(), noDir.err());
        assertTrue(noDir.err().contains("no such file"), noDir.err());
        CliRun shortLived = CliRun.of("certs", "serve", "--dir", temp.toString(), "--valid", "1s");
        assertEquals(2, shortLived.exitCode());
        assertTrue(shortLived.err().contains("--valid must be between 10s and 30d"), shortLived.err());
    }

    private HttpResponse<byte[]> send(HttpRequest.Builder request) throws Exception {
        return http.send(request.timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private X509CRL list(String url) throws Exception {
        HttpResponse<byte[]> r = send(HttpRequest.newBuilder(URI.create(url)));
        assertEquals(200, r.statusCode());
        assertEquals("application/pkix-crl", r.headers().firstValue("Content-Type").orElse(""));
        return (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(r.body()));
    }

    /** Validates {@code cert} against {@code ca} with the JDK's OCSP checker, hard: no answer is a failure. */
    private static void askOcsp(X509Certificate ca, X509Certificate cert) throws Exception {
        CertPathValidator validator = CertPathValidator.getInstance("PKIX");
        PKIXRevocationChecker checker = (PKIXRevocationChecker) validator.getRevocationChecker();
        checker.setOptions(EnumSet.of(PKIXRevocationChecker.Option.NO_FALLBACK));
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
        params.setRevocationEnabled(false);
        params.addCertPathChecker(checker);
        validator.validate(CertificateFactory.getInstance("X.509").generateCertPath(List.of(cert)), params);
    }

    private static X509Certificate certificate(Path pem) throws Exception {
        try (var in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static List<Integer> toInts(byte[] bytes) {
        List<Integer> out = new ArrayList<>();
        for (byte b : bytes) {
            out.add(b & 0xff);
        }
        return out;
    }

    /** {@code command}, then {@code tls}, then the options of a hard revocation check. */
    private static String[] hard(List<String> command, List<String> tls) {
        List<String> all = new ArrayList<>(command);
        all.addAll(tls);
        all.addAll(List.of("--tls-crl-fetch", "--tls-ocsp", "1s", "--tls-revocation-required"));
        return all.toArray(String[]::new);
    }
}
