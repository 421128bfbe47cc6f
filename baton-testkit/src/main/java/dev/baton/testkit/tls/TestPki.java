package dev.baton.testkit.tls;

import dev.baton.TlsOptions;
import dev.baton.pki.CertificateAuthority;
import dev.baton.pki.RevocationSources;
import dev.baton.pki.IssuedCertificate;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PKCS8Generator;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.OutputEncryptor;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Certificates for tests, made in a temporary directory: CAs and the certificates they issue (EC P-256 or RSA
 * 2048), written as PEM files (chain, PKCS#8 key) or PKCS#12 stores, and {@link TlsOptions} over them. The
 * certificates are baton-pki's ({@link CertificateAuthority}, the generator {@code bin/baton certs} uses too); this
 * class names the files and picks test validities. {@link #close()} deletes the directory.
 *
 * <pre>{@code
 * try (TestPki pki = TestPki.create()) {
 *     TestPki.Ca ca = pki.ca("test-ca");
 *     TestPki.Issued node = pki.issue(ca, "node-1");
 *     TlsOptions tls = pki.options(node, ca);
 * }
 * }</pre>
 *
 * <p>Not thread-safe.
 */
public final class TestPki implements AutoCloseable {

    /** The key algorithm of an issued certificate. */
    public enum KeyKind { EC, RSA }

    /** A certificate authority: its key pair and self-signed certificate (also written as {@link #certFile}). */
    public record Ca(String name, KeyPair keys, X509Certificate certificate, Path certFile,
                     CertificateAuthority authority) {
    }

    /** An issued certificate with its key, written as a PEM chain and a PEM PKCS#8 key. */
    public record Issued(String name, KeyPair keys, X509Certificate certificate, Path certFile, Path keyFile) {
        /** The SHA-256 fingerprint of the certificate, as {@link TlsOptions.Builder#pinSha256} takes it. */
        public String sha256() {
            return fingerprint(certificate);
        }

        /** The subject as {@code X500Principal.getName()} prints it: what {@code peerPrincipal()} reports. */
        public String subject() {
            return certificate.getSubjectX500Principal().getName();
        }
    }

    private static final AtomicLong SERIALS = new AtomicLong(System.currentTimeMillis());
    private final Path dir;

    private TestPki(Path dir) {
        this.dir = dir;
    }

    public static TestPki create() {
        try {
            return new TestPki(Files.createTempDirectory("baton-pki-"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path dir() {
        return dir;
    }

    /** A new self-signed CA named {@code CN=name}, valid from an hour ago for 30 days. */
    public Ca ca(String name) {
        Instant now = Instant.now();
        CertificateAuthority authority = CertificateAuthority.create(name, now.minus(Duration.ofHours(1)),
                now.plus(Duration.ofDays(30)));
        Path file = dir.resolve(name + "-ca.crt");
        write(file, authority.certificatePem());
        return new Ca(name, authority.keys(), authority.certificate(), file, authority);
    }

    /** An EC certificate for {@code CN=name} (also naming 127.0.0.1 and {@code name}) issued by {@code ca}. */
    public Issued issue(Ca ca, String name) {
        return issue(ca, name, KeyKind.EC, Duration.ofDays(7));
    }

    /**
     * A certificate for {@code CN=name} issued by {@code ca}, valid from an hour ago for {@code validity} (negative:
     * expired a minute ago, after a day of validity), for both client and server authentication, naming IP
     * 127.0.0.1 and DNS {@code name}.
     */
    public Issued issue(Ca ca, String name, KeyKind kind, Duration validity) {
        return issue(ca, name, kind, validity, RevocationSources.NONE);
    }

    /** An EC certificate as {@link #issue(Ca, String)} makes, also naming where its revocation status is published. */
    public Issued issue(Ca ca, String name, RevocationSources sources) {
        return issue(ca, name, KeyKind.EC, Duration.ofDays(7), sources);
    }

    private Issued issue(Ca ca, String name, KeyKind kind, Duration validity, RevocationSources sources) {
        Instant now = Instant.now();
        Instant from = validity.isNegative() ? now.minus(Duration.ofMinutes(1)).minus(Duration.ofDays(1))
                : now.minus(Duration.ofHours(1));
        Instant to = validity.isNegative() ? now.minus(Duration.ofMinutes(1)) : now.plus(validity);
        IssuedCertificate issued = ca.authority().issue(name,
                kind == KeyKind.RSA ? dev.baton.pki.KeyKind.RSA_2048 : dev.baton.pki.KeyKind.EC_P256, from, to,
                List.of("127.0.0.1", name), sources);
        long serial = SERIALS.incrementAndGet();
        Path certFile = dir.resolve(name + "-" + serial + ".crt");
        Path keyFile = dir.resolve(name + "-" + serial + ".key");
        write(certFile, issued.certificatePem());
        write(keyFile, issued.privateKeyPem());
        return new Issued(name, issued.keys(), issued.certificate(), certFile, keyFile);
    }

    /** Options presenting {@code identity}'s PEM files and trusting {@code trusted}'s PEM certificate. */
    public TlsOptions options(Issued identity, Ca trusted) {
        return TlsOptions.builder().certificate(identity.certFile(), identity.keyFile())
                .trustedCertificates(trusted.certFile()).build();
    }

    /**
     * The JDK's own TLS 1.3 context presenting {@code identity} and trusting {@code trusted}: a peer that speaks TLS
     * without Baton's transport (a raw socket, an {@code SSLEngine} a test drives), for tests of what Baton does with
     * what such a peer sends.
     */
    public SSLContext jdkContext(Issued identity, Ca trusted) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            char[] password = new char[0];
            ks.setKeyEntry("key", identity.keys().getPrivate(), password, new Certificate[] {identity.certificate()});
            KeyStore ts = KeyStore.getInstance("PKCS12");
            ts.load(null, null);
            ts.setCertificateEntry("ca", trusted.certificate());
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, password);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(ts);
            SSLContext c = SSLContext.getInstance("TLSv1.3");
            c.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return c;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * {@code issued}'s private key as PEM {@code ENCRYPTED PRIVATE KEY} under {@code password}: PKCS#8 with PBES2,
     * AES-256-CBC and HMAC-SHA256, as {@code openssl pkcs8 -topk8 -v2 aes-256-cbc} writes it (written by BouncyCastle,
     * not by the JDK that reads it).
     */
    public Path encryptedKeyFile(Issued issued, char[] password) {
        Path file = dir.resolve(issued.name() + "-" + SERIALS.incrementAndGet() + "-encrypted.key");
        try (JcaPEMWriter out = new JcaPEMWriter(Files.newBufferedWriter(file))) {
            OutputEncryptor encryptor = new JceOpenSSLPKCS8EncryptorBuilder(PKCS8Generator.AES_256_CBC)
                    .setProvider(new BouncyCastleProvider()).setPRF(PKCS8Generator.PRF_HMACSHA256)
                    .setPassword(password).build();
            out.writeObject(new JcaPKCS8Generator(issued.keys().getPrivate(), encryptor));
        } catch (IOException | OperatorCreationException e) {
            throw new IllegalStateException(e);
        }
        return file;
    }

    /** {@code issued}'s key and certificate as a PKCS#12 store with {@code password}. */
    public Path keyStore(Issued issued, char[] password) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("key", issued.keys().getPrivate(), password, new Certificate[] {issued.certificate()});
            return store(ks, issued.name() + "-" + SERIALS.incrementAndGet() + ".p12", password);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code ca}'s certificate as a PKCS#12 trust store with {@code password}. */
    public Path trustStore(Ca ca, char[] password) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setCertificateEntry("ca", ca.certificate());
            return store(ks, ca.name() + "-trust-" + SERIALS.incrementAndGet() + ".p12", password);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Replaces {@code target}'s files with {@code source}'s, each by an atomic move, the certificate first: what a
     * rotation script does. The files' modification times move forward by at least a second so that a change is
     * seen however coarse the file system's clock.
     */
    public void replace(Issued target, Issued source) {
        try {
            for (Path[] pair : new Path[][] {{source.certFile(), target.certFile()}, {source.keyFile(), target.keyFile()}}) {
                Path temp = dir.resolve(pair[1].getFileName() + ".new");
                Files.copy(pair[0], temp, StandardCopyOption.REPLACE_EXISTING);
                Files.setLastModifiedTime(temp, java.nio.file.attribute.FileTime.from(
                        Files.getLastModifiedTime(pair[1]).toInstant().plusSeconds(2)));
                Files.move(temp, pair[1], StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Writes {@code ca}'s revocation list, revoking {@code revoked}, as PEM to {@code file} (replacing it by an
     * atomic move, its modification time at least two seconds past the previous file's, so a reload sees it),
     * valid from a minute ago for {@code validity} (negative: expired a minute ago). Returns {@code file}.
     */
    public Path revocationList(Path file, Ca ca, Duration validity, Issued... revoked) {
        return revocationLists(file, List.of(revocationListPem(ca, validity, revoked)));
    }

    /** {@code ca}'s PEM revocation list of {@code revoked}, valid as {@link #revocationList(Path, Ca, Duration, Issued...)} says. */
    public String revocationListPem(Ca ca, Duration validity, Issued... revoked) {
        Instant now = Instant.now();
        Instant from = validity.isNegative() ? now.minus(Duration.ofDays(1)) : now.minus(Duration.ofMinutes(1));
        Instant to = validity.isNegative() ? now.minus(Duration.ofMinutes(1)) : now.plus(validity);
        return dev.baton.pki.Pem.revocationList(ca.authority().revocationList(
                Stream.of(revoked).map(Issued::certificate).toList(), from, to));
    }

    /** Writes these PEM texts, concatenated, to {@code file} as {@link #revocationList(Path, Ca, Duration, Issued...)} does. */
    public Path revocationLists(Path file, List<String> pems) {
        try {
            Path temp = dir.resolve(file.getFileName() + ".new");
            Files.writeString(temp, String.join("", pems), StandardCharsets.US_ASCII);
            Instant mtime = Instant.now();
            if (Files.exists(file)) {
                Instant old = Files.getLastModifiedTime(file).toInstant().plusSeconds(2);
                mtime = old.isAfter(mtime) ? old : mtime;
            }
            Files.setLastModifiedTime(temp, java.nio.file.attribute.FileTime.from(mtime));
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String fingerprint(X509Certificate cert) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private Path store(KeyStore ks, String name, char[] password) throws IOException, GeneralSecurityException {
        Path file = dir.resolve(name);
        try (OutputStream out = Files.newOutputStream(file)) {
            ks.store(out, password);
        }
        return file;
    }

    private static void write(Path file, String pem) {
        try {
            Files.writeString(file, pem, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
