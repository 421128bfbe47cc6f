package dev.baton;

import java.nio.file.Path;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.SSLContext;

/**
 * TLS with mutual authentication for every connection of a node, a master or a tool: who this side is (a
 * certificate chain and its private key), whom it trusts (CA certificates, pinned certificates, or both), the
 * protocol versions, and the cipher suites if they must be fewer than the JDK's defaults. Immutable; build with
 * {@link #builder()}. Use it with {@code NodeOptions.Builder.tls}, {@code MasterOptions.Builder.tls} or
 * {@link dev.baton.spi.TransportFactory#tls(TlsOptions)} (tools and probes).
 *
 * <pre>{@code
 * TlsOptions tls = TlsOptions.builder()
 *         .certificate(Path.of("node.crt"), Path.of("node.key"))   // PEM chain, PKCS#8 key
 *         .trustedCertificates(Path.of("ca.crt"))                   // PEM CA bundle
 *         .build();
 * Node node = Node.join(NodeOptions.builder().master("10.0.0.1:7000").tls(tls).build());
 * }</pre>
 *
 * <h2>What is checked</h2>
 * Both sides present a certificate and both verify the other's: the accepting side requires one. A peer is
 * trusted when its chain validates (PKIX) against the trusted CA certificates, or when its own (leaf)
 * certificate is pinned by its SHA-256 fingerprint and is within its validity period. Host names are not
 * verified (nodes reach each other by address); {@link Builder#peerName} adds a check that the peer's certificate
 * names an expected DNS name or IP address (subject alternative name, or common name). There is no session
 * resumption: every connection is a full handshake, checked against the trust in force when it is made.
 *
 * <h2>Files and rotation</h2>
 * Certificates and keys are read from files: a PEM certificate chain (leaf first) with a PEM private key in
 * PKCS#8 ({@code -----BEGIN PRIVATE KEY-----}, or {@code -----BEGIN ENCRYPTED PRIVATE KEY-----} with its password),
 * EC or RSA; or a PKCS#12 key store with its password. Refused with a message saying what to do: PKCS#1
 * ({@code BEGIN RSA PRIVATE KEY}) and SEC1 ({@code BEGIN EC PRIVATE KEY}) keys (convert with
 * {@code openssl pkcs8 -topk8}), an encrypted key without its password or with a wrong one, other key algorithms,
 * and a key that does not match the certificate. The files are read when the transport is made; a
 * bad file then fails with INVALID_ARGUMENT. Afterwards, at most every {@link Builder#reloadInterval} (when a
 * connection is made, and on the open connections' own timer), the files' modification times and sizes are
 * checked; if they changed the files are read again and new connections use them. Existing connections keep their
 * own certificate; but when the trusted certificates or the revocation list changed, each open connection's peer is
 * checked again as a new one would be, and a connection whose peer the new files refuse is closed with
 * UNAUTHENTICATED. A new set of files that cannot be used (half written, a key that does not match) is logged once
 * and the previous one stays in force.
 *
 * <h2>Revocation</h2>
 * {@link Builder#revocationList} names a file of certificate revocation lists (X.509 CRLs, PEM or DER). A peer
 * whose chain to a trusted CA holds a certificate listed as revoked by a CRL of its issuer is refused at the
 * handshake, on both sides. Only certificates whose issuer has a CRL in the file are checked: a CA without one
 * there is trusted as before (soft). A CRL past its next update is not: certificates of its issuer are refused
 * until a fresh CRL is written (hard), since a stale list may miss a revocation. Pinned certificates are not
 * checked against the CRLs: unpin them. The file is reloaded like the others; revoking a certificate refuses the
 * peer's next connection and, within the reload interval, closes the connections it already has.
 *
 * <p>{@link Builder#fetchRevocationLists} adds the lists published at the CRL distribution points (http URIs) that
 * this side's chain, the trusted CAs and accepted peers' chains name: fetched in the background and again before
 * their next update, never while a handshake waits; they count as the file's lists do.
 * {@link Builder#askOcspResponders} asks the OCSP responders that accepted peers' certificates name about them, in
 * the background too, and refuses (and cuts) a peer they say is revoked. Both are soft for a peer seen for the first
 * time (accepted while they find out) unless {@link Builder#requireRevocationStatus} makes them hard.
 *
 * <p>Thread-safe (immutable). Passwords are copied in and out.
 */
public final class TlsOptions {

    /** TLS 1.3, the default protocol. */
    public static final String TLS_1_3 = "TLSv1.3";
    /** TLS 1.2, allowed when named in {@link Builder#protocols}. */
    public static final String TLS_1_2 = "TLSv1.2";
    /**
     * The cipher suites of TLS 1.3 (RFC 8446); every other suite name is one of TLS 1.2. The JDK implements the first
     * three.
     */
    public static final Set<String> TLS_1_3_CIPHER_SUITES = Set.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256");
    /** How often, at most, the files are checked for a change unless the builder says otherwise: 10 s. */
    public static final Duration DEFAULT_RELOAD_INTERVAL = Duration.ofSeconds(10);
    /** How long one fetch of a revocation list may take unless the builder says otherwise: 10 s. */
    public static final Duration DEFAULT_REVOCATION_FETCH_TIMEOUT = Duration.ofSeconds(10);

    private final Path certificateChain;
    private final Path privateKey;
    private final char[] privateKeyPassword;
    private final Path keyStore;
    private final char[] keyStorePassword;
    private final Path trustedCertificates;
    private final Path trustStore;
    private final char[] trustStorePassword;
    private final Set<String> pinnedSha256;
    private final List<String> protocols;
    private final List<String> cipherSuites;
    private final String peerName;
    private final Duration reloadInterval;
    private final Path revocationList;
    private final boolean fetchRevocationLists;
    private final Duration revocationFetchTimeout;
    private final Duration ocspInterval;
    private final boolean revocationStatusRequired;

    private TlsOptions(Builder b) {
        certificateChain = b.certificateChain;
        privateKey = b.privateKey;
        privateKeyPassword = b.privateKeyPassword == null ? null : b.privateKeyPassword.clone();
        keyStore = b.keyStore;
        keyStorePassword = b.keyStorePassword == null ? null : b.keyStorePassword.clone();
        trustedCertificates = b.trustedCertificates;
        trustStore = b.trustStore;
        trustStorePassword = b.trustStorePassword == null ? null : b.trustStorePassword.clone();
        pinnedSha256 = Set.copyOf(b.pinnedSha256);
        protocols = List.copyOf(b.protocols);
        cipherSuites = b.cipherSuites;
        peerName = b.peerName;
        reloadInterval = b.reloadInterval;
        revocationList = b.revocationList;
        fetchRevocationLists = b.fetchRevocationLists;
        revocationFetchTimeout = b.revocationFetchTimeout;
        ocspInterval = b.ocspInterval;
        revocationStatusRequired = b.revocationStatusRequired;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The password of an encrypted {@link #privateKey()} (a copy), or null. */
    public char[] privateKeyPassword() {
        return privateKeyPassword == null ? null : privateKeyPassword.clone();
    }

    /** The PEM certificate chain (leaf first), or null when a key store (or no identity) is used. */
    public Path certificateChain() {
        return certificateChain;
    }

    /** The PEM PKCS#8 private key of {@link #certificateChain()}, or null. */
    public Path privateKey() {
        return privateKey;
    }

    /** The PKCS#12 key store holding this side's key and chain, or null. */
    public Path keyStore() {
        return keyStore;
    }

    /** A copy of the key store's password, or null. */
    public char[] keyStorePassword() {
        return keyStorePassword == null ? null : keyStorePassword.clone();
    }

    /** The PEM bundle of trusted CA certificates, or null. */
    public Path trustedCertificates() {
        return trustedCertificates;
    }

    /** The PKCS#12 trust store of trusted CA certificates, or null. */
    public Path trustStore() {
        return trustStore;
    }

    /** A copy of the trust store's password, or null. */
    public char[] trustStorePassword() {
        return trustStorePassword == null ? null : trustStorePassword.clone();
    }

    /** SHA-256 fingerprints of pinned peer certificates: 64 lower-case hex digits each. */
    public Set<String> pinnedSha256() {
        return pinnedSha256;
    }

    /** The enabled protocol versions, {@link #TLS_1_3} by default. */
    public List<String> protocols() {
        return protocols;
    }

    /** The cipher suites to enable, in order; empty (the default) for the JDK's default suites. */
    public List<String> cipherSuites() {
        return cipherSuites;
    }

    /** The name every peer's certificate must carry, or null (the default: names are not checked). */
    public String peerName() {
        return peerName;
    }

    /** How often, at most, the files are checked for a change; zero checks at every connection. */
    public Duration reloadInterval() {
        return reloadInterval;
    }

    /** The file of certificate revocation lists (PEM or DER), or null: no certificate is checked for revocation. */
    public Path revocationList() {
        return revocationList;
    }

    /** Whether revocation lists are fetched from the CRL distribution points certificates name. */
    public boolean fetchRevocationLists() {
        return fetchRevocationLists;
    }

    /** How long one fetch of a revocation list may take, connecting and reading all told. */
    public Duration revocationFetchTimeout() {
        return revocationFetchTimeout;
    }

    /** How often each accepted peer's OCSP responder is asked about it again; null: OCSP is not used. */
    public Duration ocspInterval() {
        return ocspInterval;
    }

    /**
     * Whether a new peer is refused until the online checks know its revocation status (hard), rather than accepted
     * while they find out (soft, the default).
     */
    public boolean revocationStatusRequired() {
        return revocationStatusRequired;
    }

    /** True when this side has a certificate of its own (it needs one to accept connections). */
    public boolean hasIdentity() {
        return certificateChain != null || keyStore != null;
    }

    @Override
    public String toString() {
        return "TlsOptions[" + (certificateChain != null ? "cert=" + certificateChain + ", key=" + privateKey
                : keyStore != null ? "keyStore=" + keyStore : "no identity")
                + (trustedCertificates != null ? ", ca=" + trustedCertificates : "")
                + (trustStore != null ? ", trustStore=" + trustStore : "")
                + (pinnedSha256.isEmpty() ? "" : ", pinned=" + pinnedSha256.size())
                + (revocationList != null ? ", crl=" + revocationList : "")
                + (fetchRevocationLists ? ", fetchCrls" : "")
                + (ocspInterval != null ? ", ocspEvery=" + ocspInterval : "")
                + (revocationStatusRequired ? ", revocationStatusRequired" : "")
                + ", protocols=" + protocols + (cipherSuites.isEmpty() ? "" : ", cipherSuites=" + cipherSuites)
                + (peerName != null ? ", peerName=" + peerName : "") + "]";
    }

    /** Builds {@link TlsOptions}; {@link #build()} names the bad field and value. Not thread-safe. */
    public static final class Builder {
        private Path certificateChain;
        private Path privateKey;
        private char[] privateKeyPassword;
        private Path keyStore;
        private char[] keyStorePassword;
        private Path trustedCertificates;
        private Path trustStore;
        private char[] trustStorePassword;
        private final Set<String> pinnedSha256 = new LinkedHashSet<>();
        private List<String> protocols = List.of(TLS_1_3);
        private List<String> cipherSuites = List.of();
        private String peerName;
        private Duration reloadInterval = DEFAULT_RELOAD_INTERVAL;
        private Path revocationList;
        private boolean fetchRevocationLists;
        private Duration revocationFetchTimeout = DEFAULT_REVOCATION_FETCH_TIMEOUT;
        private Duration ocspInterval;
        private boolean revocationStatusRequired;

        private Builder() {
        }

        /**
         * This side's certificate chain (PEM, leaf first, then intermediates) and its private key (PEM PKCS#8,
         * EC or RSA, unencrypted). Replaces a {@link #keyStore}.
         */
        public Builder certificate(Path certificateChain, Path privateKey) {
            this.certificateChain = Objects.requireNonNull(certificateChain, "certificateChain");
            this.privateKey = Objects.requireNonNull(privateKey, "privateKey");
            this.privateKeyPassword = null;
            this.keyStore = null;
            this.keyStorePassword = null;
            return this;
        }

        /**
         * As {@link #certificate(Path, Path)}, with the key encrypted under {@code password}: PEM
         * {@code ENCRYPTED PRIVATE KEY}, PKCS#8 with PBES2 (as {@code openssl pkcs8 -topk8 -v2 aes-256-cbc} writes
         * it) or another password-based scheme of the JDK's. The array is copied.
         */
        public Builder certificate(Path certificateChain, Path privateKey, char[] password) {
            certificate(certificateChain, privateKey);
            this.privateKeyPassword = Objects.requireNonNull(password, "password").clone();
            return this;
        }

        /** This side's key and certificate chain from a PKCS#12 store (its one key entry). Replaces {@link #certificate}. */
        public Builder keyStore(Path pkcs12, char[] password) {
            this.keyStore = Objects.requireNonNull(pkcs12, "keyStore");
            this.keyStorePassword = Objects.requireNonNull(password, "password").clone();
            this.certificateChain = null;
            this.privateKey = null;
            this.privateKeyPassword = null;
            return this;
        }

        /** Trusts peers whose chain leads to a CA certificate of this PEM bundle. */
        public Builder trustedCertificates(Path caBundle) {
            this.trustedCertificates = Objects.requireNonNull(caBundle, "trustedCertificates");
            return this;
        }

        /** Trusts peers whose chain leads to a certificate of this PKCS#12 trust store. */
        public Builder trustStore(Path pkcs12, char[] password) {
            this.trustStore = Objects.requireNonNull(pkcs12, "trustStore");
            this.trustStorePassword = Objects.requireNonNull(password, "password").clone();
            return this;
        }

        /**
         * Trusts the peer certificate with this SHA-256 fingerprint (64 hex digits, colons and case ignored), as
         * {@code openssl x509 -noout -fingerprint -sha256} prints it. May be called more than once.
         */
        public Builder pinSha256(String fingerprint) {
            Objects.requireNonNull(fingerprint, "fingerprint");
            String hex = fingerprint.replace(":", "").trim().toLowerCase(Locale.ROOT);
            if (hex.length() != 64 || !hex.chars().allMatch(HexFormat::isHexDigit)) {
                throw new IllegalArgumentException("pinSha256 must be 64 hex digits (colons allowed), was '"
                        + fingerprint + "'");
            }
            pinnedSha256.add(hex);
            return this;
        }

        /**
         * Refuses peers whose certificate, or a CA certificate of whose chain, is revoked by a CRL of this file: one
         * DER CRL, or one or more PEM CRLs ({@code -----BEGIN X509 CRL-----}) concatenated. Only certificates whose
         * issuer has a CRL in the file are checked; a CRL past its next update makes its issuer's certificates
         * refused until a fresh one replaces it. A CRL issued by a trusted CA must carry that CA's valid signature
         * (else the file is refused); the CRLs of intermediate CAs are checked when a chain goes through them. Needs
         * trusted CAs ({@link #trustedCertificates} or {@link #trustStore}); does not apply to pinned certificates.
         * Reloaded at most every {@link #reloadInterval}, like the certificate files.
         */
        public Builder revocationList(Path crlFile) {
            this.revocationList = Objects.requireNonNull(crlFile, "revocationList");
            return this;
        }

        /**
         * Also checks peers against the revocation lists published at the CRL distribution points (http URIs only)
         * named by this side's certificate chain, the trusted CA certificates, and the chains of peers a trusted CA
         * signed. Those of this side's chain and the CAs are fetched when the options are loaded (waiting at most
         * {@link #revocationFetchTimeout} for each, so a node starts with its CA's list); a peer's new point is
         * fetched in the background when the peer connects, which it may until the list arrives: its open
         * connections are then checked again, as when the file changes. Each list is fetched again halfway to its
         * next update; a list must be signed by the trusted CA it names, and one older than the list held is
         * dropped. When every fetch fails until the held list's next update, its issuer's certificates are refused,
         * as with a stale file. A point no list could be fetched from yet checks nothing (soft). Needs trusted CAs.
         */
        public Builder fetchRevocationLists(boolean fetch) {
            this.fetchRevocationLists = fetch;
            return this;
        }

        /** How long one fetch of a revocation list may take, all told (default 10 s). */
        public Builder revocationFetchTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("revocationFetchTimeout must be positive, was " + timeout);
            }
            this.revocationFetchTimeout = timeout;
            return this;
        }

        /**
         * Asks the OCSP responders (http, from each certificate's Authority Information Access) about every peer
         * chain a trusted CA signed: when the peer first connects, in the background (it may connect until the
         * answer comes), and then {@code every} interval, connected or not. A certificate a responder says is revoked
         * is refused from then on, and the open connections of its peer are closed within the reload interval. A
         * responder that cannot be reached or does not know the certificate changes nothing (soft). The answers are
         * checked by the JDK (signed by the issuing CA or a responder it delegated to), with its timeouts
         * ({@code com.sun.security.ocsp.timeout}, 15 s by default). Needs trusted CAs; null: no OCSP (the default).
         */
        public Builder askOcspResponders(Duration every) {
            if (every != null && (every.isNegative() || every.compareTo(Duration.ofSeconds(1)) < 0)) {
                throw new IllegalArgumentException("askOcspResponders must be at least 1 s, was " + every);
            }
            this.ocspInterval = every;
            return this;
        }

        /**
         * Hard revocation checking: a peer connecting for the first time is refused until the online checks know
         * whether it is revoked, rather than accepted while they find out (soft, the default). Its handshake starts
         * them (the list of each distribution point its chain names, with {@link #fetchRevocationLists}; its
         * responder's answer, with {@link #askOcspResponders}) and waits up to 5 s for the first answers (the
         * handshake's certificate checks then run off the I/O threads); without them it fails with UNAUTHENTICATED,
         * saying what is missing. With OCSP, the latest question must have been answered:
         * while a responder does not answer, new connections of the peers it vouches for are refused (open ones
         * stay; only a revocation cuts them). Certificates that name no distribution point and no responder are
         * accepted: there is nothing to ask. Needs {@link #fetchRevocationLists} or {@link #askOcspResponders}.
         */
        public Builder requireRevocationStatus(boolean require) {
            this.revocationStatusRequired = require;
            return this;
        }

        /** The protocol versions to enable: {@link #TLS_1_3} (the default) and/or {@link #TLS_1_2}. */
        public Builder protocols(String... protocols) {
            List<String> list = new ArrayList<>(Arrays.asList(protocols));
            if (list.isEmpty()) {
                throw new IllegalArgumentException("protocols must name at least one of " + TLS_1_3 + ", " + TLS_1_2);
            }
            for (String p : list) {
                if (!TLS_1_3.equals(p) && !TLS_1_2.equals(p)) {
                    throw new IllegalArgumentException("protocols may be " + TLS_1_3 + " and " + TLS_1_2 + ", was '"
                            + p + "'");
                }
            }
            this.protocols = List.copyOf(new LinkedHashSet<>(list));
            return this;
        }

        /**
         * Enables only these cipher suites (standard names, such as {@code TLS_AES_256_GCM_SHA384}), for a policy that
         * forbids some of the JDK's defaults; a peer that offers none of them is refused at the handshake. Each must be
         * one this JDK supports (else IllegalArgumentException naming it), and {@link #build()} checks that every
         * enabled protocol keeps at least one ({@link #TLS_1_3_CIPHER_SUITES} are TLS 1.3's). Default: the JDK's.
         */
        public Builder cipherSuites(String... suites) {
            List<String> list = List.copyOf(new LinkedHashSet<>(Arrays.asList(suites)));
            if (list.isEmpty()) {
                throw new IllegalArgumentException("cipherSuites must name at least one suite");
            }
            Set<String> supported = supportedCipherSuites();
            List<String> unknown = list.stream().filter(c -> !supported.contains(c)).toList();
            if (!unknown.isEmpty()) {
                throw new IllegalArgumentException("cipherSuites: this JDK does not support " + unknown
                        + "; it supports " + supported);
            }
            this.cipherSuites = list;
            return this;
        }

        private static Set<String> supportedCipherSuites() {
            try {
                return new LinkedHashSet<>(Arrays.asList(
                        SSLContext.getDefault().getSupportedSSLParameters().getCipherSuites()));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("this JDK has no default TLS implementation", e);
            }
        }

        /** Requires every peer's certificate to name {@code name} (a DNS name or IP address); off by default. */
        public Builder peerName(String name) {
            if (name != null && name.isBlank()) {
                throw new IllegalArgumentException("peerName must not be blank");
            }
            this.peerName = name;
            return this;
        }

        /**
         * How often, at most, the files are checked for a change (default 10 s; zero: at every connection, and on
         * every tick of the open connections, about every 25 ms).
         */
        public Builder reloadInterval(Duration interval) {
            if (interval == null || interval.isNegative()) {
                throw new IllegalArgumentException("reloadInterval must be zero or positive, was " + interval);
            }
            this.reloadInterval = interval;
            return this;
        }

        /**
         * Checks the options: some trust (CA certificates, a trust store or a pin) is required. Without a
         * certificate of its own a side can connect only to peers that do not require one, which Baton's peers
         * always do: such options suit nothing but tests of refusal. Files are read later, by the transport.
         */
        public TlsOptions build() {
            if (trustedCertificates == null && trustStore == null && pinnedSha256.isEmpty()) {
                throw new IllegalArgumentException("TLS needs something to trust peers by: trustedCertificates, "
                        + "trustStore or pinSha256");
            }
            if ((fetchRevocationLists || ocspInterval != null) && trustedCertificates == null && trustStore == null) {
                throw new IllegalArgumentException((fetchRevocationLists ? "fetchRevocationLists" : "askOcspResponders")
                        + " needs trusted CAs (trustedCertificates or trustStore) whose certificates it checks");
            }
            if (revocationStatusRequired && !fetchRevocationLists && ocspInterval == null) {
                throw new IllegalArgumentException("requireRevocationStatus needs an online check to learn the status "
                        + "from: fetchRevocationLists or askOcspResponders");
            }
            if (revocationList != null && trustedCertificates == null && trustStore == null) {
                throw new IllegalArgumentException("revocationList needs trusted CAs (trustedCertificates or "
                        + "trustStore) whose certificates it revokes; a pinned certificate is revoked by unpinning it");
            }
            for (String p : protocols) {
                boolean v13 = TLS_1_3.equals(p);
                if (!cipherSuites.isEmpty()
                        && cipherSuites.stream().noneMatch(c -> TLS_1_3_CIPHER_SUITES.contains(c) == v13)) {
                    throw new IllegalArgumentException("cipherSuites " + cipherSuites + " leave " + p + " no suite: "
                            + (v13 ? "TLS 1.3's are " + TLS_1_3_CIPHER_SUITES : "these are all TLS 1.3's"));
                }
            }
            return new TlsOptions(this);
        }
    }
}
