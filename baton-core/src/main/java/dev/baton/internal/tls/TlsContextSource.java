package dev.baton.internal.tls;

import dev.baton.Status;
import dev.baton.TlsOptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;

/**
 * The {@link SSLContext} of one {@link TlsOptions}, and the engines of new connections made from it, reloaded
 * when its files change.
 *
 * <p><b>Rotation.</b> {@link #newEngine} is called for each new connection. At most every
 * {@link TlsOptions#reloadInterval()} it compares the files' modification times and sizes with those of the files
 * in force (a cheap {@code stat} each; one thread checks, the others go on with the current context); when they
 * differ it reads them all again and builds a new context, which the following connections use. Connections made
 * earlier keep the engine, and so the certificate, they started with. When the new files cannot be used (a key
 * written before its certificate, a typo) the previous context stays in force and the failure is logged once for
 * that state of the files; a later change is tried again. The revocation list, when there is one, is one of the
 * files: a new list is in force for the connections made after it is read.
 *
 * <p><b>Open connections.</b> The TLS connections also call {@link #reloadIfChanged} on their ticks, so the files
 * are looked at every interval even when no connection is made. A reload that brings other trust (the trusted
 * certificates, trust store or revocation list changed) starts a new {@link #trustGeneration()}; each open
 * connection then asks {@link #refusal} whether the trust now in force still accepts its peer's chain, and closes
 * when it does not (a revoked certificate is cut within the interval, not only refused its next connection).
 *
 * <p><b>Background checks.</b> With {@link TlsOptions#fetchRevocationLists()}, the lists of the CRL distribution
 * points ({@link FetchedRevocationLists}) join the file's; with {@link TlsOptions#ocspInterval()}, the OCSP responders'
 * answers ({@link OcspStatuses}) refuse what they revoked. When either learns something, the next check builds a
 * context with it and starts a new trust generation, as a changed file does.
 *
 * <p>Thread-safe.
 */
public final class TlsContextSource {

    private static final System.Logger LOG = System.getLogger(TlsContextSource.class.getName());

    /** One file's state: what a change is judged by. */
    private record Stamp(Path file, long modifiedMillis, long size) {
    }

    /** A context and the state of the files it was read from. */
    private record Loaded(SSLContext context, PeerTrust trust, int trustGeneration, List<Stamp> stamps,
                          String subject, int watchVersion) {
    }

    private final TlsOptions options;
    private final long reloadIntervalNs;
    private final String[] protocols;
    private final String[] cipherSuites;        // null: the JDK's defaults
    private final FetchedRevocationLists fetched;  // null: none are fetched
    private final List<PeerWatch> watches;          // the fetched lists and the OCSP answers, when asked for
    private final AtomicBoolean checking = new AtomicBoolean();
    private int openTransports;             // guarded by this
    private volatile Loaded current;
    private volatile long nextCheckNanos;
    private List<Stamp> lastFailed;         // guarded by checking

    private TlsContextSource(TlsOptions options, FetchedRevocationLists fetched, List<PeerWatch> watches,
                             Loaded first) {
        this.options = options;
        this.fetched = fetched;
        this.watches = watches;
        this.reloadIntervalNs = options.reloadInterval().toNanos();
        this.protocols = options.protocols().toArray(String[]::new);
        this.cipherSuites = options.cipherSuites().isEmpty() ? null : options.cipherSuites().toArray(String[]::new);
        this.current = first;
        this.nextCheckNanos = System.nanoTime() + reloadIntervalNs;
    }

    /** Reads the files of {@code options}; a file that cannot be used fails with INVALID_ARGUMENT saying why. */
    public static TlsContextSource load(TlsOptions options) {
        Objects.requireNonNull(options, "options");
        try {
            List<PeerWatch> watches = new ArrayList<>();
            FetchedRevocationLists fetched = null;
            if (options.ocspInterval() != null || options.fetchRevocationLists()) {
                List<X509Certificate> cas = TlsKeyStores.trustedCas(options);
                if (options.ocspInterval() != null) {
                    watches.add(new OcspStatuses(cas, options.ocspInterval()));
                }
                if (options.fetchRevocationLists()) {
                    fetched = new FetchedRevocationLists(cas, options.revocationFetchTimeout());
                    watches.add(fetched);
                    List<X509Certificate> known = new ArrayList<>(cas);
                    Identity identity = TlsKeyStores.identityOf(options);
                    if (identity != null) {
                        known.addAll(List.of(identity.chain()));
                    }
                    fetched.fetchKnown(known);
                }
            }
            return new TlsContextSource(options, fetched, List.copyOf(watches),
                    build(options, stamps(options), 0, fetched, watches));
        } catch (IOException | GeneralSecurityException e) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "TLS: " + e.getMessage()).withCause(e).asException();
        }
    }

    /**
     * A transport that uses this source opened ({@code true}) or closed. While none is open the background checks
     * (fetched lists, OCSP) rest: a closed node asks nothing of the network, though nothing closes a source.
     */
    public synchronized void transportOpen(boolean open) {
        openTransports += open ? 1 : -1;
        for (PeerWatch w : watches) {
            w.inUse(openTransports > 0);
        }
    }

    /**
     * True when checking a peer's certificate may wait for the network (the options require a known revocation
     * status): a connection then runs its handshake's delegated tasks off its I/O thread.
     */
    public boolean checksMayBlock() {
        return options.revocationStatusRequired();
    }

    /** True when this side has a certificate of its own: it can accept connections. */
    public boolean hasIdentity() {
        return options.hasIdentity();
    }

    /**
     * An engine for a new connection, from the current context (reloaded first if the files changed): client mode
     * for a connection this side opened; otherwise server mode, requiring the peer's certificate.
     */
    public SSLEngine newEngine(boolean client) {
        reloadIfChanged();
        SSLEngine engine = current.context().createSSLEngine();   // no peer host: no session is ever resumed
        engine.setUseClientMode(client);
        SSLParameters p = engine.getSSLParameters();
        p.setProtocols(protocols);
        if (cipherSuites != null) {
            p.setCipherSuites(cipherSuites);
        }
        if (!client) {
            p.setNeedClientAuth(true);
        }
        engine.setSSLParameters(p);
        return engine;
    }

    /** The subject of this side's certificate now in force, or null without one. For logs and tests. */
    public String subject() {
        return current.subject();
    }

    /**
     * The generation of the trust in force: it changes when a reload brings other trusted certificates or revocation
     * lists. Read it before {@link #newEngine}: a connection whose engine came from a later generation then checks
     * its peer once more than it needs, never once less.
     */
    public int trustGeneration() {
        return current.trustGeneration();
    }

    /**
     * Why the trust now in force refuses {@code chain}, the peer's certificates of an open connection (the client's
     * when {@code peerIsClient}), checked as a new connection's would be now; null when it accepts them.
     */
    public String refusal(X509Certificate[] chain, boolean peerIsClient) {
        try {
            current.trust().recheck(chain, peerIsClient);
            return null;
        } catch (CertificateException e) {
            return e.getMessage();
        }
    }

    /** Reads the files again if they changed, at most every reload interval (a cheap time check otherwise). */
    public void reloadIfChanged() {
        long now = System.nanoTime();
        if (now - nextCheckNanos < 0 || !checking.compareAndSet(false, true)) {
            return;
        }
        try {
            nextCheckNanos = now + reloadIntervalNs;
            List<Stamp> stamps = stamps(options);
            boolean watchesChanged = watchVersion(watches) != current.watchVersion();
            if (!watchesChanged && (stamps.equals(current.stamps()) || stamps.equals(lastFailed))) {
                return;
            }
            try {
                boolean sameTrust = !watchesChanged && trustFiles(stamps).equals(trustFiles(current.stamps()));
                Loaded loaded = build(options, stamps, sameTrust ? current.trustGeneration()
                        : current.trustGeneration() + 1, fetched, watches);
                boolean filesChanged = !stamps.equals(current.stamps());
                current = loaded;
                lastFailed = null;
                if (filesChanged) {
                    LOG.log(System.Logger.Level.INFO, "TLS: files changed; new connections use {0}",
                            loaded.subject() != null ? "the certificate " + loaded.subject() : "the new trust");
                }
            } catch (IOException | GeneralSecurityException | RuntimeException e) {
                lastFailed = stamps;
                LOG.log(System.Logger.Level.WARNING, "TLS: the changed files cannot be used; connections go on with "
                        + "the previous ones until they change again: {0}", e.getMessage());
            }
        } finally {
            checking.set(false);
        }
    }

    private static List<Path> files(TlsOptions o) {
        List<Path> files = new ArrayList<>();
        for (Path p : new Path[] {o.certificateChain(), o.privateKey(), o.keyStore(), o.trustedCertificates(),
                o.trustStore(), o.revocationList()}) {
            if (p != null) {
                files.add(p);
            }
        }
        return files;
    }

    /** The stamps of the files that say whom to trust. */
    private List<Stamp> trustFiles(List<Stamp> stamps) {
        List<Path> trust = new ArrayList<>();
        for (Path p : new Path[] {options.trustedCertificates(), options.trustStore(), options.revocationList()}) {
            if (p != null) {
                trust.add(p);
            }
        }
        return stamps.stream().filter(s -> trust.contains(s.file())).toList();
    }

    private static List<Stamp> stamps(TlsOptions o) {
        List<Stamp> stamps = new ArrayList<>();
        for (Path p : files(o)) {
            try {
                stamps.add(new Stamp(p, Files.getLastModifiedTime(p).toMillis(), Files.size(p)));
            } catch (IOException e) {
                stamps.add(new Stamp(p, -1, -1));   // missing now: a change, and a load that fails
            }
        }
        return stamps;
    }

    /** What the watches know changes this: each raises its own version. */
    private static int watchVersion(List<PeerWatch> watches) {
        int sum = 0;
        for (PeerWatch w : watches) {
            sum += w.version();
        }
        return sum;
    }

    /**
     * A context from the files of {@code o}, the lists {@code fetched} holds (none when it is null) and the other
     * {@code watches}.
     */
    private static Loaded build(TlsOptions o, List<Stamp> stamps, int trustGeneration, FetchedRevocationLists fetched,
                                List<PeerWatch> watches) throws IOException, GeneralSecurityException {
        try {
            Identity identity = TlsKeyStores.identityOf(o);
            List<X509Certificate> cas = TlsKeyStores.trustedCas(o);
            List<X509CRL> crls = new ArrayList<>();
            if (o.revocationList() != null) {
                crls.addAll(Pem.crls(o.revocationList()));
                Revocation.checkSignatures(o.revocationList(), cas, crls);
            }
            int watchVersion = watchVersion(watches);   // before the lists: a later one is seen at the next check
            if (fetched != null) {
                crls.addAll(fetched.lists());
            }
            PeerTrust trust = new PeerTrust(cas, crls, o.pinnedSha256(), o.peerName(), watches,
                    o.revocationStatusRequired());
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(identity == null ? null : new KeyManager[] {identity}, new TrustManager[] {trust}, null);
            return new Loaded(context, trust, trustGeneration, stamps,
                    identity == null ? null : identity.leaf().getSubjectX500Principal().getName(), watchVersion);
        } catch (NoSuchFileException e) {
            throw new IOException("no such file: " + e.getFile(), e);
        }
    }
}
