package dev.baton.micrometer;

import dev.baton.Node;
import dev.baton.NodeStats;
import dev.baton.Status;
import dev.baton.spi.CallRecorder;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * A node's figures as Micrometer meters. Bind it to a registry once; it then records every call of the node's
 * clients in a timer per service, method and status, and reads the node's counters when the registry asks.
 *
 * <pre>{@code
 * PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
 * BatonNodeMetrics metrics = new BatonNodeMetrics(node);
 * metrics.bindTo(registry);
 * ...
 * metrics.close();     // stops recording calls (before the node closes, or after: either is fine)
 * }</pre>
 *
 * <h2>Meters</h2>
 * Every meter carries the tag {@code node} (the node's name) and the tags given to the constructor. Names follow
 * Micrometer's conventions (dot-separated, base units); Prometheus shows {@code baton.client.calls} as
 * {@code baton_client_calls_seconds_count} and {@code _sum}. The list, with what each counts,
 * is in docs/operations.md.
 * <ul>
 *   <li>{@code baton.client.calls} (function timer: count and total time; tags {@code service}, {@code method},
 *       {@code status}: OK or the failure's code): every call of this node's clients, from start to outcome;</li>
 *   <li>{@code baton.client.calls.percentile} (gauges, seconds; the same tags and {@code phi}: 0.5, 0.9, 0.99,
 *       0.999): the latency of those calls since the previous scrape, from a {@link dev.baton.LatencyHistogram}
 *       (within 6.25%);</li>
 *   <li>{@code baton.client.reroutes}, {@code baton.client.late.responses}, {@code baton.client.deadline.expiries},
 *       {@code baton.client.calls.local} (counters);</li>
 *   <li>{@code baton.server.requests.received}, {@code .handled}, {@code .refused} (counters);</li>
 *   <li>{@code baton.node.bytes.received}, {@code baton.node.bytes.sent} (counters, bytes);
 *       {@code baton.node.connections.opened}, {@code .refused}, {@code baton.node.protocol.errors} (counters);
 *       {@code baton.node.connections} (gauge), {@code baton.node.queued} (gauge, bytes),
 *       {@code baton.node.buffers} (gauge, bytes; tag {@code kind}: connection, pooled, reserved).</li>
 * </ul>
 *
 * <h2>Cost</h2>
 * Unbound, the node pays one field read per call. Bound, a call's end reads the clock and adds to its
 * {@code CallStats}, found without allocating (a service map, then a sorted array of methods): three atomic adds,
 * no allocation. Micrometer's own timer (a time-windowed max, a ring of histograms) cost about twice as much per
 * call, so the figures are kept here and read by function meters when the registry scrapes; counters are read
 * from {@link Node#stats()} at scrape time, at most once per {@value #STATS_TTL_MS} ms.
 */
public final class BatonNodeMetrics implements MeterBinder, AutoCloseable, CallRecorder {

    /** How long one {@link NodeStats} snapshot serves the counters of one scrape. */
    static final long STATS_TTL_MS = 200;

    private static final Status.Code[] CODES = Status.Code.values();

    private final Node node;
    private final Tags tags;
    private final Map<String, MethodStats> services = new ConcurrentHashMap<>();
    private volatile MeterRegistry registry;
    private volatile NodeStats cached;
    private volatile long cachedAtNanos;

    /** Meters for {@code node}, tagged with its name and {@code extraTags}. */
    public BatonNodeMetrics(Node node, Iterable<Tag> extraTags) {
        this.node = Objects.requireNonNull(node, "node");
        this.tags = Tags.of("node", node.options().name()).and(extraTags);
    }

    public BatonNodeMetrics(Node node) {
        this(node, Tags.empty());
    }

    /**
     * Registers the meters and starts recording calls. Once: bind a
     * {@link io.micrometer.core.instrument.composite.CompositeMeterRegistry} to reach several registries.
     */
    @Override
    public synchronized void bindTo(MeterRegistry registry) {
        if (this.registry != null) {
            throw new IllegalStateException("already bound to " + this.registry + "; bind a CompositeMeterRegistry to "
                    + "reach several");
        }
        this.registry = registry;
        counter(registry, "baton.client.reroutes", "call attempts sent again to another server (failover)", null,
                NodeStats::reroutes);
        counter(registry, "baton.client.late.responses", "responses that arrived after their call had ended", null,
                NodeStats::lateResponses);
        counter(registry, "baton.client.deadline.expiries", "calls that failed because their deadline passed", null,
                s -> s.failuresByCode().getOrDefault(Status.Code.DEADLINE_EXCEEDED, 0L));
        counter(registry, "baton.client.calls.local", "call attempts delivered in process, without a socket", null,
                NodeStats::localCalls);
        counter(registry, "baton.server.requests.received", "requests that arrived for this node's servers", null,
                NodeStats::requestsReceived);
        counter(registry, "baton.server.requests.handled", "requests handed to a handler or taken by a dealer", null,
                NodeStats::requestsHandled);
        counter(registry, "baton.server.requests.refused", "requests refused before any handler saw them", null,
                NodeStats::requestsRefused);
        counter(registry, "baton.node.bytes.received", "bytes read from data connections", "bytes",
                NodeStats::bytesReceived);
        counter(registry, "baton.node.bytes.sent", "bytes written to data connections", "bytes", NodeStats::bytesSent);
        counter(registry, "baton.node.connections.opened", "data connections opened (first ones and reconnects)", null,
                NodeStats::connectionsOpened);
        counter(registry, "baton.node.connections.refused", "accepted connections closed at once (handshake limit)",
                null, NodeStats::refusedConnections);
        counter(registry, "baton.node.protocol.errors", "connections closed for breaking the protocol", null,
                NodeStats::protocolErrors);
        gauge(registry, "baton.node.connections", "data connections open now", null, Tags.empty(),
                s -> s.openConnections());
        gauge(registry, "baton.node.queued", "payload bytes queued on data connections, not yet written", "bytes",
                Tags.empty(), NodeStats::queuedBytes);
        gauge(registry, "baton.node.buffers", "buffer memory held", "bytes", Tags.of("kind", "connection"),
                NodeStats::connectionBufferBytes);
        gauge(registry, "baton.node.buffers", "buffer memory held", "bytes", Tags.of("kind", "pooled"),
                NodeStats::pooledBufferBytes);
        gauge(registry, "baton.node.buffers", "buffer memory held", "bytes", Tags.of("kind", "reserved"),
                NodeStats::receiveBytesReserved);
        node.callRecorder(this);
    }

    private void counter(MeterRegistry r, String name, String help, String unit, ToDoubleFunction<NodeStats> f) {
        FunctionCounter.builder(name, this, m -> f.applyAsDouble(m.stats())).description(help).baseUnit(unit)
                .tags(tags).register(r);
    }

    private void gauge(MeterRegistry r, String name, String help, String unit, Tags more,
                       ToDoubleFunction<NodeStats> f) {
        Gauge.builder(name, this, m -> f.applyAsDouble(m.stats())).description(help).baseUnit(unit)
                .tags(tags.and(more)).register(r);
    }

    /** The node's counters, read at most once per {@link #STATS_TTL_MS} (one scrape reads many meters). */
    private NodeStats stats() {
        long now = System.nanoTime();
        NodeStats s = cached;
        if (s == null || now - cachedAtNanos > TimeUnit.MILLISECONDS.toNanos(STATS_TTL_MS)) {
            s = node.stats();
            cached = s;
            cachedAtNanos = now;
        }
        return s;
    }

    @Override
    public void callEnded(String service, int method, Status.Code outcome, long nanos) {
        MethodStats m = services.get(service);
        if (m == null) {
            m = services.computeIfAbsent(service, MethodStats::new);
        }
        CallStats c = m.stats(method, outcome.ordinal());
        if (c == null) {
            c = m.register(method, outcome.ordinal(), () -> register(service, method, outcome));
        }
        c.record(nanos);
    }

    /** The meters of one service, method and outcome, over their {@link CallStats}. */
    private CallStats register(String service, int method, Status.Code outcome) {
        CallStats c = new CallStats();
        MeterRegistry r = registry;
        Tags t = tags.and("service", service, "method", Integer.toString(method), "status", outcome.name());
        FunctionTimer.builder("baton.client.calls", c, x -> x.count.get(), x -> x.totalNanos.get(),
                        TimeUnit.NANOSECONDS)
                .description("calls of this node's clients, from start to outcome").tags(t).register(r);
        for (int q = 0; q < CallStats.quantiles(); q++) {
            int i = q;
            Gauge.builder("baton.client.calls.percentile", c,
                            x -> x.percentileSeconds(i, TimeUnit.MILLISECONDS.toNanos(STATS_TTL_MS)))
                    .description("latency of the calls since the previous scrape, at the quantile phi")
                    .baseUnit("seconds").tags(t).tag("phi", Double.toString(CallStats.quantile(q))).register(r);
        }
        return c;
    }

    /** Stops recording calls (the meters stay registered, their counters still read). Idempotent. */
    @Override
    public void close() {
        node.callRecorder(null);
    }
}
