package dev.baton.zookeeper;

import dev.baton.Status;
import dev.baton.TlsOptions;
import dev.baton.spi.BatonProvider;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * {@link TlsOptions} as ZooKeeper's TLS reads them: ZooKeeper's client and server take their key and the
 * certificates they trust from key store files, not from Baton's PEM files or from an SSL context. The stores are
 * loaded and checked as Baton's TLS transport loads them, and written as PKCS#12 under a random password (kept in
 * memory and in the settings handed to ZooKeeper) into an owner-only directory that {@link #close} deletes.
 *
 * <p>ZooKeeper reads the files at each connection; {@link #refresh} writes them again when the options' files
 * changed (a rotated certificate: their modification times or sizes differ), each file replaced atomically so that a
 * connection never reads half of one.
 */
final class ZkTlsStores implements AutoCloseable {

    private static final String KEY_STORE = "identity.p12";
    private static final String TRUST_STORE = "trust.p12";

    private final TlsOptions options;
    private final Path dir;
    private final boolean ownsDir;
    private final String password;
    private List<String> writtenFrom = List.of();     // the stamps of the options' files the stores were written from
    private boolean closed;

    private ZkTlsStores(TlsOptions options, Path dir, boolean ownsDir) {
        this.options = options;
        this.dir = dir;
        this.ownsDir = ownsDir;
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        this.password = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    }

    /** Writes the stores of {@code options} into a new owner-only temporary directory. */
    static ZkTlsStores inTemporaryDirectory(TlsOptions options) {
        Path dir;
        try {
            dir = Files.createTempDirectory("baton-zk-tls-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a directory for ZooKeeper's TLS key stores", e);
        }
        return written(new ZkTlsStores(options, dir, true));
    }

    /** Writes the stores of {@code options} into {@code dir}, which the caller owns (and deletes). */
    static ZkTlsStores in(Path dir, TlsOptions options) {
        return written(new ZkTlsStores(options, dir, false));
    }

    private static ZkTlsStores written(ZkTlsStores stores) {
        try {
            stores.refresh();
            return stores;
        } catch (RuntimeException e) {
            stores.close();
            throw e;
        }
    }

    /**
     * Writes both stores again from the options' files if those changed since they were written (nothing once
     * closed). A file that cannot be used now fails with INVALID_ARGUMENT and leaves the stores as they were.
     */
    synchronized void refresh() {
        List<String> stamps = stamps();
        if (closed || stamps.equals(writtenFrom)) {
            return;
        }
        char[] pw = password.toCharArray();
        KeyStore identity = BatonProvider.get().tlsIdentityStore(options, pw);
        KeyStore trust = BatonProvider.get().tlsTrustStore(options);
        if (identity != null) {
            store(identity, KEY_STORE, pw);
        }
        store(trust, TRUST_STORE, pw);
        writtenFrom = stamps;
    }

    /** Each of the options' files, with its modification time and size ("missing" when it cannot be read). */
    private List<String> stamps() {
        List<String> stamps = new ArrayList<>();
        for (Path p : new Path[] {options.certificateChain(), options.privateKey(), options.keyStore(),
                options.trustedCertificates(), options.trustStore()}) {
            if (p != null) {
                try {
                    stamps.add(p + " " + Files.getLastModifiedTime(p).toMillis() + " " + Files.size(p));
                } catch (IOException e) {
                    stamps.add(p + " missing");
                }
            }
        }
        return stamps;
    }

    /**
     * The settings that make a ZooKeeper client (or, with {@code prefix} "ssl.", a server's zoo.cfg) run TLS with
     * these stores: {@code prefix} is "zookeeper.ssl." for a client.
     */
    synchronized Map<String, String> settings(String prefix) {
        Map<String, String> s = new HashMap<>();
        if (options.hasIdentity()) {
            s.put(prefix + "keyStore.location", dir.resolve(KEY_STORE).toString());
            s.put(prefix + "keyStore.password", password);
            s.put(prefix + "keyStore.type", "PKCS12");
        }
        s.put(prefix + "trustStore.location", dir.resolve(TRUST_STORE).toString());
        s.put(prefix + "trustStore.password", password);
        s.put(prefix + "trustStore.type", "PKCS12");
        s.put(prefix + "protocol", options.protocols().getFirst());
        s.put(prefix + "enabledProtocols", String.join(",", options.protocols()));
        if (!options.cipherSuites().isEmpty()) {
            s.put(prefix + "ciphersuites", String.join(",", options.cipherSuites()));
        }
        return s;
    }

    /**
     * A TLS context that presents the certificate of {@code options} and trusts their CAs, without checking host
     * names: for probes of a server this process started itself.
     */
    static SSLContext clientContext(TlsOptions options) {
        char[] pw = new char[0];
        try {
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(BatonProvider.get().tlsIdentityStore(options, pw), pw);
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(BatonProvider.get().tlsTrustStore(options));
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "TLS: " + e.getMessage()).withCause(e).asException();
        }
    }

    private void store(KeyStore store, String name, char[] pw) {
        Path target = dir.resolve(name);
        Path temp = dir.resolve(name + ".new");
        try {
            Files.deleteIfExists(temp);
            Files.createFile(temp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (OutputStream out = Files.newOutputStream(temp)) {
                store.store(out, pw);
            }
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | GeneralSecurityException e) {
            throw Status.of(Status.Code.INTERNAL, "cannot write ZooKeeper's TLS key store " + target + ": " + e)
                    .withCause(e).asException();
        }
    }

    /** Deletes the stores (and the directory when this made it). */
    @Override
    public synchronized void close() {
        closed = true;
        try {
            for (String name : new String[] {KEY_STORE, TRUST_STORE, KEY_STORE + ".new", TRUST_STORE + ".new"}) {
                Files.deleteIfExists(dir.resolve(name));
            }
            if (ownsDir) {
                Files.deleteIfExists(dir);
            }
        } catch (IOException e) {
            System.getLogger(ZkTlsStores.class.getName()).log(System.Logger.Level.WARNING,
                    "cannot delete ZooKeeper''s TLS key stores in {0}: {1}", dir, e);
        }
    }
}
