package dev.baton.micrometer;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Serves a Prometheus registry's scrape at {@code /metrics} (and {@code ok} at {@code /healthz}) over HTTP, on
 * the JDK's own server: what {@code bin/baton node --http-port} runs. Needs
 * {@code io.micrometer:micrometer-registry-prometheus} on the class path. GET and HEAD only; binds where it is
 * told (loopback unless said otherwise): the figures are for whoever may see the cluster's traffic.
 */
public final class PrometheusEndpoint implements AutoCloseable {

    private final HttpServer server;
    private final ExecutorService exchanges;

    private PrometheusEndpoint(HttpServer server, ExecutorService exchanges) {
        this.server = server;
        this.exchanges = exchanges;
    }

    /** Starts serving {@code registry} on {@code bind}; throws {@link UncheckedIOException} if it cannot bind. */
    public static PrometheusEndpoint start(PrometheusMeterRegistry registry, InetSocketAddress bind) {
        HttpServer server;
        try {
            server = HttpServer.create(bind, 16);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve metrics on " + bind + ": " + e.getMessage(), e);
        }
        ExecutorService exchanges = Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name("baton-metrics-http-", 0).factory());
        server.createContext("/", x -> serve(x, registry));
        server.setExecutor(exchanges);
        server.start();
        return new PrometheusEndpoint(server, exchanges);
    }

    private static void serve(HttpExchange x, PrometheusMeterRegistry registry) throws IOException {
        try (x) {
            String method = x.getRequestMethod();
            String path = x.getRequestURI().getPath();
            if (!method.equals("GET") && !method.equals("HEAD")) {
                x.getResponseHeaders().set("Allow", "GET, HEAD");
                send(x, 405, "text/plain; charset=utf-8", "only GET and HEAD\n");
            } else if (path.equals("/metrics")) {
                send(x, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape());
            } else if (path.equals("/healthz")) {
                send(x, 200, "text/plain; charset=utf-8", "ok\n");
            } else {
                send(x, 404, "text/plain; charset=utf-8", "not found: try /metrics\n");
            }
        }
    }

    private static void send(HttpExchange x, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", type);
        x.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        boolean head = x.getRequestMethod().equals("HEAD");
        x.sendResponseHeaders(status, head || bytes.length == 0 ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = x.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    /** Where it serves: {@code http://HOST:PORT/metrics}. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    @Override
    public void close() {
        server.stop(0);
        exchanges.shutdownNow();
    }
}
