package dev.baton.internal.tls;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertPathValidatorException.BasicReason;
import java.security.cert.CertStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.PKIXCertPathChecker;
import java.security.cert.PKIXRevocationChecker;
import java.security.cert.X509CRL;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.CertPathTrustManagerParameters;
import javax.net.ssl.ManagerFactoryParameters;
import javax.security.auth.x500.X500Principal;

/**
 * Certificate revocation lists in the JDK's PKIX validation: the parameters of a trust manager that checks each
 * certificate of a peer's chain against given CRLs (a file's, and those fetched), and nothing else.
 *
 * <p>The JDK's {@link PKIXRevocationChecker} does the checking, for CRLs only ({@code PREFER_CRLS, NO_FALLBACK}: no
 * OCSP here) and from the given CRLs only (the JDK fetches CRL distribution points only when the JVM-wide
 * {@code com.sun.security.enableCRLDP} is set, and in the handshake: {@link FetchedRevocationLists} fetches them in
 * the background instead). With {@code SOFT_FAIL} a certificate whose issuer has no CRL here passes. That would also
 * let through a certificate whose issuer's CRL is past its next update (the JDK then finds no usable CRL), so
 * {@link Fresh} refuses those: a stale list may miss a revocation.
 */
final class Revocation {

    private Revocation() {
    }

    /** PKIX parameters trusting {@code anchors} and checking revocation against {@code crls}, for a trust manager. */
    static ManagerFactoryParameters parameters(KeyStore anchors, List<X509CRL> crls) throws GeneralSecurityException {
        PKIXBuilderParameters params = new PKIXBuilderParameters(anchors, new X509CertSelector());
        params.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(crls)));
        params.setRevocationEnabled(true);
        PKIXRevocationChecker checker = (PKIXRevocationChecker) CertPathBuilder.getInstance("PKIX").getRevocationChecker();
        checker.setOptions(EnumSet.of(PKIXRevocationChecker.Option.PREFER_CRLS,
                PKIXRevocationChecker.Option.NO_FALLBACK, PKIXRevocationChecker.Option.SOFT_FAIL));
        params.addCertPathChecker(checker);
        params.addCertPathChecker(new Fresh(crls));
        return new CertPathTrustManagerParameters(params);
    }

    /**
     * Checks that each of {@code crls}, read from {@code file}, issued under the name of one of {@code cas} carries
     * that CA's signature: a list the JDK would silently ignore is refused when it is read. CRLs of other issuers
     * (intermediate CAs) are checked by the JDK against the chain that uses them.
     */
    static void checkSignatures(Path file, List<X509Certificate> cas, List<X509CRL> crls) throws IOException {
        for (X509CRL crl : crls) {
            String problem = signatureProblem(cas, crl);
            if (problem != null) {
                throw new IOException(file + ": " + problem);
            }
        }
    }

    /**
     * Why {@code crl} cannot be used when it is issued under the name of one of {@code cas} without that CA's
     * signature; null when it carries it, or names none of them.
     */
    static String signatureProblem(List<X509Certificate> cas, X509CRL crl) {
        boolean named = false;
        for (X509Certificate ca : cas) {
            if (ca.getSubjectX500Principal().equals(crl.getIssuerX500Principal())) {
                named = true;
                try {
                    crl.verify(ca.getPublicKey());
                    return null;
                } catch (GeneralSecurityException wrongKey) {
                    // another CA of the same name may have signed it
                }
            }
        }
        return named ? "the revocation list of " + crl.getIssuerX500Principal().getName()
                + " does not carry the signature of the trusted CA of that name" : null;
    }

    /**
     * Why {@code e} refused a certificate when a revocation check did (revoked, or its issuer's list is stale), in
     * words; null when something else did.
     */
    static String describe(CertificateException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertPathValidatorException v) {
                if (v.getReason() == BasicReason.REVOKED) {
                    return "it has been revoked (" + v.getMessage() + ")";
                }
                if (v.getReason() == BasicReason.UNDETERMINED_REVOCATION_STATUS && v.getMessage() != null
                        && v.getMessage().startsWith(Fresh.STALE)) {
                    return v.getMessage();
                }
            }
        }
        return null;
    }

    /** Refuses a certificate whose issuer has CRLs in the file, none of them before its next update. */
    static final class Fresh extends PKIXCertPathChecker {
        static final String STALE = "the revocation list of ";
        private final Map<X500Principal, List<X509CRL>> byIssuer = new HashMap<>();

        Fresh(List<X509CRL> crls) {
            for (X509CRL crl : crls) {
                byIssuer.computeIfAbsent(crl.getIssuerX500Principal(), k -> new ArrayList<>()).add(crl);
            }
        }

        @Override
        public void init(boolean forward) {
        }

        @Override
        public boolean isForwardCheckingSupported() {
            return true;
        }

        @Override
        public Set<String> getSupportedExtensions() {
            return null;
        }

        @Override
        public void check(Certificate cert, Collection<String> unresolvedCritExts) throws CertPathValidatorException {
            X500Principal issuer = ((X509Certificate) cert).getIssuerX500Principal();
            List<X509CRL> lists = byIssuer.get(issuer);
            if (lists == null) {
                return;
            }
            Date now = new Date();
            Date latest = null;
            for (X509CRL crl : lists) {
                if (crl.getNextUpdate() == null || crl.getNextUpdate().after(now)) {
                    return;
                }
                latest = latest == null || crl.getNextUpdate().after(latest) ? crl.getNextUpdate() : latest;
            }
            throw new CertPathValidatorException(STALE + issuer.getName() + " is out of date (its next update was "
                    + latest.toInstant() + "): its certificates are refused until a fresh list is written", null,
                    null, -1, BasicReason.UNDETERMINED_REVOCATION_STATUS);
        }
    }
}
