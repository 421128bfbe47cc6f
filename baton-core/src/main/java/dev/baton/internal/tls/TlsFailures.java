package dev.baton.internal.tls;

import java.security.cert.CertificateException;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLException;

/**
 * Turns the JDK's TLS exceptions into messages that say what went wrong (untrusted certificate, no certificate,
 * no protocol in common, not TLS at all), and logs the accepting side's refusals once per remote address.
 *
 * <p>Thread-safe.
 */
public final class TlsFailures {

    private static final System.Logger LOG = System.getLogger(TlsFailures.class.getName());
    /** Addresses remembered as logged; past this the memory starts again (a scan must not grow it without end). */
    private static final int MAX_REMEMBERED = 4096;

    private final Map<String, Boolean> logged = new ConcurrentHashMap<>();

    /**
     * Why a TLS handshake (or the alert that ended it) failed, in words for the user, from the side that sees
     * {@code e}.
     */
    public static String describe(SSLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertificateException && t.getMessage() != null && t.getMessage().startsWith("the ")) {
                return "the peer's certificate was refused: " + t.getMessage();
            }
        }
        String m = String.valueOf(e.getMessage());
        String lower = m.toLowerCase(Locale.ROOT);
        if (isNotTls(e)) {
            return "the peer does not speak TLS (is it a plain-TCP Baton port?): " + m;
        }
        if (lower.contains("certificate_required") || lower.contains("empty client certificate chain")
                || lower.contains("empty server certificate chain")) {
            return "a certificate is required and none was presented: " + m;
        }
        if (lower.contains("received fatal alert: bad_certificate") || lower.contains("certificate_unknown")
                || lower.contains("unknown_ca") || lower.contains("unsupported_certificate")
                || lower.contains("certificate_expired") || lower.contains("certificate_revoked")
                || lower.contains("access_denied")) {
            return "the peer refused this side's certificate: " + m;
        }
        if (lower.contains("protocol_version") || lower.contains("no appropriate protocol")
                || lower.contains("insufficient_security") || lower.contains("handshake_failure")
                || lower.contains("no negotiable cipher") || lower.contains("does not support the protocol")) {
            return "no TLS protocol version or cipher suite in common: " + m;
        }
        return "TLS handshake failed: " + m;
    }

    /** True when the peer's bytes were not TLS at all (a plain Baton peer, say). */
    public static boolean isNotTls(SSLException e) {
        String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        return m.contains("unsupported or unrecognized ssl message") || m.contains("plaintext connection");
    }

    /**
     * Logs the refusal of an accepted connection: once per remote host at WARNING (a misconfigured peer retries
     * all day), after that at DEBUG.
     */
    public void refused(String remoteHost, String remoteAddress, String why) {
        boolean first = logged.putIfAbsent(remoteHost, Boolean.TRUE) == null;
        if (first && logged.size() > MAX_REMEMBERED) {
            logged.clear();
        }
        LOG.log(first ? System.Logger.Level.WARNING : System.Logger.Level.DEBUG,
                "TLS: refused the connection from {0}: {1}{2}", remoteAddress, why,
                first ? " (further refusals of this host are logged at DEBUG)" : "");
    }
}
