package dev.baton.status;

import com.sun.net.httpserver.HttpServer;
import dev.baton.Master;
import dev.baton.Probe;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The master's live status page: what {@code bin/baton status} shows (every node's calls, errors, latency,
 * connections; the services and their servers), plus the coordination state (lock holders, barriers and who
 * has arrived, id counters, key counts), the accumulators' values, and charts of each node's call rate and
 * p99 latency over the last minutes, updated live through server-sent events. Everything the page needs is
 * served by this server (the charts are uPlot, from the class path): it works with no internet access.
 *
 * <pre>{@code
 * try (Master master = Master.start(9394);
 *      StatusPage page = StatusPage.builder(master).bind(new InetSocketAddress("127.0.0.1", 9395)).start()) {
 *     ...   // open http://127.0.0.1:9395/
 * }
 * }</pre>
 *
 * <h2>Endpoints</h2>
 * {@code /} the page; {@code /api/v1/status} the latest status (JSON); {@code /api/v1/history} the recent
 * points of the charts (JSON); {@code /api/v1/events} a server-sent event stream with one {@code status}
 * event per sample; {@code /healthz} "ok"; {@code /metrics} a Prometheus scrape, when {@link Builder#metrics}
 * gave one. Only GET and HEAD. Fields are documented in docs/operations.md.
 *
 * <h2>Threads</h2>
 * One platform thread samples the cluster every {@link Builder#sampleInterval} (asking the nodes through a
 * {@link Probe}, in parallel); HTTP exchanges run on virtual threads, one per open event stream. It binds
 * loopback by default; the page is read-only and needs no credentials, so do not expose it beyond who may see
 * the cluster's membership and figures.
 */
public final class StatusPage implements AutoCloseable {

    /** Most event streams open at once; more are refused with 503. */
    static final int MAX_STREAMS = 32;

    private final HttpServer http;
    private final ExecutorService exchanges;
    private final Collector collector;
    private final EventStreams streams;
    private final Probe ownProbe;       // closed with the page; null when the builder was given one

    private StatusPage(Builder b) throws IOException {
        this.streams = new EventStreams(MAX_STREAMS);
        this.ownProbe = b.probe == null ? Probe.tcp() : null;
        this.collector = new Collector(b.master, b.probe != null ? b.probe : ownProbe, b.sampleInterval, b.history,
                streams);
        this.exchanges = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("baton-status-http-", 0).factory());
        HttpServer server = HttpServer.create(b.bind, 64);
        try {
            new Routes(collector, streams, Assets.load(), b.metrics).install(server);
            server.setExecutor(exchanges);
            server.start();
        } catch (RuntimeException e) {
            server.stop(0);
            exchanges.shutdownNow();
            if (ownProbe != null) {
                ownProbe.close();
            }
            throw e;
        }
        this.http = server;
        collector.start();
    }

    /** A status page for {@code master}; {@link Builder#start()} starts it. */
    public static Builder builder(Master master) {
        return new Builder(master);
    }

    /** Where the page is served: {@code http://HOST:PORT/}. */
    public InetSocketAddress address() {
        return http.getAddress();
    }

    /** Stops sampling, ends the event streams and stops the server. Idempotent. */
    @Override
    public void close() {
        collector.close();
        streams.close();
        http.stop(0);
        exchanges.shutdownNow();
        if (ownProbe != null) {
            ownProbe.close();
        }
    }

    /** Options of a {@link StatusPage}. */
    public static final class Builder {
        private final Master master;
        private InetSocketAddress bind = new InetSocketAddress("127.0.0.1", 0);
        private Duration sampleInterval = Duration.ofSeconds(1);
        private Duration history = Duration.ofMinutes(5);
        private Probe probe;
        private java.util.function.Supplier<String> metrics;

        private Builder(Master master) {
            this.master = Objects.requireNonNull(master, "master");
        }

        /** Where to serve the page; default 127.0.0.1 on a free port. */
        public Builder bind(InetSocketAddress bind) {
            this.bind = Objects.requireNonNull(bind, "bind");
            return this;
        }

        /** How often to sample the cluster (and push an event); default 1 s, at least 100 ms. */
        public Builder sampleInterval(Duration interval) {
            if (interval.compareTo(Duration.ofMillis(100)) < 0) {
                throw new IllegalArgumentException("sampleInterval must be at least 100 ms, was " + interval);
            }
            this.sampleInterval = interval;
            return this;
        }

        /** How far back the charts go; default 5 minutes, at most one day. */
        public Builder history(Duration history) {
            if (history.isNegative() || history.isZero() || history.compareTo(Duration.ofDays(1)) > 0) {
                throw new IllegalArgumentException("history must be positive and at most one day, was " + history);
            }
            this.history = history;
            return this;
        }

        /**
         * How to ask the nodes (over the cluster's transport); the caller keeps it and closes it after the page.
         * Default: a {@link Probe#tcp()} of the page's own, closed with it. A cluster with a cluster secret needs a
         * probe that has it: {@code Probe.over(TransportFactory.tcp().withClusterSecret(secret))}.
         */
        public Builder probe(Probe probe) {
            this.probe = Objects.requireNonNull(probe, "probe");
            return this;
        }

        /**
         * Also serves {@code /metrics}: the text {@code scrape} returns, in Prometheus' exposition format (e.g.
         * {@code PrometheusMeterRegistry::scrape} with {@code baton-micrometer}'s master binder). Off by default.
         */
        public Builder metrics(java.util.function.Supplier<String> scrape) {
            this.metrics = Objects.requireNonNull(scrape, "scrape");
            return this;
        }

        /** Starts serving; throws {@link UncheckedIOException} if it cannot bind. */
        public StatusPage start() {
            try {
                return new StatusPage(this);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot serve the status page on " + bind + ": " + e.getMessage(), e);
            }
        }
    }
}
