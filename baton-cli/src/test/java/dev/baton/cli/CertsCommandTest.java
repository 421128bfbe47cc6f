package dev.baton.cli;

import dev.baton.Client;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.TlsOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code baton certs}: owner-only files whose chain a real TLS master and node (their own JVMs) accept. */
@Timeout(120)
class CertsCommandTest {

    private final List<Process> started = new ArrayList<>();

    @TempDir
    Path temp;

    @AfterEach
    void noChildProcessIsLeftBehind() {
        started.forEach(Process::destroyForcibly);
        ChildProcesses.assertNoneLeft(Duration.ofSeconds(10));
    }

    @Test
    void writesOwnerOnlyFilesThatATlsMasterAndNodeAcceptAndSaysTheyAreForDevelopment() throws Exception {
        Path dir = temp.resolve("pki");
        CliRun r = CliRun.of("certs", "--dir", dir.toString(), "--nodes", "2");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("FOR DEVELOPMENT ONLY"), r.out());
        assertTrue(Files.readString(dir.resolve("README.txt")).contains("FOR DEVELOPMENT ONLY"));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        List<String> expected = List.of("ca.pem", "ca-key.pem", "master.pem", "master-key.pem", "node-1.pem",
                "node-1-key.pem", "node-2.pem", "node-2-key.pem", "tool.pem", "tool-key.pem", "README.txt");
        try (var files = Files.list(dir)) {
            assertEquals(expected.stream().sorted().toList(),
                    files.map(p -> p.getFileName().toString()).sorted().toList(), "no file more, none less");
        }
        for (String f : expected) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(f))), f);
        }

        Process master = ChildProcesses.startCli(started, cat(List.of("master", "--port", "0", "--supervised"),
                DevPki.tlsArgs(dir, "master")));
        String address = ChildProcesses.awaitFirstLine(master, DemoCommand.MASTER_READY).group(1);
        Process node = ChildProcesses.startCli(started, cat(List.of("node", "--master", address, "--name", "n1",
                "--services", "echo", "--supervised"), DevPki.tlsArgs(dir, "node-1")));
        ChildProcesses.awaitFirstLine(node, Pattern.compile("baton node rank 0 listening on (\\S+)"));

        // A call over TLS from node-2's certificate, checking that every peer's certificate names localhost.
        TlsOptions tls = TlsOptions.builder().certificate(DevPki.cert(dir, "node-2"), DevPki.key(dir, "node-2"))
                .trustedCertificates(dir.resolve("ca.pem")).peerName("localhost").build();
        try (Node caller = Node.join(NodeOptions.builder().master(address).name("caller").tls(tls).build())) {
            Client echo = caller.client(DemoServices.ECHO);
            echo.awaitServers(1, Duration.ofSeconds(20));
            byte[] hello = "hello over the dev PKI".getBytes(StandardCharsets.UTF_8);
            assertArrayEquals(hello, echo.call(DemoServices.ECHO_METHOD, hello));
        }
        CliRun health = CliRun.of(cat(List.of("health", "--master", address), DevPki.tlsArgs(dir, "tool")));
        assertEquals(0, health.exitCode(), health.out() + health.err());
        CliRun plain = CliRun.of("health", "--master", address, "--timeout", "2s");
        assertEquals(1, plain.exitCode(), "a plain tool is refused: " + plain.out());

        node.getOutputStream().close();
        assertTrue(node.waitFor(20, TimeUnit.SECONDS));
        master.getOutputStream().close();
        assertTrue(master.waitFor(20, TimeUnit.SECONDS));
        assertEquals(0, master.exitValue());
    }

    @Test
    void certificatesNameTheGivenRevocationSourcesAndOtherUrlsAreUsageErrors() throws Exception {
        Path dir = temp.resolve("pki");
        CliRun r = CliRun.of("certs", "--dir", dir.toString(), "--names", "a", "--crl-url",
                "http://127.0.0.1:8080/ca.crl", "--ocsp-url", "http://127.0.0.1:8080/ocsp");
        assertEquals(0, r.exitCode(), r.err());
        CliRun issued = CliRun.of("certs", "issue", "--dir", dir.toString(), "--name", "b", "--crl-url",
                "http://crl.example/ca.crl");
        assertEquals(0, issued.exitCode(), issued.err());
        CertificateFactory x509 = CertificateFactory.getInstance("X.509");
        X509Certificate a;
        X509Certificate b;
        try (var in = Files.newInputStream(dir.resolve("a.pem")); var in2 = Files.newInputStream(dir.resolve("b.pem"))) {
            a = (X509Certificate) x509.generateCertificate(in);
            b = (X509Certificate) x509.generateCertificate(in2);
        }
        String aDer = new String(a.getEncoded(), StandardCharsets.ISO_8859_1);
        assertTrue(aDer.contains("http://127.0.0.1:8080/ca.crl") && aDer.contains("http://127.0.0.1:8080/ocsp"));
        assertTrue(a.getExtensionValue("2.5.29.31") != null && a.getExtensionValue("1.3.6.1.5.5.7.1.1") != null);
        assertTrue(new String(b.getEncoded(), StandardCharsets.ISO_8859_1).contains("http://crl.example/ca.crl"));
        assertEquals(null, b.getExtensionValue("1.3.6.1.5.5.7.1.1"), "no responder asked for");

        CliRun ldap = CliRun.of("certs", "--dir", temp.resolve("other").toString(), "--crl-url", "ldap://x/ca.crl");
        assertEquals(2, ldap.exitCode());
        assertTrue(ldap.err().contains("must be an absolute http URI: ldap://x/ca.crl"), ldap.err());
    }

    @Test
    void refusesToOverwriteAnEarlierRunUnlessForced() throws Exception {
        Path dir = temp.resolve("pki");
        assertEquals(0, CliRun.of("certs", "--dir", dir.toString(), "--names", "a,b").exitCode());
        String ca = Files.readString(dir.resolve("ca.pem"));

        CliRun again = CliRun.of("certs", "--dir", dir.toString(), "--names", "b,c");
        assertEquals(1, again.exitCode(), again.out());
        assertTrue(again.err().contains("already holds ca.pem, ca-key.pem, b.pem, b-key.pem, README.txt")
                && again.err().contains("--force"), again.err());
        assertEquals(ca, Files.readString(dir.resolve("ca.pem")), "untouched");
        assertTrue(Files.notExists(dir.resolve("c.pem")), "nothing written");

        CliRun forced = CliRun.of("certs", "--dir", dir.toString(), "--names", "b,c", "--force");
        assertEquals(0, forced.exitCode(), forced.err());
        assertNotEquals(ca, Files.readString(dir.resolve("ca.pem")), "a new CA");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("c-key.pem"))));
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".new")), "no staged file left");
        }
    }

    @Test
    void anEncryptedCaKeyNeedsItsPasswordToRevokeAndANodeUsesTheCertificatesAsBefore() throws Exception {
        Path dir = temp.resolve("pki");
        Path password = temp.resolve("ca-password");
        Files.writeString(password, "s3cret pass\n");
        Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
        CliRun made = CliRun.of("certs", "--dir", dir.toString(), "--names", "a,b", "--ca-key-password-file",
                password.toString());
        assertEquals(0, made.exitCode(), made.err());
        assertTrue(made.out().contains("is encrypted under your password"), made.out());
        assertTrue(Files.readString(dir.resolve("ca-key.pem")).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assertTrue(Files.readString(dir.resolve("README.txt")).contains("--ca-key-password-file"));

        CliRun without = CliRun.of("certs", "revoke", "--dir", dir.toString(), "--name", "b");
        assertEquals(1, without.exitCode(), without.out());
        assertTrue(without.err().contains("ca-key.pem is encrypted: give its password with --ca-key-password-file"),
                without.err());
        Path wrong = temp.resolve("wrong-password");
        Files.writeString(wrong, "guess");
        Files.setPosixFilePermissions(wrong, PosixFilePermissions.fromString("rw-------"));
        CliRun guessed = CliRun.of("certs", "revoke", "--dir", dir.toString(), "--name", "b",
                "--ca-key-password-file", wrong.toString());
        assertEquals(1, guessed.exitCode(), guessed.out());
        assertTrue(guessed.err().contains("wrong password"), guessed.err());
        assertTrue(Files.notExists(dir.resolve("crl.pem")), "nothing written");

        CliRun issuedWithout = CliRun.of("certs", "issue", "--dir", dir.toString(), "--name", "c");
        assertEquals(1, issuedWithout.exitCode(), issuedWithout.out());
        assertTrue(issuedWithout.err().contains("is encrypted"), issuedWithout.err());
        CliRun issued = CliRun.of("certs", "issue", "--dir", dir.toString(), "--name", "c",
                "--ca-key-password-file", password.toString());
        assertEquals(0, issued.exitCode(), issued.err());

        CliRun revoked = CliRun.of("certs", "revoke", "--dir", dir.toString(), "--name", "b",
                "--ca-key-password-file", password.toString());
        assertEquals(0, revoked.exitCode(), revoked.err());
        assertTrue(revoked.out().contains("1 certificate(s) revoked"), revoked.out());

        // A password file others may read is refused, as for --tls-key-password-file; so is an empty password.
        Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-r--r--"));
        CliRun open = CliRun.of("certs", "--dir", temp.resolve("pki-2").toString(), "--names", "a",
                "--ca-key-password-file", password.toString());
        assertEquals(2, open.exitCode(), open.out());
        assertTrue(open.err().contains("must be readable by its owner only"), open.err());
        Path empty = temp.resolve("empty-password");
        Files.writeString(empty, "\n");
        Files.setPosixFilePermissions(empty, PosixFilePermissions.fromString("rw-------"));
        CliRun none = CliRun.of("certs", "--dir", temp.resolve("pki-3").toString(), "--names", "a",
                "--ca-key-password-file", empty.toString());
        assertEquals(2, none.exitCode(), none.out());
        assertTrue(Files.notExists(temp.resolve("pki-2")) && Files.notExists(temp.resolve("pki-3")));
    }

    @Test
    void issueAddsCertificatesFromTheSameCaAndLeavesTheRestAsTheyAre() throws Exception {
        Path dir = temp.resolve("pki");
        assertEquals(0, CliRun.of("certs", "--dir", dir.toString(), "--names", "master,a", "--days", "30").exitCode());
        String ca = Files.readString(dir.resolve("ca.pem"));
        String a = Files.readString(dir.resolve("a.pem"));

        CliRun r = CliRun.of("certs", "issue", "--dir", dir.toString(), "--name", "b,c", "--san", "10.0.0.9",
                "--days", "3650");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("the CA's own end"), "3650 days is cut to the CA's 30: " + r.out());
        assertEquals(ca, Files.readString(dir.resolve("ca.pem")), "the same CA");
        assertEquals(a, Files.readString(dir.resolve("a.pem")), "the others untouched");
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        X509Certificate caCert;
        try (var in = Files.newInputStream(dir.resolve("ca.pem"))) {
            caCert = (X509Certificate) factory.generateCertificate(in);
        }
        for (String name : List.of("b", "c")) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(name + "-key.pem"))));
            X509Certificate cert;
            try (var in = Files.newInputStream(dir.resolve(name + ".pem"))) {
                cert = (X509Certificate) factory.generateCertificate(in);
            }
            cert.verify(caCert.getPublicKey());
            assertEquals("CN=" + name, cert.getSubjectX500Principal().getName());
            assertTrue(cert.getSubjectAlternativeNames().contains(List.of(7, "10.0.0.9")), name);
            assertTrue(!cert.getNotAfter().after(caCert.getNotAfter()), name + " ends with the CA at the latest");
        }

        CliRun again = CliRun.of("certs", "issue", "--dir", dir.toString(), "--name", "c");
        assertEquals(1, again.exitCode(), again.out());
        assertTrue(again.err().contains("already holds c.pem, c-key.pem") && again.err().contains("--force"), again.err());
        assertEquals(0, CliRun.of("certs", "issue", "--dir", dir.toString(), "--name", "c", "--force").exitCode());
        CliRun noCa = CliRun.of("certs", "issue", "--dir", temp.resolve("nothing").toString(), "--name", "d");
        assertEquals(1, noCa.exitCode(), noCa.out());
        assertTrue(noCa.err().contains("no such file"), noCa.err());
        assertEquals(2, CliRun.of("certs", "issue", "--dir", dir.toString(), "--name", "ca").exitCode());
    }

    @Test
    void badOptionsAreUsageErrorsAndWriteNothing() {
        Path dir = temp.resolve("pki");
        String[][] usageErrors = {
                {"certs"},
                {"certs", "--dir", dir.toString(), "--nodes", "0"},
                {"certs", "--dir", dir.toString(), "--nodes", "many"},
                {"certs", "--dir", dir.toString(), "--nodes", "2", "--names", "a"},
                {"certs", "--dir", dir.toString(), "--names", "a,../b"},
                {"certs", "--dir", dir.toString(), "--names", "a,a"},
                {"certs", "--dir", dir.toString(), "--names", "ca"},
                {"certs", "--dir", dir.toString(), "--days", "0"},
                {"certs", "--dir", dir.toString(), "--san", "not a name"},
        };
        for (String[] args : usageErrors) {
            CliRun r = CliRun.of(args);
            assertEquals(2, r.exitCode(), String.join(" ", args) + ": " + r.err());
            assertTrue(!r.err().isBlank(), String.join(" ", args) + " says why");
        }
        assertTrue(Files.notExists(dir));
    }

    @Test
    void revokeWritesACrlThatKeepsEarlierEntriesAndThatTlsRefusesTheRevokedWith() throws Exception {
        Path dir = temp.resolve("pki");
        assertEquals(0, CliRun.of("certs", "--dir", dir.toString(), "--nodes", "3").exitCode());
        CliRun r = CliRun.of("certs", "revoke", "--dir", dir.toString(), "--name", "node-3");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("1 certificate(s) revoked") && r.out().contains("--tls-crl"), r.out());
        CliRun again = CliRun.of("certs", "revoke", "--dir", dir.toString(), "--name", "node-2", "--days", "2");
        assertEquals(0, again.exitCode(), again.err());
        assertTrue(again.out().contains("2 certificate(s) revoked"), again.out());
        Path crl = dir.resolve("crl.pem");
        var list = (java.security.cert.X509CRL) java.security.cert.CertificateFactory.getInstance("X.509")
                .generateCRL(Files.newInputStream(crl));
        assertEquals(2, list.getRevokedCertificates().size());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(crl)));

        TlsOptions masterTls = TlsOptions.builder().certificate(DevPki.cert(dir, "master"), DevPki.key(dir, "master"))
                .trustedCertificates(dir.resolve("ca.pem")).revocationList(crl).build();
        try (dev.baton.Master master = dev.baton.Master.start(dev.baton.MasterOptions.builder().tls(masterTls).build())) {
            for (String name : List.of("node-1", "node-3")) {
                NodeOptions options = NodeOptions.builder().master(master.address())
                        .name(name).joinTimeout(Duration.ofSeconds(5)).tls(TlsOptions.builder()
                                .certificate(DevPki.cert(dir, name), DevPki.key(dir, name))
                                .trustedCertificates(dir.resolve("ca.pem")).build()).build();
                if (name.equals("node-1")) {
                    Node.join(options).close();
                } else {
                    dev.baton.BatonException e = org.junit.jupiter.api.Assertions.assertThrows(
                            dev.baton.BatonException.class, () -> Node.join(options).close());
                    assertEquals(dev.baton.Status.Code.UNAUTHENTICATED, e.status().code(), e.getMessage());
                }
            }
        }

        String[][] usageErrors = {
                {"certs", "revoke", "--dir", dir.toString(), "--name", "../ca"},
                {"certs", "revoke", "--dir", dir.toString(), "--days", "0"},
                {"health", "--master", "127.0.0.1:1", "--tls-crl", crl.toString()},
        };
        for (String[] args : usageErrors) {
            CliRun u = CliRun.of(args);
            assertEquals(2, u.exitCode(), String.join(" ", args) + ": " + u.err());
        }
        CliRun missing = CliRun.of("certs", "revoke", "--dir", dir.toString(), "--name", "node-9");
        assertEquals(1, missing.exitCode());
        assertTrue(missing.err().contains("node-9.pem"), missing.err());
    }

    @Test
    void aFileWhereTheDirectoryShouldBeIsAClearError() throws Exception {
        Path file = Files.writeString(temp.resolve("occupied"), "x");
        CliRun r = CliRun.of("certs", "--dir", file.toString());
        assertEquals(1, r.exitCode());
        assertTrue(r.err().contains("exists and is not a directory"), r.err());
    }

    private static String[] cat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all.toArray(String[]::new);
    }
}
