package dev.baton.internal.tls;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.security.auth.x500.X500Principal;

/**
 * Decides whether a peer's certificate chain is trusted, the same way on both sides: the chain validates (PKIX,
 * through the JDK's trust manager) against the trusted CA certificates, or the peer's own certificate is pinned by
 * its SHA-256 fingerprint and is within its validity period; then, if a peer name is required, the certificate
 * must carry it. Each refusal is a {@link CertificateException} whose message says which check failed, for the
 * handshake's error. No host name is verified otherwise.
 */
final class PeerTrust extends X509ExtendedTrustManager {

    /** How long a handshake waits for the first answers about a new peer, when the status is required. */
    static final long STATUS_WAIT_NS = 5_000_000_000L;

    private final X509ExtendedTrustManager pkix;        // null: no CA is trusted, only pins
    private final X509Certificate[] issuers;
    private final Set<String> pins;
    private final String peerName;
    private final List<PeerWatch> watches;
    private final boolean statusRequired;

    PeerTrust(List<X509Certificate> cas, Set<String> pins, String peerName) throws GeneralSecurityException {
        this(cas, List.of(), pins, peerName, List.of(), false);
    }

    /**
     * Trusts chains to {@code cas}, refusing those with a certificate revoked by one of {@code crls} (none: no
     * revocation check) or that one of {@code watches} refuses, and the {@code pins}. The watches are told of each
     * chain the CAs vouched for and none refused. With {@code statusRequired}, a handshake is refused too while a
     * watch does not know the chain's revocation status yet ({@link PeerWatch#unknownStatus}).
     */
    PeerTrust(List<X509Certificate> cas, List<X509CRL> crls, Set<String> pins, String peerName,
              List<PeerWatch> watches, boolean statusRequired) throws GeneralSecurityException {
        this.pins = pins;
        this.peerName = peerName;
        this.watches = List.copyOf(watches);
        this.statusRequired = statusRequired;
        this.issuers = cas.toArray(X509Certificate[]::new);
        if (cas.isEmpty()) {
            this.pkix = null;
            return;
        }
        KeyStore anchors = KeyStore.getInstance("PKCS12");
        try {
            anchors.load(null, null);
        } catch (java.io.IOException e) {
            throw new GeneralSecurityException(e);
        }
        for (int i = 0; i < issuers.length; i++) {
            anchors.setCertificateEntry("ca-" + i, issuers[i]);
        }
        TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
        if (crls.isEmpty()) {
            factory.init(anchors);
        } else {
            factory.init(Revocation.parameters(anchors, crls));
        }
        X509ExtendedTrustManager found = null;
        for (TrustManager tm : factory.getTrustManagers()) {
            if (tm instanceof X509ExtendedTrustManager x) {
                found = x;
            }
        }
        if (found == null) {
            throw new GeneralSecurityException("the JDK offers no X509ExtendedTrustManager for PKIX");
        }
        this.pkix = found;
    }

    static String sha256(X509Certificate cert) throws CertificateException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new CertificateException(e);
        }
    }

    /**
     * Checks the chain of an open connection's peer again, as a handshake would but for a status not known: an open
     * connection is cut by a revocation, not by a responder that stopped answering.
     */
    void recheck(X509Certificate[] chain, boolean peerIsClient) throws CertificateException {
        String authType = peerIsClient ? chain[0].getPublicKey().getAlgorithm()
                : "UNKNOWN";        // what the JDK passes a server check in TLS 1.3: a signing key
        check(chain, authType, null, peerIsClient, false);
    }

    private void check(X509Certificate[] chain, String authType, SSLEngine engine, boolean peerIsClient)
            throws CertificateException {
        check(chain, authType, engine, peerIsClient, statusRequired);
    }

    private void check(X509Certificate[] chain, String authType, SSLEngine engine, boolean peerIsClient,
                       boolean requireStatus) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("the peer presented no certificate");
        }
        X509Certificate leaf = chain[0];
        String subject = leaf.getSubjectX500Principal().getName();
        String fingerprint = sha256(leaf);
        if (pins.contains(fingerprint)) {
            try {
                leaf.checkValidity();
            } catch (CertificateException e) {
                throw new CertificateException("the pinned certificate " + subject + " is outside its validity "
                        + "period: " + e.getMessage(), e);
            }
        } else if (pkix != null) {
            try {
                if (peerIsClient) {
                    pkix.checkClientTrusted(chain, authType, engine);
                } else {
                    pkix.checkServerTrusted(chain, authType, engine);
                }
            } catch (CertificateException e) {
                String revoked = Revocation.describe(e);
                if (revoked != null) {
                    throw new CertificateException("the certificate " + subject + " is refused: " + revoked, e);
                }
                throw new CertificateException("the certificate " + subject + " issued by "
                        + leaf.getIssuerX500Principal().getName() + " is not trusted (no trusted CA signed it"
                        + (pins.isEmpty() ? "" : ", and it is not pinned") + "): " + e.getMessage(), e);
            }
            for (PeerWatch w : watches) {
                String refused = w.refusal(chain);
                if (refused != null) {
                    throw new CertificateException("the certificate " + subject + " is refused: " + refused);
                }
            }
            long deadline = System.nanoTime() + STATUS_WAIT_NS;
            for (PeerWatch w : watches) {
                String unknown = requireStatus ? w.unknownStatus(chain, deadline) : null;
                if (unknown != null) {
                    throw new CertificateException("the certificate " + subject + " is refused: " + unknown
                            + " (the options require a known revocation status for a new peer)");
                }
            }
            for (PeerWatch w : watches) {
                w.accepted(chain);
            }
        } else {
            throw new CertificateException("the certificate " + subject + " (SHA-256 " + fingerprint
                    + ") is not among the pinned certificates");
        }
        if (peerName != null && !names(leaf, peerName)) {
            throw new CertificateException("the certificate " + subject + " does not name " + peerName
                    + ", the required peer name");
        }
    }

    /** True when a DNS or IP subject alternative name, or the common name, of {@code cert} is {@code name}. */
    static boolean names(X509Certificate cert, String name) {
        try {
            var alternatives = cert.getSubjectAlternativeNames();
            if (alternatives != null) {
                for (List<?> entry : alternatives) {
                    int type = (Integer) entry.get(0);
                    if ((type == 2 || type == 7) && name.equalsIgnoreCase(String.valueOf(entry.get(1)))) {
                        return true;
                    }
                }
            }
        } catch (CertificateParsingException e) {
            return false;
        }
        String dn = cert.getSubjectX500Principal().getName(X500Principal.RFC2253);
        for (String part : dn.split(",")) {
            if (part.trim().toUpperCase(Locale.ROOT).startsWith("CN=") && part.trim().substring(3).equalsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, authType, engine, true);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, authType, engine, false);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(chain, authType, null, true);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(chain, authType, null, false);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, authType, null, true);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, authType, null, false);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return issuers.clone();
    }
}
