package dev.baton.internal.tls;

import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

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

    /**
     * Why this watch cannot tell whether {@code chain} (one the trusted CAs vouch for) is revoked, in words; null
     * when it can, or when the chain names nothing it could ask. When it has not asked yet it starts to, and waits
     * for that first answer until {@code deadlineNanos} ({@link System#nanoTime}). Asked only in the handshake of a
     * new peer, when the options require a known status, and then off the I/O threads (the handshake's delegated
     * tasks run on a thread of their own).
     */
    default String unknownStatus(X509Certificate[] chain, long deadlineNanos) {
        return null;
    }

    /** Raised whenever what the watch knows changes: the trust is built again, and open connections checked. */
    int version();

    /** Whether any transport uses the trust: while none does, a watch fetches and asks nothing. */
    void inUse(boolean inUse);

    /**
     * The certificates of {@code chain} a revocation check covers: the leaf, and each after it that issued the one
     * before, up to a trusted CA ({@code anchors}), which is left out (the check does not cover anchors). What a
     * peer appended that issued nothing in the chain is left out too.
     */
    static List<X509Certificate> path(X509Certificate[] chain, Set<X509Certificate> anchors) {
        List<X509Certificate> path = new ArrayList<>();
        for (int i = 0; i < chain.length && !anchors.contains(chain[i]); i++) {
            if (i > 0 && !issued(chain[i], chain[i - 1])) {
                break;
            }
            path.add(chain[i]);
        }
        return path;
    }

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
