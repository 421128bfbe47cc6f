package dev.baton.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import dev.baton.pki.CertificateAuthority;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The revocation status of a development PKI ({@link DevPki}) over HTTP, what {@code baton certs serve} runs: the
 * CA's revocation list (DER, signed afresh at each request) at every path but {@code /ocsp}, and its OCSP answers
 * (RFC 6960: a POSTed request, or a GET of {@code /ocsp/} and the request in base64) at {@code /ocsp}. Both say what
 * {@code DIR/crl.pem} lists, the file {@code baton certs revoke} writes, read again whenever it changes, so a
 * revocation is served at once; both are valid for {@code validity} from a minute ago.
 *
 * <p>Bad input gets an HTTP error or OCSP's {@code malformedRequest}, never more than a small bounded read: a request
 * body is read up to {@link #MAX_REQUEST_BYTES}. A {@code crl.pem} that cannot be read (another CA's list, a
 * partial write) gets HTTP 500 with the reason, logged once per state of the file, and the previous entries are not
 * served in its place. Thread-safe; {@link #close()} stops it.
 */
final class DevRevocationServer implements AutoCloseable {

    static final int MAX_REQUEST_BYTES = 16 * 1024;
    /** How far before the request a list or answer is valid from: the clocks of the two sides may differ. */
    private static final Duration BACKDATE = Duration.ofMinutes(1);
    private static final String OCSP_PATH = "/ocsp";

    /** What crl.pem listed, read at one state of the file. */
    private record Listed(FileTime modified, long size, Map<BigInteger, Instant> revoked, String problem) {
    }

    private final HttpServer http;
    private final ExecutorService exchanges = Executors.newVirtualThreadPerTaskExecutor();
    private final Path dir;
    private final CertificateAuthority ca;
    private final Duration validity;
    private final PrintWriter err;
    private Listed listed;      // guarded by this

    private DevRevocationServer(HttpServer http, Path dir, CertificateAuthority ca, Duration validity,
                                PrintWriter err) {
        this.http = http;
        this.dir = dir;
        this.ca = ca;
        this.validity = validity;
        this.err = err;
    }

    /** Starts serving {@code dir}'s CA, whose key is {@code ca}'s, on {@code bind}. */
    static DevRevocationServer start(InetSocketAddress bind, Path dir, CertificateAuthority ca, Duration validity,
                                     PrintWriter err) throws IOException {
        HttpServer http = HttpServer.create(bind, 64);
        DevRevocationServer s = new DevRevocationServer(http, dir, ca, validity, err);
        s.listed();         // a crl.pem that cannot be read is said at start
        http.setExecutor(s.exchanges);
        http.createContext("/", s::answerList);
        http.createContext(OCSP_PATH, s::answerOcsp);
        http.start();
        return s;
    }

    /** Where it listens: {@code http://HOST:PORT}. */
    URI uri() {
        InetSocketAddress a = http.getAddress();
        String host = a.getAddress().getHostAddress();
        return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort());
    }

    @Override
    public void close() {
        http.stop(0);
        exchanges.shutdownNow();
    }

    private void answerList(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
                sendText(exchange, 405, "GET the revocation list");
                return;
            }
            Listed l = listed();
            if (l.revoked() == null) {
                sendText(exchange, 500, l.problem());
                return;
            }
            Instant now = Instant.now();
            byte[] der = encoded(ca.revocationList(l.revoked(), now.minus(BACKDATE), now.plus(validity)));
            send(exchange, 200, "application/pkix-crl", exchange.getRequestMethod().equals("HEAD") ? null : der);
        }
    }

    private void answerOcsp(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] request;
            String method = exchange.getRequestMethod();
            if (method.equals("POST")) {
                request = readBounded(exchange.getRequestBody());
            } else if (method.equals("GET") && exchange.getRequestURI().getRawPath().startsWith(OCSP_PATH + "/")) {
                String encoded = exchange.getRequestURI().getRawPath().substring(OCSP_PATH.length() + 1);
                try {
                    request = Base64.getDecoder().decode(URLDecoder.decode(encoded, StandardCharsets.US_ASCII));
                } catch (IllegalArgumentException e) {
                    request = new byte[0];      // answered malformedRequest, as an unparsable POST is
                }
            } else {
                sendText(exchange, 405, "POST an OCSP request, or GET /ocsp/BASE64");
                return;
            }
            if (request == null) {
                sendText(exchange, 413, "at most " + MAX_REQUEST_BYTES + " bytes");
                return;
            }
            Listed l = listed();
            if (l.revoked() == null) {
                sendText(exchange, 500, l.problem());
                return;
            }
            Instant now = Instant.now();
            send(exchange, 200, "application/ocsp-response",
                    ca.ocspResponse(request, l.revoked(), now.minus(BACKDATE), now.plus(validity)));
        }
    }

    /**
     * What {@code DIR/crl.pem} lists now (none without the file), read again when it changed; when it cannot be read,
     * no entries and the reason.
     */
    private synchronized Listed listed() {
        Path file = dir.resolve(DevPki.CRL);
        FileTime modified;
        long size;
        try {
            modified = Files.getLastModifiedTime(file);
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            modified = FileTime.fromMillis(0);
            size = -1;
        } catch (IOException e) {
            modified = FileTime.fromMillis(0);
            size = -2;
        }
        Listed now = listed;
        if (now == null || !now.modified().equals(modified) || now.size() != size) {
            try {
                now = new Listed(modified, size, Map.copyOf(DevPki.revoked(dir, ca)), null);
            } catch (IOException | RuntimeException e) {
                now = new Listed(modified, size, null, String.valueOf(e.getMessage()));
                err.println("baton certs serve: " + now.problem() + " (answering HTTP 500 until it is rewritten)");
                err.flush();
            }
            listed = now;
        }
        return now;
    }

    /** Up to {@link #MAX_REQUEST_BYTES} of {@code in}; null when it holds more. */
    private static byte[] readBounded(InputStream in) throws IOException {
        byte[] b = in.readNBytes(MAX_REQUEST_BYTES + 1);
        return b.length > MAX_REQUEST_BYTES ? null : b;
    }

    private static byte[] encoded(java.security.cert.X509CRL crl) {
        try {
            return crl.getEncoded();
        } catch (java.security.cert.CRLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sendText(HttpExchange exchange, int status, String text) throws IOException {
        send(exchange, status, "text/plain", (text + "\n").getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange exchange, int status, String type, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(status, body == null ? -1 : body.length);
        if (body != null) {
            exchange.getResponseBody().write(body);
        }
    }
}
