package dev.baton.internal.tls;

import dev.baton.Status;
import dev.baton.TlsOptions;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The files {@link TlsOptions} name, loaded and checked as Baton's own connections load them
 * ({@link TlsContextSource}), handed out as the JDK's PKCS#12 key stores: for TLS stacks that are not Baton's and
 * read key stores (ZooKeeper's client and server).
 */
public final class TlsKeyStores {

    /** The alias of this side's key entry. */
    public static final String IDENTITY_ALIAS = "baton";

    private TlsKeyStores() {
    }

    /**
     * This side's key and certificate chain as a PKCS#12 store of one entry, {@value #IDENTITY_ALIAS}, protected by
     * {@code password}; null when {@code options} name no identity. A file that cannot be used fails with
     * INVALID_ARGUMENT saying why.
     */
    public static KeyStore identity(TlsOptions options, char[] password) {
        try {
            Identity identity = identityOf(options);
            if (identity == null) {
                return null;
            }
            KeyStore store = emptyStore();
            store.setKeyEntry(IDENTITY_ALIAS, identity.key(), password, identity.chain());
            return store;
        } catch (IOException | GeneralSecurityException e) {
            throw invalid(e);
        }
    }

    /**
     * The certificates {@code options} trust, as a PKCS#12 store of trusted-certificate entries. Pinned fingerprints
     * cannot be put in a store: options that pin certificates and trust no CA fail with INVALID_ARGUMENT, as does a
     * file that cannot be used.
     */
    public static KeyStore trust(TlsOptions options) {
        try {
            List<X509Certificate> cas = trustedCas(options);
            if (cas.isEmpty()) {
                throw new IOException("no trusted certificates: pinned fingerprints cannot be handed to another TLS "
                        + "stack; give trustedCertificates or a trust store");
            }
            KeyStore store = emptyStore();
            for (int i = 0; i < cas.size(); i++) {
                store.setCertificateEntry("trusted-" + i, cas.get(i));
            }
            return store;
        } catch (IOException | GeneralSecurityException e) {
            throw invalid(e);
        }
    }

    /** This side's identity from the PEM files or the PKCS#12 store of {@code o}, or null when it names none. */
    static Identity identityOf(TlsOptions o) throws IOException, GeneralSecurityException {
        try {
            if (o.certificateChain() != null) {
                return Identity.fromPem(o.certificateChain(), o.privateKey(), o.privateKeyPassword());
            }
            if (o.keyStore() != null) {
                return Identity.fromPkcs12(o.keyStore(), o.keyStorePassword());
            }
            return null;
        } catch (NoSuchFileException e) {
            throw new IOException("no such file: " + e.getFile(), e);
        }
    }

    /** The CA certificates {@code o} trusts: its PEM bundle's and its trust store's (empty when it only pins). */
    static List<X509Certificate> trustedCas(TlsOptions o) throws IOException, GeneralSecurityException {
        try {
            List<X509Certificate> cas = new ArrayList<>();
            if (o.trustedCertificates() != null) {
                cas.addAll(Pem.certificates(o.trustedCertificates()));
            }
            if (o.trustStore() != null) {
                KeyStore ks = Identity.Stores.pkcs12(o.trustStore(), o.trustStorePassword());
                for (String alias : Collections.list(ks.aliases())) {
                    if (ks.getCertificate(alias) instanceof X509Certificate c) {
                        cas.add(c);
                    }
                }
                if (cas.isEmpty()) {
                    throw new IOException(o.trustStore() + " holds no certificate to trust");
                }
            }
            return cas;
        } catch (NoSuchFileException e) {
            throw new IOException("no such file: " + e.getFile(), e);
        }
    }

    private static KeyStore emptyStore() throws IOException, GeneralSecurityException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        return store;
    }

    private static RuntimeException invalid(Exception e) {
        return Status.of(Status.Code.INVALID_ARGUMENT, "TLS: " + e.getMessage()).withCause(e).asException();
    }
}
