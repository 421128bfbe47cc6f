package dev.baton.internal.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CRLException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** Reads the blocks of a PEM file ({@code -----BEGIN type-----} base64 {@code -----END type-----}). */
final class Pem {

    /** Files larger than this are not PEM certificates or keys anyone means: refused before reading. */
    static final long MAX_FILE_BYTES = 1 << 20;
    /** Revocation lists of a large CA run to megabytes; past this a file is refused before reading. */
    static final long MAX_CRL_FILE_BYTES = 64L << 20;

    /** One block: its type ("CERTIFICATE", "PRIVATE KEY", ...) and its decoded bytes. */
    record Block(String type, byte[] der) {
    }

    private Pem() {
    }

    static List<Block> read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
            throw new IOException(file + " is " + size + " bytes, larger than any PEM file of certificates or keys");
        }
        return parse(file, Files.readString(file, StandardCharsets.US_ASCII));
    }

    private static List<Block> parse(Path file, String text) throws IOException {
        List<Block> blocks = new ArrayList<>();
        int at = 0;
        while (true) {
            int begin = text.indexOf("-----BEGIN ", at);
            if (begin < 0) {
                return blocks;
            }
            int typeEnd = text.indexOf("-----", begin + 11);
            if (typeEnd < 0) {
                throw new IOException(file + ": a BEGIN line without its closing dashes");
            }
            String type = text.substring(begin + 11, typeEnd);
            String endMarker = "-----END " + type + "-----";
            int end = text.indexOf(endMarker, typeEnd + 5);
            if (end < 0) {
                throw new IOException(file + ": '" + type + "' has no END line");
            }
            try {
                blocks.add(new Block(type, Base64.getMimeDecoder().decode(text.substring(typeEnd + 5, end))));
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": '" + type + "' is not valid base64: " + e.getMessage(), e);
            }
            at = end + endMarker.length();
        }
    }

    /**
     * The certificate revocation lists of {@code file}: one DER CRL, or every {@code X509 CRL} block of a PEM file;
     * at least one. A CRL that does not parse fails the whole file, naming it.
     */
    static List<X509CRL> crls(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_CRL_FILE_BYTES) {
            throw new IOException(file + " is " + size + " bytes, larger than Baton reads for revocation lists");
        }
        byte[] bytes = Files.readAllBytes(file);
        List<X509CRL> crls = new ArrayList<>();
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            if (bytes.length > 0 && bytes[0] == 0x30) {          // a DER SEQUENCE: one binary CRL
                crls.add((X509CRL) factory.generateCRL(new ByteArrayInputStream(bytes)));
            } else {
                for (Block b : parse(file, new String(bytes, StandardCharsets.US_ASCII))) {
                    if (b.type().equals("X509 CRL")) {
                        crls.add((X509CRL) factory.generateCRL(new ByteArrayInputStream(b.der())));
                    }
                }
            }
        } catch (CRLException | CertificateException e) {
            throw new IOException(file + ": not a valid X.509 CRL: " + e.getMessage(), e);
        }
        if (crls.isEmpty()) {
            throw new IOException(file + " holds no certificate revocation list (DER, or PEM -----BEGIN X509 CRL-----)");
        }
        return crls;
    }

    /** Every CERTIFICATE block of {@code file}, in order; at least one. */
    static List<X509Certificate> certificates(Path file) throws IOException {
        List<X509Certificate> certs = new ArrayList<>();
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            for (Block b : read(file)) {
                if (b.type().equals("CERTIFICATE")) {
                    certs.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(b.der())));
                }
            }
        } catch (CertificateException e) {
            throw new IOException(file + ": not a valid X.509 certificate: " + e.getMessage(), e);
        }
        if (certs.isEmpty()) {
            throw new IOException(file + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }
        return certs;
    }
}
