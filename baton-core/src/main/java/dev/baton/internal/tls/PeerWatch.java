package dev.baton.internal.tls;

import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;

/**
 * A background check of peers that {@link PeerTrust} tells of each chain it accepted, and asks about each chain
 * before accepting it: the lists of {@link FetchedRevocationLists}, the answers of {@link OcspStatuses}. Both
 * methods run in handshakes, on I/O threads, and must not block.
 */
interface PeerWatch {

    /** {@code chain} passed every check: look at it in the background. */
    void accepted(X509Certificate[] chain);

    /** Why this watch refuses {@code chain}, a chain the trusted CAs vouch for, in words; null when it does not. */
    default String refusal(X509Certificate[] chain) {
        return null;
    }

    /** Raised whenever what the watch knows changes: the trust is built again, and open connections checked. */
    int version();

    /** Whether any transport uses the trust: while none does, a watch fetches and asks nothing. */
    void inUse(boolean inUse);

    /**
     * True when {@code issuer} issued {@code cert}: its subject is the issuer's name, and its key signed it. How a
     * watch tells the certificates of a chain that issued one another from those a peer appended.
     */
    static boolean issued(X509Certificate issuer, X509Certificate cert) {
        if (!issuer.getSubjectX500Principal().equals(cert.getIssuerX500Principal())) {
            return false;
        }
        try {
            cert.verify(issuer.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
