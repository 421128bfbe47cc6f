package dev.baton.internal.tls;

import com.code_intelligence.jazzer.junit.FuzzTest;

import dev.baton.fuzz.SeedCorpus;
import dev.baton.pki.CertificateAuthority;
import dev.baton.pki.KeyKind;
import dev.baton.pki.RevocationSources;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.net.URI;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CRL distribution points of a peer's certificate ({@link DistributionPoints}): the URIs of certificates that
 * name them, and, fuzzed, any bytes as the extension's value: no exception, at most the cap of URIs, every one an
 * http URI with a host.
 */
@Timeout(60)
class DistributionPointsFuzzTest {

    private static final Instant NOW = Instant.now();
    private static final CertificateAuthority CA = CertificateAuthority.create("points-ca", NOW.minusSeconds(60),
            NOW.plus(Duration.ofDays(1)));

    private static X509Certificate naming(List<URI> points) {
        return CA.issue("leaf", KeyKind.EC_P256, NOW.minusSeconds(60), NOW.plus(Duration.ofDays(1)), List.of(),
                new RevocationSources(points, List.of())).certificate();
    }

    @Test
    void theHttpPointsOfACertificateInOrderAndNoneWithoutTheExtension() {
        List<URI> two = List.of(URI.create("http://crl.example/ca.crl"), URI.create("http://127.0.0.1:8080/b.crl"));
        assertEquals(two, DistributionPoints.httpUris(naming(two)));
        assertEquals(List.of(), DistributionPoints.httpUris(naming(List.of())));
        assertEquals(List.of(), DistributionPoints.httpUris(CA.certificate()));
    }

    @Test
    void atMostTheCapOfPointsIsRead() {
        List<URI> many = List.of(URI.create("http://a/1"), URI.create("http://a/2"), URI.create("http://a/3"),
                URI.create("http://a/4"), URI.create("http://a/5"), URI.create("http://a/6"));
        assertEquals(many.subList(0, DistributionPoints.MAX_URIS), DistributionPoints.httpUris(naming(many)));
    }

    @Test
    void everyTruncationOfAGoodExtensionYieldsAPrefixOfItsPoints() {
        List<URI> two = List.of(URI.create("http://crl.example/ca.crl"), URI.create("http://127.0.0.1:8080/b.crl"));
        byte[] ext = naming(two).getExtensionValue(DistributionPoints.OID);
        for (int n = 0; n < ext.length; n++) {
            List<URI> read = DistributionPoints.httpUris(Arrays.copyOf(ext, n));
            assertEquals(two.subList(0, read.size()), read, "truncated to " + n + " bytes");
        }
    }

    @FuzzTest
    void anyBytesYieldOnlyHttpUrisAndNeverThrow(byte[] input) {
        List<URI> uris = DistributionPoints.httpUris(input);
        assertTrue(uris.size() <= DistributionPoints.MAX_URIS, uris.toString());
        for (URI u : uris) {
            assertEquals("http", u.getScheme().toLowerCase(java.util.Locale.ROOT), u.toString());
            assertTrue(u.getHost() != null, u.toString());
        }
    }

    @Test
    @EnabledIfSystemProperty(named = SeedCorpus.PROPERTY, matches = "true")
    void writesSeeds() {
        SeedCorpus seeds = SeedCorpus.of(DistributionPointsFuzzTest.class, "anyBytesYieldOnlyHttpUrisAndNeverThrow");
        seeds.write("one", naming(List.of(URI.create("http://crl.example/ca.crl"))).getExtensionValue(
                DistributionPoints.OID));
        seeds.write("two", naming(List.of(URI.create("http://a.example/1.crl"), URI.create("http://b:81/2")))
                .getExtensionValue(DistributionPoints.OID));
    }
}
