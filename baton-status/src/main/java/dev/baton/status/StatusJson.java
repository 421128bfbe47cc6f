package dev.baton.status;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.baton.CoordinationState;
import dev.baton.LatencyHistogram;
import dev.baton.Membership;
import dev.baton.NodeInfo;
import dev.baton.NodeStats;
import dev.baton.NodeStatus;
import dev.baton.ServerInfo;
import dev.baton.accumulator.AccumulatorValue;

import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * The JSON of the tools ({@code baton status --json}, {@code baton accumulators --json}, the status page's
 * endpoints), in one place so that they all say the same. Fields are documented in docs/operations.md and
 * stay stable: new fields may be added, none is renamed or removed. Non-finite numbers are strings
 * ({@code "NaN"}, {@code "Infinity"}), which JSON has no numbers for.
 */
public final class StatusJson {

    private StatusJson() {
    }

    /**
     * The cluster of {@code now}: {@code membershipVersion}, {@code nodes} (each with its counters, failures,
     * latency, and its {@code interval} since {@code before}, which may be null) and {@code services}.
     */
    public static JsonObject cluster(ClusterSample now, ClusterSample before) {
        Membership m = now.membership();
        JsonObject root = new JsonObject();
        root.addProperty("membershipVersion", m.version());
        JsonArray nodes = new JsonArray();
        for (NodeInfo n : m.nodes()) {
            JsonObject o = new JsonObject();
            o.addProperty("rank", n.rank());
            o.addProperty("name", n.name());
            o.addProperty("address", hostPort(n.address()));
            o.addProperty("nodeId", Long.toUnsignedString(n.nodeId(), 16));
            o.addProperty("hostId", n.hostId());
            if (!n.principal().isEmpty()) {
                o.addProperty("principal", n.principal());      // the certificate subject it joined with
            }
            Duration lease = now.leaseAges().get(n.rank());
            if (lease != null) {
                o.addProperty("leaseAgeMs", lease.toMillis());
            }
            NodeStatus s = now.statuses().get(n.rank());
            if (s == null) {
                o.addProperty("error", now.failures().get(n.rank()));
            } else {
                nodeStatus(o, s, before == null ? null : before.statuses().get(n.rank()));
            }
            nodes.add(o);
        }
        root.add("nodes", nodes);
        JsonArray services = new JsonArray();
        for (String name : m.services()) {
            JsonObject o = new JsonObject();
            o.addProperty("name", name);
            JsonArray servers = new JsonArray();
            for (ServerInfo x : m.servers(name)) {
                o.addProperty("serviceId", x.serviceId());
                JsonObject so = new JsonObject();
                so.addProperty("serverId", x.serverId());
                so.addProperty("rank", x.rank());
                servers.add(so);
            }
            o.add("servers", servers);
            services.add(o);
        }
        root.add("services", services);
        return root;
    }

    private static void nodeStatus(JsonObject o, NodeStatus s, NodeStatus before) {
        NodeStats st = s.stats();
        o.addProperty("uptimeMs", s.uptime().toMillis());
        JsonObject paths = new JsonObject();
        st.pathsByRank().forEach((rank, path) -> paths.addProperty(String.valueOf(rank), path));
        o.add("pathsByRank", paths);
        o.add("counters", counters(st));
        JsonObject failures = new JsonObject();
        st.failuresByCode().forEach((code, count) -> failures.addProperty(code.name(), count));
        o.add("failuresByCode", failures);
        o.add("latency", latency(st.callLatency()));
        NodeInterval iv = NodeInterval.between(s, before);
        if (iv.hasRates()) {
            JsonObject r = new JsonObject();
            r.addProperty("seconds", iv.seconds());
            r.addProperty("callsPerSecond", iv.callsPerSecond());
            r.addProperty("requestsPerSecond", iv.requestsPerSecond());
            r.addProperty("failuresPerSecond", iv.failuresPerSecond());
            r.add("latency", latency(iv.latency()));
            o.add("interval", r);
        }
    }

    /** NodeStats' counters, named as its components. */
    private static JsonObject counters(NodeStats st) {
        JsonObject c = new JsonObject();
        c.addProperty("callsStarted", st.callsStarted());
        c.addProperty("callsSucceeded", st.callsSucceeded());
        c.addProperty("callsFailed", st.callsFailed());
        c.addProperty("localCalls", st.localCalls());
        c.addProperty("requestsReceived", st.requestsReceived());
        c.addProperty("requestsHandled", st.requestsHandled());
        c.addProperty("requestsRefused", st.requestsRefused());
        c.addProperty("lateResponses", st.lateResponses());
        c.addProperty("connectionsOpened", st.connectionsOpened());
        c.addProperty("openConnections", st.openConnections());
        c.addProperty("controlConnections", st.controlConnections());
        c.addProperty("pendingHandshakes", st.pendingHandshakes());
        c.addProperty("refusedConnections", st.refusedConnections());
        c.addProperty("protocolErrors", st.protocolErrors());
        c.addProperty("queuedBytes", st.queuedBytes());
        c.addProperty("connectionBufferBytes", st.connectionBufferBytes());
        c.addProperty("pooledBufferBytes", st.pooledBufferBytes());
        c.addProperty("receiveBytesReserved", st.receiveBytesReserved());
        c.addProperty("bufferAllocations", st.bufferAllocations());
        c.addProperty("bytesReceived", st.bytesReceived());
        c.addProperty("bytesSent", st.bytesSent());
        c.addProperty("reroutes", st.reroutes());
        return c;
    }

    /** Sampled latency: how many were timed, and percentiles in µs (bucket tops, within 6.25%). */
    public static JsonObject latency(LatencyHistogram h) {
        JsonObject o = new JsonObject();
        o.addProperty("sampled", h.count());
        if (h.count() > 0) {
            o.addProperty("p50Us", h.percentile(50).toNanos() / 1e3);
            o.addProperty("p90Us", h.percentile(90).toNanos() / 1e3);
            o.addProperty("p99Us", h.percentile(99).toNanos() / 1e3);
            o.addProperty("maxUs", h.max().toNanos() / 1e3);
            o.addProperty("meanUs", h.mean().toNanos() / 1e3);
        }
        return o;
    }

    /** The master's coordination state: {@code locks}, {@code barriers}, {@code idCounters} and the counts. */
    public static JsonObject coordination(CoordinationState s) {
        JsonObject o = new JsonObject();
        JsonArray locks = new JsonArray();
        for (CoordinationState.Lock l : s.locks()) {
            JsonObject x = new JsonObject();
            x.addProperty("name", l.name());
            x.addProperty("holderRank", l.holderRank());
            x.addProperty("holder", l.holder());
            x.addProperty("fencingToken", l.fencingToken());
            x.addProperty("waiting", l.waiting());
            locks.add(x);
        }
        o.add("locks", locks);
        JsonArray barriers = new JsonArray();
        for (CoordinationState.Barrier b : s.barriers()) {
            JsonObject x = new JsonObject();
            x.addProperty("name", b.name());
            x.addProperty("parties", b.parties());
            JsonArray arrived = new JsonArray();
            b.arrivedRanks().forEach(arrived::add);
            x.add("arrivedRanks", arrived);
            barriers.add(x);
        }
        o.add("barriers", barriers);
        JsonObject ids = new JsonObject();
        s.idCounters().forEach(ids::addProperty);
        o.add("idCounters", ids);
        o.addProperty("idKeys", s.idKeys());
        o.addProperty("keys", s.keys());
        o.addProperty("watches", s.watches());
        return o;
    }

    /**
     * An accumulator: {@code name}, {@code type}, {@code rendered} and the typed fields: {@code value} for sums,
     * maxima and minima; {@code count}, {@code sum}, {@code mean} for averages; {@code count}, {@code total},
     * {@code mean}, {@code variance}, {@code min}, {@code max}, {@code unit} ({@code "ns"}), {@code p50},
     * {@code p90}, {@code p99}, {@code p999} for timers (min and max null while empty, the percentiles while
     * no node sent a histogram).
     */
    public static JsonObject accumulator(AccumulatorValue v) {
        JsonObject o = new JsonObject();
        o.addProperty("name", v.name());
        o.addProperty("type", v.type());
        switch (v) {
            case AccumulatorValue.LongValue l -> o.addProperty("value", l.value());
            case AccumulatorValue.DoubleValue d -> o.add("value", number(d.value()));
            case AccumulatorValue.Average a -> {
                o.addProperty("count", a.count());
                o.add("sum", number(a.sum()));
                o.add("mean", number(a.mean()));
            }
            case AccumulatorValue.Timer t -> {
                o.addProperty("count", t.count());
                o.add("total", number(t.total()));
                o.add("mean", number(t.mean()));
                o.add("variance", number(t.variance()));
                o.add("min", t.count() == 0 ? JsonNull.INSTANCE : new JsonPrimitive(t.min()));
                o.add("max", t.count() == 0 ? JsonNull.INSTANCE : new JsonPrimitive(t.max()));
                o.addProperty("unit", "ns");
                boolean histogram = t.histogram().count() != 0;
                o.add("p50", histogram ? new JsonPrimitive(t.p50()) : JsonNull.INSTANCE);
                o.add("p90", histogram ? new JsonPrimitive(t.p90()) : JsonNull.INSTANCE);
                o.add("p99", histogram ? new JsonPrimitive(t.p99()) : JsonNull.INSTANCE);
                o.add("p999", histogram ? new JsonPrimitive(t.p999()) : JsonNull.INSTANCE);
            }
            case AccumulatorValue.Custom c -> {
                // Only the rendering: the state's bytes mean something to the type's code only.
            }
        }
        o.addProperty("rendered", v.render());
        return o;
    }

    /** A finite number as a JSON number; NaN and the infinities as strings. */
    private static JsonPrimitive number(double d) {
        if (Double.isNaN(d)) {
            return new JsonPrimitive("NaN");
        }
        if (Double.isInfinite(d)) {
            return new JsonPrimitive(d > 0 ? "Infinity" : "-Infinity");
        }
        return new JsonPrimitive(d);
    }

    /** {@code host:port}, with IPv6 hosts in brackets. */
    public static String hostPort(InetSocketAddress address) {
        String host = address.getAddress() == null ? address.getHostString() : address.getAddress().getHostAddress();
        if (address.getAddress() instanceof Inet6Address) {
            host = "[" + host + "]";
        }
        return host + ":" + address.getPort();
    }
}
