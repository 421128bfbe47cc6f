package dev.baton.status;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.function.Supplier;

/** The page's HTTP endpoints (see {@link StatusPage}). Read-only: GET and HEAD, nothing else. */
final class Routes {

    /** A comment on an idle event stream this often, so proxies and the browser keep it open. */
    private static final long HEARTBEAT_MS = 15_000;
    /** The page's own files, and styles set by uPlot's code; nothing from elsewhere. */
    private static final String CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:";

    private final Collector collector;
    private final EventStreams streams;
    private final Assets assets;
    private final Supplier<String> metrics;     // null: no /metrics

    Routes(Collector collector, EventStreams streams, Assets assets, Supplier<String> metrics) {
        this.collector = collector;
        this.streams = streams;
        this.assets = assets;
        this.metrics = metrics;
    }

    void install(HttpServer server) {
        server.createContext("/", this::serve);
    }

    private void serve(HttpExchange x) throws IOException {
        try (x) {
            String method = x.getRequestMethod();
            if (!method.equals("GET") && !method.equals("HEAD")) {
                x.getResponseHeaders().set("Allow", "GET, HEAD");
                send(x, 405, "text/plain; charset=utf-8", "only GET and HEAD\n".getBytes(StandardCharsets.UTF_8));
                return;
            }
            String path = x.getRequestURI().getPath();
            switch (path) {
                case "/api/v1/status" -> send(x, 200, "application/json", utf8(collector.latest()));
                case "/api/v1/history" -> send(x, 200, "application/json", utf8(collector.history()));
                case "/api/v1/events" -> stream(x);
                case "/healthz" -> send(x, 200, "text/plain; charset=utf-8", utf8("ok\n"));
                case "/metrics" -> {
                    if (metrics == null) {
                        send(x, 404, "text/plain; charset=utf-8", utf8("no metrics here (the master serves them"
                                + " with baton-micrometer: bin/baton master --http-port)\n"));
                    } else {
                        send(x, 200, "text/plain; version=0.0.4; charset=utf-8", utf8(metrics.get()));
                    }
                }
                default -> {
                    Assets.Asset a = assets.files().get(path);
                    if (a == null) {
                        send(x, 404, "text/plain; charset=utf-8", utf8("not found\n"));
                    } else {
                        send(x, 200, a.contentType(), a.bytes());
                    }
                }
            }
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void headers(HttpExchange x, String type) {
        Headers h = x.getResponseHeaders();
        h.set("Content-Type", type);
        h.set("Cache-Control", "no-store");
        h.set("X-Content-Type-Options", "nosniff");
        h.set("Content-Security-Policy", CSP);
    }

    private static void send(HttpExchange x, int status, String type, byte[] body) throws IOException {
        headers(x, type);
        boolean head = x.getRequestMethod().equals("HEAD");
        x.sendResponseHeaders(status, head ? -1 : body.length == 0 ? -1 : body.length);
        if (!head) {
            try (OutputStream out = x.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** A server-sent event stream: the latest status at once, then one {@code status} event per sample. */
    private void stream(HttpExchange x) throws IOException {
        BlockingQueue<String> q = streams.open();
        if (q == null) {
            send(x, 503, "text/plain; charset=utf-8", utf8("too many event streams open\n"));
            return;
        }
        try {
            headers(x, "text/event-stream; charset=utf-8");
            x.sendResponseHeaders(200, 0);
            OutputStream out = x.getResponseBody();
            if (x.getRequestMethod().equals("HEAD")) {
                return;
            }
            out.write(utf8("retry: 2000\n"));
            event(out, collector.latest());
            while (true) {
                String doc = EventStreams.next(q, HEARTBEAT_MS);
                if (doc == null) {
                    out.write(utf8(": keepalive\n\n"));
                    out.flush();
                } else if (EventStreams.isEnd(doc)) {
                    return;
                } else {
                    event(out, doc);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException gone) {
            // the browser went away
        } finally {
            streams.release(q);
        }
    }

    private static void event(OutputStream out, String json) throws IOException {
        out.write(utf8("event: status\ndata: " + json + "\n\n"));     // Gson's compact JSON has no newline
        out.flush();
    }
}
