package dev.baton.internal.tls;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The http URIs of a certificate's CRL distribution points extension (RFC 5280, 4.2.1.13): where its issuer
 * publishes the revocation list that covers it.
 *
 * <p>The JDK parses the extension only inside its own revocation checker, so this reads its DER: the extension's
 * OCTET STRING holds a SEQUENCE of DistributionPoint SEQUENCEs, each of which may start with a {@code [0]}
 * distributionPoint whose {@code [0]} fullName lists GeneralNames, of which {@code [6]} is a URI. Everything else
 * (relative names, reasons, CRL issuers, other kinds of names and URIs other than http) is skipped. The bytes come
 * from a peer's certificate: every length is checked against what encloses it, and a malformed extension yields
 * what was read before the fault, never an exception. At most {@link #MAX_URIS} URIs of at most
 * {@link #MAX_URI_CHARS} characters each.
 */
final class DistributionPoints {

    static final String OID = "2.5.29.31";
    static final int MAX_URIS = 4;
    static final int MAX_URI_CHARS = 1024;

    private static final int OCTET_STRING = 0x04;
    private static final int SEQUENCE = 0x30;
    private static final int CONTEXT_0_CONSTRUCTED = 0xA0;
    private static final int CONTEXT_6_PRIMITIVE = 0x86;

    private DistributionPoints() {
    }

    /** The http distribution points {@code cert} names, in order; empty without the extension. */
    static List<URI> httpUris(X509Certificate cert) {
        byte[] ext = cert.getExtensionValue(OID);
        return ext == null ? List.of() : httpUris(ext);
    }

    /** The same, from the extension's encoded value as {@link X509Certificate#getExtensionValue} returns it. */
    static List<URI> httpUris(byte[] ext) {
        List<URI> uris = new ArrayList<>();
        Element octets = read(ext, 0, ext.length);
        if (octets.tag() != OCTET_STRING) {
            return uris;
        }
        Element points = read(ext, octets.start(), octets.end());
        if (points.tag() != SEQUENCE) {
            return uris;
        }
        for (int p = points.start(); p < points.end() && uris.size() < MAX_URIS; ) {
            Element point = read(ext, p, points.end());
            if (point.tag() != SEQUENCE) {
                return uris;
            }
            p = point.end();
            Element name = read(ext, point.start(), point.end());
            if (name.tag() != CONTEXT_0_CONSTRUCTED) {
                continue;   // no distributionPoint: only reasons or a CRL issuer
            }
            Element fullName = read(ext, name.start(), name.end());
            if (fullName.tag() != CONTEXT_0_CONSTRUCTED) {
                continue;   // a name relative to the CRL issuer
            }
            for (int g = fullName.start(); g < fullName.end() && uris.size() < MAX_URIS; ) {
                Element general = read(ext, g, fullName.end());
                if (general.tag() < 0) {
                    return uris;
                }
                g = general.end();
                if (general.tag() == CONTEXT_6_PRIMITIVE) {
                    URI uri = http(ext, general.start(), general.end());
                    if (uri != null) {
                        uris.add(uri);
                    }
                }
            }
        }
        return uris;
    }

    private static URI http(byte[] b, int start, int end) {
        if (end - start > MAX_URI_CHARS) {
            return null;
        }
        String text = new String(b, start, end - start, StandardCharsets.US_ASCII);
        try {
            URI uri = new URI(text);
            if (uri.getScheme() != null && uri.getScheme().toLowerCase(Locale.ROOT).equals("http")
                    && uri.getHost() != null) {
                return uri;
            }
        } catch (java.net.URISyntaxException e) {
            // not a URI: skipped
        }
        return null;
    }

    /** One DER element: its tag, and where its content starts and ends; tag -1 when the bytes do not hold one. */
    private record Element(int tag, int start, int end) {
        static final Element MALFORMED = new Element(-1, 0, 0);
    }

    /** The DER element at {@code at} in {@code b}, with a one-byte tag and a definite length, ending by {@code limit}. */
    private static Element read(byte[] b, int at, int limit) {
        if (at < 0 || limit > b.length || at + 2 > limit) {
            return Element.MALFORMED;
        }
        int tag = b[at] & 0xFF;
        if ((tag & 0x1F) == 0x1F) {
            return Element.MALFORMED;       // a multi-byte tag: none of those is read here
        }
        int first = b[at + 1] & 0xFF;
        int start = at + 2;
        long length;
        if (first < 0x80) {
            length = first;
        } else {
            int n = first & 0x7F;
            if (n == 0 || n > 3 || start + n > limit) {
                return Element.MALFORMED;   // indefinite, or longer than a certificate can be
            }
            length = 0;
            for (int i = 0; i < n; i++) {
                length = length << 8 | (b[start + i] & 0xFF);
            }
            start += n;
        }
        if (length > limit - start) {
            return Element.MALFORMED;
        }
        return new Element(tag, start, start + (int) length);
    }
}
