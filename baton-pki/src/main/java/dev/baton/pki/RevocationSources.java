package dev.baton.pki;

import java.net.URI;
import java.util.List;

/**
 * Where a certificate says its revocation status is published: the CRL distribution points (RFC 5280, 4.2.1.13) that
 * serve the revocation list covering it, and the OCSP responders (its Authority Information Access, 4.2.2.1) that
 * answer for it. Each an absolute http URI.
 *
 * @param crlDistributionPoints where the issuing CA's revocation list can be fetched; none: no such extension
 * @param ocspResponders        where an OCSP request about the certificate can be sent; none: no such extension
 */
public record RevocationSources(List<URI> crlDistributionPoints, List<URI> ocspResponders) {

    /** A certificate that names neither. */
    public static final RevocationSources NONE = new RevocationSources(List.of(), List.of());

    /** @throws IllegalArgumentException when a URI is not an absolute http URI with a host */
    public RevocationSources {
        crlDistributionPoints = List.copyOf(crlDistributionPoints);
        ocspResponders = List.copyOf(ocspResponders);
        for (URI uri : crlDistributionPoints) {
            checkHttp(uri);
        }
        for (URI uri : ocspResponders) {
            checkHttp(uri);
        }
    }

    /** A certificate naming these CRL distribution points. */
    public static RevocationSources crl(URI... distributionPoints) {
        return new RevocationSources(List.of(distributionPoints), List.of());
    }

    /** A certificate naming this OCSP responder. */
    public static RevocationSources ocsp(URI responder) {
        return new RevocationSources(List.of(), List.of(responder));
    }

    private static void checkHttp(URI uri) {
        if (!"http".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("a revocation source must be an absolute http URI: " + uri);
        }
    }
}
