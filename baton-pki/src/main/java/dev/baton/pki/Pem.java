package dev.baton.pki;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CRLException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.Base64;

/** PEM text ({@code -----BEGIN type-----}, base64 in 64-column lines, {@code -----END type-----}) and its files. */
public final class Pem {

    private Pem() {
    }

    /** {@code der} as one PEM block of {@code type} ("CERTIFICATE", "PRIVATE KEY"), ending in a newline. */
    public static String encode(String type, byte[] der) {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
    }

    /** {@code certificate} as a PEM {@code CERTIFICATE} block. */
    public static String certificate(X509Certificate certificate) {
        try {
            return encode("CERTIFICATE", certificate.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("cannot encode the certificate " + certificate.getSubjectX500Principal(), e);
        }
    }

    /** {@code crl} as a PEM {@code X509 CRL} block, as {@code openssl crl} writes it. */
    public static String revocationList(X509CRL crl) {
        try {
            return encode("X509 CRL", crl.getEncoded());
        } catch (CRLException e) {
            throw new IllegalStateException("cannot encode the revocation list of " + crl.getIssuerX500Principal(), e);
        }
    }

    /**
     * The bytes of the first {@code type} block of PEM {@code text}.
     *
     * @throws IllegalArgumentException when there is none, or it is not base64
     */
    public static byte[] decode(String text, String type) {
        String begin = "-----BEGIN " + type + "-----";
        String end = "-----END " + type + "-----";
        int from = text.indexOf(begin);
        int to = from < 0 ? -1 : text.indexOf(end, from);
        if (to < 0) {
            throw new IllegalArgumentException("no PEM " + type + " block (" + begin + " ... " + end + ")");
        }
        return Base64.getMimeDecoder().decode(text.substring(from + begin.length(), to));
    }

    /** {@code key} as an unencrypted PEM PKCS#8 {@code PRIVATE KEY} block. */
    public static String privateKey(PrivateKey key) {
        return encode("PRIVATE KEY", key.getEncoded());
    }

    /**
     * Writes {@code text} to {@code file}, which must not exist yet, creating it readable and writable by its owner
     * only (0600) before a byte is written: a key is never readable by others, not even for a moment. On a file
     * system without POSIX permissions it fails with {@link UnsupportedOperationException}.
     */
    public static void writeOwnerOnly(Path file, String text) throws IOException {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.US_ASCII)) {
            w.write(text);
        }
    }
}
