package dev.baton.internal.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Revocation lists fetched over HTTP from the CRL distribution points that trusted certificates name, kept fresh
 * in the background: the handshake never waits for the network.
 *
 * <p><b>Which points.</b> Those of this side's own chain and of the trusted CAs, fetched once when the options are
 * loaded ({@link #fetchKnown}, each bounded by the fetch timeout, so a node starts with its CA's list), and those of
 * every peer chain that has already passed the trust check ({@link #accepted}: a certificate no trusted CA signed
 * makes this side fetch nothing). At most {@link #MAX_POINTS} points; the ones past it are ignored, logged once.
 *
 * <p><b>When.</b> A point seen for the first time is fetched at once, on a virtual thread of its own; a fetched list
 * again halfway to its next update (at least a second, at most an hour later); a failed fetch again after a backoff
 * from a second, doubled up to five minutes. A virtual thread looks every second for what is due, with or without
 * connections, and ends when these lists are no longer referenced.
 *
 * <p><b>What is kept.</b> A list must parse, be at most {@link #MAX_BYTES}, and, when it is issued in the name of a
 * trusted CA, carry that CA's signature ({@link Revocation#signatureProblem}); one that is not newer than the list
 * held (by its thisUpdate) is dropped, so a replayed old list cannot undo a revocation. Each list kept raises
 * {@link #version()}: the source then builds new trust from the file's lists and these, and the open connections
 * check their peers again. A fetch that fails leaves the list held in force until its next update, after which its
 * issuer's certificates are refused ({@link Revocation.Fresh}), as with a stale file. A failure is logged when it
 * differs from the point's previous one, not at every retry.
 *
 * <p><b>Hard mode.</b> When the options require a known status, {@link #unknownStatus} refuses a new peer's chain
 * while a certificate of it names points and no list of its issuer has come from them (fetching starts).
 *
 * <p>Thread-safe.
 */
final class FetchedRevocationLists implements PeerWatch {

    private static final System.Logger LOG = System.getLogger(FetchedRevocationLists.class.getName());

    static final int MAX_POINTS = 64;
    static final long MAX_BYTES = 64L << 20;
    private static final long MIN_REFRESH_NS = TimeUnit.SECONDS.toNanos(1);
    private static final long MAX_REFRESH_NS = TimeUnit.HOURS.toNanos(1);
    private static final long MAX_BACKOFF_NS = TimeUnit.MINUTES.toNanos(5);
    private static final String FETCH_THREAD = "baton-crl-fetch";

    /** One distribution point: the list last kept from it; a run fetches it again. */
    private final class Point extends Recurring {
        final URI uri;
        volatile X509CRL crl;
        int failures;           // written by the runs, one at a time
        volatile String lastFailure;     // what the last warning said; null after a success

        Point(URI uri) {
            super(System.nanoTime());
            this.uri = uri;
        }

        @Override
        long run() {
            return fetch(this);
        }
    }

    private final List<X509Certificate> cas;
    private final Set<X509Certificate> anchors;
    private final Duration timeout;
    private final Map<URI, Point> points = new ConcurrentHashMap<>();
    private final AtomicInteger version = new AtomicInteger();
    private final AtomicBoolean warnedFull = new AtomicBoolean();
    private volatile boolean inUse = true;     // false while no transport uses the trust: nothing is fetched

    FetchedRevocationLists(List<X509Certificate> cas, Duration timeout) {
        this.cas = List.copyOf(cas);
        this.anchors = Set.copyOf(cas);
        this.timeout = timeout;
        EverySecond.start("baton-crl-refresh", this, FetchedRevocationLists::refreshDue);
    }

    /** Fetches the points {@code certificates} name now, waiting for each at most the fetch timeout. */
    void fetchKnown(List<X509Certificate> certificates) {
        List<Thread> started = new ArrayList<>();
        for (X509Certificate c : certificates) {
            for (URI uri : DistributionPoints.httpUris(c)) {
                Thread t = add(uri);
                if (t != null) {
                    started.add(t);
                }
            }
        }
        long deadline = System.nanoTime() + timeout.toNanos() + MIN_REFRESH_NS;
        for (Thread t : started) {
            try {
                t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Starts fetching the new points of {@code chain}, a peer chain the trust check accepted: of its leaf, and of
     * each certificate after it that issued the one before (a peer may append certificates of its choosing that no
     * CA vouched for, and this side fetches nothing they name).
     */
    @Override
    public void accepted(X509Certificate[] chain) {
        int linked = 0;     // chain[0..linked] each issued the one before: checked only when a new point needs it
        for (int i = 0; i < chain.length; i++) {
            for (URI uri : DistributionPoints.httpUris(chain[i])) {
                if (points.containsKey(uri)) {
                    continue;
                }
                for (; linked < i; linked++) {
                    if (!PeerWatch.issued(chain[linked + 1], chain[linked])) {
                        return;
                    }
                }
                add(uri);
            }
        }
    }

    /**
     * Why the status of {@code chain} is not known: a certificate of it names distribution points and no list of its
     * issuer has come from any of them. New points are fetched now, and the lists awaited until
     * {@code deadlineNanos}. Null when every such certificate has its list.
     */
    @Override
    public String unknownStatus(X509Certificate[] chain, long deadlineNanos) {
        for (X509Certificate c : PeerWatch.path(chain, anchors)) {
            List<URI> uris = DistributionPoints.httpUris(c);
            if (uris.isEmpty() || listed(c, uris)) {
                continue;
            }
            accepted(chain);
            for (URI uri : uris) {
                Point p = points.get(uri);
                if (p != null) {
                    p.awaitRun(deadlineNanos);
                }
            }
            if (listed(c, uris)) {
                continue;
            }
            Point p = points.get(uris.getFirst());
            String failure = p == null ? null : p.lastFailure;
            return "its revocation status is not known: no list of " + c.getIssuerX500Principal().getName()
                    + " has come from " + uris.getFirst() + (failure == null ? " yet" : " (" + failure + ")");
        }
        return null;
    }

    /** True when a list of {@code c}'s issuer is held from one of {@code uris}. */
    private boolean listed(X509Certificate c, List<URI> uris) {
        for (URI uri : uris) {
            Point p = points.get(uri);
            X509CRL crl = p == null ? null : p.crl;
            if (crl != null && crl.getIssuerX500Principal().equals(c.getIssuerX500Principal())) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void inUse(boolean inUse) {
        this.inUse = inUse;
    }

    private void refreshDue() {
        if (!inUse) {
            return;
        }
        Recurring.startDue(points.values(), FETCH_THREAD);
    }

    /** The lists kept, one per point that has one. */
    List<X509CRL> lists() {
        List<X509CRL> lists = new ArrayList<>();
        for (Point p : points.values()) {
            X509CRL crl = p.crl;
            if (crl != null) {
                lists.add(crl);
            }
        }
        return lists;
    }

    /** Raised by every list kept. */
    @Override
    public int version() {
        return version.get();
    }

    private Thread add(URI uri) {
        if (points.containsKey(uri)) {
            return null;
        }
        if (points.size() >= MAX_POINTS) {
            if (warnedFull.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.WARNING, "TLS: more than {0} CRL distribution points; {1} and any further "
                        + "ones are not fetched", MAX_POINTS, uri);
            }
            return null;
        }
        Point p = new Point(uri);
        return points.putIfAbsent(uri, p) == null ? p.start(FETCH_THREAD) : null;
    }

    /** Fetches {@code p}'s list and keeps it if it may; returns when to fetch it next. */
    private long fetch(Point p) {
        long now = System.nanoTime();
        try {
            X509CRL crl = download(p.uri);
            String forged = Revocation.signatureProblem(cas, crl);
            if (forged != null) {
                throw new IOException(forged);
            }
            X509CRL held = p.crl;
            if (held == null || crl.getThisUpdate().after(held.getThisUpdate())) {
                p.crl = crl;
                version.incrementAndGet();
                LOG.log(System.Logger.Level.INFO, "TLS: fetched the revocation list of {0} from {1} ({2} revoked, next "
                        + "update {3})", crl.getIssuerX500Principal().getName(), p.uri,
                        crl.getRevokedCertificates() == null ? 0 : crl.getRevokedCertificates().size(),
                        crl.getNextUpdate() == null ? "not given" : crl.getNextUpdate().toInstant());
            } else if (!Arrays.equals(crl.getEncoded(), held.getEncoded())
                    && crl.getThisUpdate().before(held.getThisUpdate())) {
                LOG.log(System.Logger.Level.WARNING, "TLS: {0} served a revocation list older than the one held "
                        + "(this update {1}, held {2}); the held one stays", p.uri, crl.getThisUpdate().toInstant(),
                        held.getThisUpdate().toInstant());
            }
            p.failures = 0;
            p.lastFailure = null;
            long untilNext = crl.getNextUpdate() == null ? MAX_REFRESH_NS
                    : TimeUnit.MILLISECONDS.toNanos(crl.getNextUpdate().getTime() - System.currentTimeMillis()) / 2;
            return now + Math.clamp(untilNext, MIN_REFRESH_NS, MAX_REFRESH_NS);
        } catch (IOException | GeneralSecurityException e) {
            p.failures++;
            if (!String.valueOf(e.getMessage()).equals(p.lastFailure)) {
                p.lastFailure = String.valueOf(e.getMessage());
                LOG.log(System.Logger.Level.WARNING, "TLS: cannot use the revocation list at {0}: {1}; retrying, "
                        + "the list held (if any) stays in force until its next update", p.uri, e.getMessage());
            }
            return now + Math.min(MAX_BACKOFF_NS, MIN_REFRESH_NS << Math.min(p.failures - 1, 20));
        } catch (InterruptedException e) {
            return now + MIN_REFRESH_NS;
        }
    }

    /** GETs {@code uri}: a DER or PEM CRL of at most {@link #MAX_BYTES}, within the fetch timeout all told. */
    private X509CRL download(URI uri) throws IOException, GeneralSecurityException, InterruptedException {
        try (HttpClient client = HttpClient.newBuilder().connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER).build()) {
            HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
            var response = client.sendAsync(request, HttpResponse.BodyHandlers.limiting(
                    HttpResponse.BodyHandlers.ofByteArray(), MAX_BYTES));
            HttpResponse<byte[]> r;
            try {
                r = response.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                response.cancel(true);
                client.shutdownNow();
                throw new IOException("no whole answer within " + timeout.toMillis() + " ms");
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                throw cause instanceof IOException io ? io : new IOException(String.valueOf(cause), cause);
            }
            if (r.statusCode() != 200) {
                throw new IOException("HTTP status " + r.statusCode());
            }
            return (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(r.body()));
        }
    }
}
