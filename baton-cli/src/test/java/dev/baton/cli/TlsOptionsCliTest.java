package dev.baton.cli;

import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.testkit.tls.TestPki;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --tls-cert}, {@code --tls-key} and {@code --tls-ca} against a real master and node over TLS. */
@Timeout(60)
class TlsOptionsCliTest {

    @Test
    void healthAndStatusReachATlsClusterWithTheTlsOptionsAndNotWithout() throws Exception {
        try (TestPki pki = TestPki.create()) {
            TestPki.Ca ca = pki.ca("cli-ca");
            TestPki.Issued tool = pki.issue(ca, "tool");
            TestPki.Issued n = pki.issue(ca, "n");
            try (Master master = Master.start(MasterOptions.builder().tls(pki.options(pki.issue(ca, "master"), ca)).build());
                 Node node = Node.join(NodeOptions.builder().master(master.address()).name("n")
                         .tls(pki.options(n, ca)).build())) {
                String m = BatonCli.hostPort(master.address());
                String[] tls = {"--tls-cert", tool.certFile().toString(), "--tls-key", tool.keyFile().toString(),
                        "--tls-ca", ca.certFile().toString()};
                CliRun health = CliRun.of(concat(new String[] {"health", "--node", BatonCli.hostPort(node.address())},
                        tls));
                assertEquals(0, health.exitCode(), health.err());
                assertTrue(health.out().startsWith("serving"), health.out());

                CliRun status = CliRun.of(concat(new String[] {"status", "--master", m, "--interval", "0s"}, tls));
                assertEquals(0, status.exitCode(), status.err());
                assertTrue(status.out().contains("n"), status.out());
                CliRun json = CliRun.of(concat(new String[] {"status", "--master", m, "--interval", "0s", "--json"},
                        tls));
                assertEquals(0, json.exitCode(), json.err());
                var joined = com.google.gson.JsonParser.parseString(json.out()).getAsJsonObject()
                        .getAsJsonArray("nodes").get(0).getAsJsonObject();
                assertEquals("CN=n", joined.get("principal").getAsString(), json.out());   // what it joined with

                // --tls-crl: the tool refuses a node whose certificate the list revokes, not one it does not.
                java.nio.file.Path crl = pki.dir().resolve("crl.pem");
                pki.revocationList(crl, ca, java.time.Duration.ofDays(1));
                String[] withCrl = concat(tls, new String[] {"--tls-crl", crl.toString()});
                String[] healthOfNode = {"health", "--node", BatonCli.hostPort(node.address()), "--timeout", "3s"};
                CliRun listed = CliRun.of(concat(healthOfNode, withCrl));
                assertEquals(0, listed.exitCode(), listed.err());
                pki.revocationList(crl, ca, java.time.Duration.ofDays(1), n);
                CliRun revoked = CliRun.of(concat(healthOfNode, withCrl));
                assertEquals(1, revoked.exitCode(), revoked.out());
                assertTrue((revoked.out() + revoked.err()).contains("revoked"), revoked.out() + revoked.err());

                // --tls-cipher-suites: a suite the cluster offers works; an unknown one is a usage error.
                CliRun aes = CliRun.of(concat(healthOfNode, concat(tls,
                        new String[] {"--tls-cipher-suites", "TLS_CHACHA20_POLY1305_SHA256,TLS_AES_256_GCM_SHA384"})));
                assertEquals(0, aes.exitCode(), aes.err());
                CliRun bogus = CliRun.of(concat(healthOfNode, concat(tls,
                        new String[] {"--tls-cipher-suites", "TLS_BOGUS"})));
                assertEquals(2, bogus.exitCode());
                assertTrue(bogus.err().contains("does not support [TLS_BOGUS]"), bogus.err());

                // --tls-crl-fetch and --tls-ocsp: with certificates that name no distribution point or responder,
                // nothing is fetched or asked and the tool works (even when hard: there is nothing to ask); an OCSP
                // interval under a second is refused, and so is a hard mode with no online check.
                CliRun online = CliRun.of(concat(healthOfNode, concat(tls,
                        new String[] {"--tls-crl-fetch", "--tls-ocsp", "5m", "--tls-revocation-required"})));
                assertEquals(0, online.exitCode(), online.err());
                CliRun hardAlone = CliRun.of(concat(healthOfNode, concat(tls,
                        new String[] {"--tls-revocation-required"})));
                assertEquals(2, hardAlone.exitCode());
                assertTrue(hardAlone.err().contains("--tls-revocation-required needs an online check"),
                        hardAlone.err());
                CliRun tooOften = CliRun.of(concat(healthOfNode, concat(tls, new String[] {"--tls-ocsp", "500ms"})));
                assertEquals(2, tooOften.exitCode());
                assertTrue(tooOften.err().contains("--tls-ocsp: askOcspResponders must be at least 1 s"),
                        tooOften.err());

                // --tls-key-password-file: an encrypted key with its password file (owner-only); a file others
                // may read is refused.
                char[] secret = "tool-key-password".toCharArray();
                java.nio.file.Path encrypted = pki.encryptedKeyFile(tool, secret);
                java.nio.file.Path passwordFile = pki.dir().resolve("tool-key.pass");
                java.nio.file.Files.writeString(passwordFile, new String(secret) + "\n");
                java.nio.file.Files.setPosixFilePermissions(passwordFile,
                        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
                String[] encryptedTls = {"--tls-cert", tool.certFile().toString(), "--tls-key", encrypted.toString(),
                        "--tls-ca", ca.certFile().toString(), "--tls-key-password-file", passwordFile.toString()};
                CliRun withPassword = CliRun.of(concat(healthOfNode, encryptedTls));
                assertEquals(0, withPassword.exitCode(), withPassword.err());
                java.nio.file.Files.setPosixFilePermissions(passwordFile,
                        java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
                CliRun exposed = CliRun.of(concat(healthOfNode, encryptedTls));
                assertEquals(2, exposed.exitCode());
                assertTrue(exposed.err().contains("chmod 600"), exposed.err());

                CliRun plain = CliRun.of("health", "--master", m, "--timeout", "2s");
                assertEquals(1, plain.exitCode(), plain.out());

                CliRun half = CliRun.of("health", "--master", m, "--tls-cert", tool.certFile().toString());
                assertEquals(2, half.exitCode());
                assertTrue(half.err().contains("go together"), half.err());
            }
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

}
