package dev.baton.pki;

import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PKCS8Generator;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.util.io.pem.PemGenerationException;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.cert.CRLException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.Base64;

/** PEM text ({@code -----BEGIN type-----}, base64 in 64-column lines, {@code -----END type-----}) and its files. */
public final class Pem {

    static final int PBKDF2_ITERATIONS = 600_000;
    /** BouncyCastle's provider, used here only, never installed: the JDK's lacks the PKCS7Padding name BC asks for. */
    private static final Provider BC = new BouncyCastleProvider();

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
     * {@code key} as an {@code ENCRYPTED PRIVATE KEY} block: PKCS#8 under PBES2, the key derived from
     * {@code password} by PBKDF2 with HMAC-SHA256 ({@value #PBKDF2_ITERATIONS} iterations, OWASP's figure) and a
     * random salt, encrypted with AES-256-CBC; what {@code openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256}
     * writes, and what Baton's {@code TlsOptions} and OpenSSL read.
     */
    public static String encryptedPrivateKey(PrivateKey key, char[] password) {
        if (password == null || password.length == 0) {
            throw new IllegalArgumentException("an empty password would protect nothing");
        }
        try {
            OutputEncryptor encryptor = new JceOpenSSLPKCS8EncryptorBuilder(PKCS8Generator.AES_256_CBC)
                    .setPRF(PKCS8Generator.PRF_HMACSHA256).setIterationCount(PBKDF2_ITERATIONS)
                    .setRandom(new SecureRandom()).setProvider(BC).setPassword(password).build();
            return encode("ENCRYPTED PRIVATE KEY", new JcaPKCS8Generator(key, encryptor).generate().getContent());
        } catch (OperatorCreationException | PemGenerationException e) {
            throw new IllegalStateException("cannot encrypt the key: " + e.getMessage(), e);
        }
    }

    /** True when {@code text} holds an {@code ENCRYPTED PRIVATE KEY} block. */
    public static boolean isEncryptedPrivateKey(String text) {
        return text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----");
    }

    /**
     * The key of the {@code ENCRYPTED PRIVATE KEY} block of {@code text}, decrypted with {@code password}.
     *
     * @throws IllegalArgumentException without a password ("is encrypted"), with a wrong one ("wrong password"),
     *                                  or when the block is not an encrypted PKCS#8 key
     */
    public static PrivateKey decryptPrivateKey(String text, char[] password) {
        if (password == null) {
            throw new IllegalArgumentException("the key is encrypted: give its password");
        }
        PKCS8EncryptedPrivateKeyInfo info;
        try {
            info = new PKCS8EncryptedPrivateKeyInfo(decode(text, "ENCRYPTED PRIVATE KEY"));
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("not an encrypted PKCS#8 key: " + e.getMessage(), e);
        }
        try {
            return new JcaPEMKeyConverter().getPrivateKey(info.decryptPrivateKeyInfo(
                    new JceOpenSSLPKCS8DecryptorProviderBuilder().setProvider(BC).build(password)));
        } catch (PKCSException | OperatorCreationException | IOException | RuntimeException e) {
            throw new IllegalArgumentException("wrong password for the encrypted key (" + e.getMessage() + ")", e);
        }
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
