package dev.baton.pki;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(60)
class CertificateAuthorityTest {

    private static final Instant FROM = Instant.now().minus(Duration.ofHours(1));
    private static final Instant TO = FROM.plus(Duration.ofDays(2));

    @Test
    void issuedCertificatesChainToTheCaForClientAndServerAuthenticationWithTheirNames() throws Exception {
        CertificateAuthority ca = CertificateAuthority.create("test-ca", FROM, TO);
        IssuedCertificate leaf = ca.issue("node-1", KeyKind.EC_P256, FROM, TO,
                List.of("node-1", "localhost", "127.0.0.1", "::1", "localhost"));
        X509Certificate cert = leaf.certificate();

        assertEquals("CN=node-1", cert.getSubjectX500Principal().getName());
        assertEquals(-1, cert.getBasicConstraints(), "not a CA");
        assertEquals(List.of("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"), cert.getExtendedKeyUsage());
        assertEquals(Set.of(List.of(2, "node-1"), List.of(2, "localhost"), List.of(7, "127.0.0.1"),
                List.of(7, "0:0:0:0:0:0:0:1")), Set.copyOf(cert.getSubjectAlternativeNames()), "duplicates dropped");
        assertTrue(ca.certificate().getBasicConstraints() >= 0, "the CA is a CA");

        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(ca.certificate(), null)));
        params.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX").validate(
                CertificateFactory.getInstance("X.509").generateCertPath(List.of(cert)), params);
    }

    @Test
    void pemRoundTripsThroughTheJdkAndRsaKeysWork() throws Exception {
        CertificateAuthority ca = CertificateAuthority.create("test-ca", FROM, TO);
        IssuedCertificate rsa = ca.issue("rsa", KeyKind.RSA_2048, FROM, TO, List.of());
        String pem = rsa.certificatePem();
        assertTrue(pem.startsWith("-----BEGIN CERTIFICATE-----\n") && pem.endsWith("-----END CERTIFICATE-----\n"));
        X509Certificate read = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
        assertEquals(rsa.certificate(), read);
        assertEquals("RSA", read.getPublicKey().getAlgorithm());
        assertTrue(rsa.privateKeyPem().startsWith("-----BEGIN PRIVATE KEY-----\n"));
    }

    @Test
    void anEncryptedCaKeyReadsBackWithItsPasswordOnlyAndTheJdkDecryptsItToo() throws Exception {
        CertificateAuthority ca = CertificateAuthority.create("test-ca", FROM, TO);
        char[] password = "correct horse".toCharArray();
        String key = ca.privateKeyPem(password);
        assertTrue(key.startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"), key);
        assertTrue(!key.contains(java.util.Base64.getEncoder().encodeToString(ca.keys().getPrivate().getEncoded())));

        CertificateAuthority back = CertificateAuthority.fromPem(ca.certificatePem(), key, password);
        assertEquals(ca.keys().getPrivate(), back.keys().getPrivate());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> CertificateAuthority.fromPem(ca.certificatePem(), key));
        assertTrue(none.getMessage().contains("the key is encrypted: give its password"), none.getMessage());
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class,
                () -> CertificateAuthority.fromPem(ca.certificatePem(), key, "wrong".toCharArray()));
        assertTrue(wrong.getMessage().contains("wrong password"), wrong.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ca.privateKeyPem(new char[0]));

        // PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, which the JDK itself reads (as Baton's TlsOptions do).
        var info = new javax.crypto.EncryptedPrivateKeyInfo(Pem.decode(key, "ENCRYPTED PRIVATE KEY"));
        var secret = javax.crypto.SecretKeyFactory.getInstance(info.getAlgName())
                .generateSecret(new javax.crypto.spec.PBEKeySpec(password));
        javax.crypto.Cipher cipher = javax.crypto.Cipher.getInstance(info.getAlgName());
        cipher.init(javax.crypto.Cipher.DECRYPT_MODE, secret, info.getAlgParameters());
        assertEquals(ca.keys().getPrivate(), java.security.KeyFactory.getInstance("EC")
                .generatePrivate(info.getKeySpec(cipher)));
    }

    @Test
    void revocationListsAreSignedByTheCaListTheRevokedAndParseAsPem() throws Exception {
        CertificateAuthority ca = CertificateAuthority.create("test-ca", FROM, TO);
        X509Certificate revoked = ca.issue("bad", KeyKind.EC_P256, FROM, TO, List.of()).certificate();
        X509Certificate kept = ca.issue("good", KeyKind.EC_P256, FROM, TO, List.of()).certificate();
        Instant now = Instant.now();
        String pem = Pem.revocationList(ca.revocationList(List.of(revoked), now, now.plus(Duration.ofDays(1))));
        assertTrue(pem.startsWith("-----BEGIN X509 CRL-----\n"), pem);
        java.security.cert.X509CRL crl = (java.security.cert.X509CRL) CertificateFactory.getInstance("X.509")
                .generateCRL(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
        crl.verify(ca.certificate().getPublicKey());
        assertEquals(ca.certificate().getSubjectX500Principal(), crl.getIssuerX500Principal());
        assertTrue(crl.isRevoked(revoked));
        assertTrue(!crl.isRevoked(kept));
        assertEquals(now.plus(Duration.ofDays(1)).getEpochSecond(), crl.getNextUpdate().toInstant().getEpochSecond());
        assertThrows(IllegalArgumentException.class, () -> ca.revocationList(List.of(), now, now));

        // The CA read back from its PEM files signs lists its certificate verifies.
        CertificateAuthority again = CertificateAuthority.fromPem(ca.certificatePem(), ca.privateKeyPem());
        assertEquals("test-ca", again.name());
        again.revocationList(List.of(kept), now, now.plusSeconds(60)).verify(ca.certificate().getPublicKey());
        CertificateAuthority other = CertificateAuthority.create("other", FROM, TO);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CertificateAuthority.fromPem(ca.certificatePem(), other.privateKeyPem()));
        assertTrue(e.getMessage().contains("not the key of the CA certificate CN=test-ca"), e.getMessage());
    }

    @Test
    void certificatesNameTheirRevocationSourcesAndTheCaAnswersOcspRequests() throws Exception {
        CertificateAuthority ca = CertificateAuthority.create("test-ca", FROM, TO);
        URI crl = URI.create("http://127.0.0.1:8080/ca.crl");
        URI ocsp = URI.create("http://127.0.0.1:8080/ocsp");
        X509Certificate leaf = ca.issue("n", KeyKind.EC_P256, FROM, TO, List.of(),
                new RevocationSources(List.of(crl), List.of(ocsp))).certificate();
        assertTrue(leaf.getExtensionValue("2.5.29.31") != null, "a CRL distribution points extension");
        assertTrue(leaf.getExtensionValue("1.3.6.1.5.5.7.1.1") != null, "an authority information access extension");
        assertTrue(new String(leaf.getEncoded(), StandardCharsets.ISO_8859_1).contains(ocsp.toString()));
        assertThrows(IllegalArgumentException.class, () -> RevocationSources.ocsp(URI.create("ldap://x/y")));

        // An OCSP request that does not parse gets the malformedRequest status (1), not an exception.
        org.bouncycastle.cert.ocsp.OCSPResp malformed = new org.bouncycastle.cert.ocsp.OCSPResp(
                ca.ocspResponse(new byte[] {1, 2, 3}, java.util.Map.of(), FROM, TO));
        assertEquals(org.bouncycastle.cert.ocsp.OCSPResp.MALFORMED_REQUEST, malformed.getStatus());
    }

    @Test
    void badNamesAndValiditiesAreRefusedWithTheReason() {
        CertificateAuthority ca = CertificateAuthority.create("test-ca", FROM, TO);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ca.issue("x", KeyKind.EC_P256, FROM, TO, List.of("not a name")));
        assertTrue(e.getMessage().contains("'not a name' is neither an IP address nor a DNS name"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CertificateAuthority.checkAlternativeName("a..b"));
        assertThrows(IllegalArgumentException.class, () -> ca.issue("x", KeyKind.EC_P256, TO, FROM, List.of()));
        assertThrows(IllegalArgumentException.class, () -> CertificateAuthority.create(" ", FROM, TO));
    }

    @Test
    void ownerOnlyFilesAreCreatedThatWayAndNeverOverwritten(@TempDir Path dir) throws Exception {
        Path key = dir.resolve("k.pem");
        Pem.writeOwnerOnly(key, "secret\n");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
        assertEquals("secret\n", Files.readString(key));
        assertThrows(FileAlreadyExistsException.class, () -> Pem.writeOwnerOnly(key, "other\n"));
    }
}
