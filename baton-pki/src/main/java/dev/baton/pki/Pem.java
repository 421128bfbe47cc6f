package dev.baton.pki;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
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
