package dev.baton.internal.tls;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertPathValidatorException.BasicReason;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.PKIXRevocationChecker;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.security.auth.x500.X500Principal;

/**
 * What the OCSP responders that peers' certificates name (their Authority Information Access) say about them, asked
 * in the background: the handshake never waits for a responder.
 *
 * <p><b>Whom.</b> Every peer chain that has passed the trust check ({@link #accepted}; a certificate no trusted CA
 * signed makes this side ask nothing), from its leaf up through the certificates that issued it, to the trusted
 * CA; a chain none of whose certificates names a responder is not watched (said once, at INFO). Asked when first
 * seen, then every interval, on a virtual thread per chain; a question not answered is asked again after a second,
 * doubled up to the interval. At most {@link #MAX_CHAINS} chains (further ones are not asked, logged once).
 *
 * <p><b>How.</b> The JDK's PKIX validation with its {@link PKIXRevocationChecker} in OCSP mode ({@code NO_FALLBACK,
 * SOFT_FAIL}): it builds the request, sends it to the responder the certificate names, and verifies the answer's
 * signature (the issuing CA's, or a responder certificate the CA delegated to). A certificate it finds revoked is
 * recorded for good (revocation is final) and raises {@link #version()}: the source then builds new trust, and the
 * open connections check their peers again; {@link #refusal} refuses it in every later handshake. A responder that
 * cannot be reached, or answers "unknown", changes nothing (soft): logged when the reason differs from the chain's
 * previous one. The JDK's own timeouts apply ({@code com.sun.security.ocsp.timeout}, 15 s by default).
 *
 * <p><b>Hard mode.</b> When the options require a known status, {@link #unknownStatus} refuses a new peer's chain
 * until the latest question about it was answered (it starts asking about a chain it has not seen).
 *
 * <p>Thread-safe.
 */
final class OcspStatuses implements PeerWatch {

    private static final System.Logger LOG = System.getLogger(OcspStatuses.class.getName());

    static final int MAX_CHAINS = 1024;
    private static final long RETRY_NS = 1_000_000_000L;
    private static final String ASK_THREAD = "baton-ocsp-ask";
    private static final String AUTHORITY_INFO_ACCESS = "1.3.6.1.5.5.7.1.1";

    /** A certificate, as a revocation names it. */
    private record Serial(X500Principal issuer, BigInteger serial) {
        static Serial of(X509Certificate c) {
            return new Serial(c.getIssuerX500Principal(), c.getSerialNumber());
        }
    }

    /** One peer chain asked about, without its trust anchor; a run asks again. */
    private final class Watched extends Recurring {
        final List<X509Certificate> path;
        /** The latest question was answered: the chain is not revoked. */
        volatile boolean answered;
        int failures;           // written by the runs, one at a time
        volatile String lastProblem;

        Watched(List<X509Certificate> path) {
            super(System.nanoTime());
            this.path = path;
        }

        @Override
        long run() {
            answered = ask(this);
            failures = answered ? 0 : failures + 1;
            return System.nanoTime() + (answered ? intervalNs
                    : Math.min(intervalNs, RETRY_NS << Math.min(failures - 1, 20)));
        }
    }

    private final Set<TrustAnchor> anchors = new HashSet<>();
    private final Set<X509Certificate> anchorCertificates;
    private final long intervalNs;
    private final Map<Serial, Watched> chains = new ConcurrentHashMap<>();     // by the leaf
    private final Map<Serial, String> revoked = new ConcurrentHashMap<>();
    private final AtomicInteger version = new AtomicInteger();
    private final AtomicBoolean warnedFull = new AtomicBoolean();
    private volatile boolean inUse = true;     // false while no transport uses the trust: nothing is fetched
    private final AtomicBoolean warnedNoResponder = new AtomicBoolean();

    OcspStatuses(List<X509Certificate> cas, Duration interval) {
        for (X509Certificate ca : cas) {
            anchors.add(new TrustAnchor(ca, null));
        }
        this.anchorCertificates = Set.copyOf(cas);
        this.intervalNs = interval.toNanos();
        EverySecond.start("baton-ocsp", this, OcspStatuses::askDue);
    }

    /** Starts asking about {@code chain}, a peer chain the trust check accepted, if it is new. */
    @Override
    public void accepted(X509Certificate[] chain) {
        Serial leaf = Serial.of(chain[0]);
        if (chains.containsKey(leaf)) {
            return;
        }
        if (chains.size() >= MAX_CHAINS) {
            if (warnedFull.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.WARNING, "TLS: more than {0} peer certificates to ask OCSP responders "
                        + "about; {1} and any further ones are not asked", MAX_CHAINS,
                        chain[0].getSubjectX500Principal().getName());
            }
            return;
        }
        List<X509Certificate> path = path(chain);
        if (!namesResponder(path)) {
            if (warnedNoResponder.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.INFO, "TLS: the certificate {0} names no OCSP responder (no Authority "
                        + "Information Access): it, and any other such, is not asked about",
                        chain[0].getSubjectX500Principal().getName());
            }
            return;
        }
        Watched w = new Watched(path);
        if (chains.putIfAbsent(leaf, w) == null) {
            w.start(ASK_THREAD);
        }
    }

    /**
     * Why the responders refuse {@code chain}: the first of its certificates (leaf up through its issuers) they said
     * was revoked, in words; null when none.
     */
    @Override
    public String refusal(X509Certificate[] chain) {
        if (revoked.isEmpty()) {
            return null;
        }
        for (X509Certificate c : path(chain)) {
            String why = revoked.get(Serial.of(c));
            if (why != null) {
                return why;
            }
        }
        return null;
    }

    /**
     * Why the status of {@code chain} is not known: no answer to the latest question about it. A chain not asked
     * about yet is asked now; the answer to a question under way is awaited until {@code deadlineNanos}. Null when
     * the status is known, or when the chain names no responder.
     */
    @Override
    public String unknownStatus(X509Certificate[] chain, long deadlineNanos) {
        Serial leaf = Serial.of(chain[0]);
        Watched w = chains.get(leaf);
        if (w == null) {
            if (!namesResponder(path(chain))) {
                return null;
            }
            accepted(chain);
            w = chains.get(leaf);
            if (w == null) {
                return "its revocation status is not known: more than " + MAX_CHAINS + " peer certificates are "
                        + "watched, and it is not asked about";
            }
        }
        if (!w.answered) {
            w.awaitRun(deadlineNanos);      // the question under way, if any (another connection of the peer's)
        }
        if (w.answered) {
            return null;
        }
        String problem = w.lastProblem;
        return "its revocation status is not known: its OCSP responder has not answered"
                + (problem == null ? " yet" : " (" + problem + ")");
    }

    /** Raised by every certificate found revoked. */
    @Override
    public int version() {
        return version.get();
    }

    /** True when a certificate of {@code path} names an OCSP responder (its Authority Information Access). */
    private static boolean namesResponder(List<X509Certificate> path) {
        return path.stream().anyMatch(c -> c.getExtensionValue(AUTHORITY_INFO_ACCESS) != null);
    }

    private List<X509Certificate> path(X509Certificate[] chain) {
        return PeerWatch.path(chain, anchorCertificates);
    }

    @Override
    public void inUse(boolean inUse) {
        this.inUse = inUse;
    }

    private void askDue() {
        if (!inUse) {
            return;
        }
        Recurring.startDue(chains.values(), ASK_THREAD);
    }

    /** Asks about {@code w}'s chain; true when the responders answered that none of it is revoked. */
    private boolean ask(Watched w) {
        String subject = w.path.getFirst().getSubjectX500Principal().getName();
        String problem = null;
        try {
            CertPathValidator validator = CertPathValidator.getInstance("PKIX");
            PKIXRevocationChecker checker = (PKIXRevocationChecker) validator.getRevocationChecker();
            checker.setOptions(EnumSet.of(PKIXRevocationChecker.Option.NO_FALLBACK,
                    PKIXRevocationChecker.Option.SOFT_FAIL));
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);     // the checker added below does it, and only it
            params.addCertPathChecker(checker);
            CertPath path = CertificateFactory.getInstance("X.509").generateCertPath(w.path);
            validator.validate(path, params);
            if (!checker.getSoftFailExceptions().isEmpty()) {
                problem = checker.getSoftFailExceptions().getFirst().getMessage();
            }
        } catch (CertPathValidatorException e) {
            if (e.getReason() == BasicReason.REVOKED && e.getIndex() >= 0 && e.getIndex() < w.path.size()) {
                X509Certificate c = w.path.get(e.getIndex());
                String why = "its issuer's OCSP responder says it has been revoked (" + e.getMessage() + ")";
                chains.remove(Serial.of(w.path.getFirst()));    // refused from now on: never accepted again
                if (revoked.putIfAbsent(Serial.of(c), why) == null) {
                    version.incrementAndGet();
                    LOG.log(System.Logger.Level.WARNING, "TLS: the OCSP responder of {0} says the certificate {1} has "
                            + "been revoked: it is refused from now on ({2})", c.getIssuerX500Principal().getName(),
                            c.getSubjectX500Principal().getName(), e.getMessage());
                }
                return false;
            }
            problem = e.getMessage();
        } catch (GeneralSecurityException | RuntimeException e) {
            problem = String.valueOf(e);
        }
        if (problem != null && !problem.equals(w.lastProblem)) {
            LOG.log(System.Logger.Level.WARNING, "TLS: no OCSP answer about {0}: {1}; asking again, after a second "
                    + "doubled up to {2} s", subject, problem, intervalNs / 1_000_000_000L);
        }
        w.lastProblem = problem;
        return problem == null;
    }
}
