package dev.baton.internal.wire;

import dev.baton.Health;
import dev.baton.LatencyHistogram;
import dev.baton.NodeInfo;
import dev.baton.NodeStats;
import dev.baton.NodeStatus;
import dev.baton.Status;

import java.time.Duration;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The bodies of the tool requests {@link ControlProtocol#HEALTH} and {@link ControlProtocol#NODE_STATUS} (see
 * docs/protocol.md). Counters travel as (name, value) pairs, so a newer node can add counters that an older
 * tool skips, and an older node's missing counters read as 0. Every count is checked against the bytes left
 * before anything is allocated.
 * <pre>
 *   health:      serving u8 | role str | detail str
 *   node status: node (as in a snapshot) | uptimeMs i64
 *                | count i32 | {name str | value i64} x count                  counters
 *                | count i32 | {rank i32 | path str} x count                   paths by rank
 *                | count i32 | {code i32 | calls i64} x count                  failures by status code
 *                | count i32 | {bucket i32 | values i64} x count              call latency, non-empty buckets
 * </pre>
 */
public final class StatusCodec {

    private StatusCodec() {
    }

    public static void writeHealth(WireWriter w, Health h) {
        w.putByte(h.serving() ? 1 : 0).putString(h.role()).putString(h.detail());
    }

    public static Health readHealth(WireReader r) {
        boolean serving = r.getByte() != 0;
        String role = r.getString();
        String detail = r.getString();
        return new Health(serving, role == null ? "" : role, detail == null ? "" : detail);
    }

    public static void writeLeaseAges(WireWriter w, java.util.SortedMap<Integer, Duration> ages) {
        w.putInt(ages.size());
        ages.forEach((rank, age) -> w.putInt(rank).putLong(age.toMillis()));
    }

    public static java.util.SortedMap<Integer, Duration> readLeaseAges(WireReader r) {
        java.util.SortedMap<Integer, Duration> ages = new TreeMap<>();
        int n = r.getCount(12);
        for (int i = 0; i < n; i++) {
            int rank = r.getInt();
            ages.put(rank, Duration.ofMillis(nonNegative(r.getLong())));
        }
        return ages;
    }

    public static void writeNodeStatus(WireWriter w, NodeStatus s) {
        ControlProtocol.writeNode(w, s.node());
        w.putLong(s.uptime().toMillis());
        Map<String, Long> counters = counters(s.stats());
        w.putInt(counters.size());
        counters.forEach((name, value) -> w.putString(name).putLong(value));
        w.putInt(s.stats().pathsByRank().size());
        s.stats().pathsByRank().forEach((rank, path) -> w.putInt(rank).putString(path));
        w.putInt(s.stats().failuresByCode().size());
        s.stats().failuresByCode().forEach((code, n) -> w.putInt(code.value()).putLong(n));
        LatencyHistogram h = s.stats().callLatency();
        int buckets = 0;
        for (int i = 0; i < LatencyHistogram.BUCKETS; i++) {
            buckets += h.countAt(i) != 0 ? 1 : 0;
        }
        w.putInt(buckets);
        for (int i = 0; i < LatencyHistogram.BUCKETS; i++) {
            if (h.countAt(i) != 0) {
                w.putInt(i).putLong(h.countAt(i));
            }
        }
    }

    public static NodeStatus readNodeStatus(WireReader r) {
        NodeInfo node = ControlProtocol.readNode(r);
        Duration uptime = Duration.ofMillis(Math.max(0, r.getLong()));
        Map<String, Long> c = new HashMap<>();
        int n = r.getCount(12);
        for (int i = 0; i < n; i++) {
            String name = r.getString();
            c.put(name, r.getLong());
        }
        TreeMap<Integer, String> paths = new TreeMap<>();
        n = r.getCount(8);
        for (int i = 0; i < n; i++) {
            int rank = r.getInt();
            String path = r.getString();
            paths.put(rank, path == null ? "" : path);
        }
        Map<Status.Code, Long> failures = new EnumMap<>(Status.Code.class);
        n = r.getCount(12);
        for (int i = 0; i < n; i++) {
            Status.Code code = Status.Code.of(r.getInt());
            // Codes this node does not know all read as UNKNOWN: their counts add up, saturating (never negative).
            failures.merge(code, nonNegative(r.getLong()), (x, y) -> x + y < 0 ? Long.MAX_VALUE : x + y);
        }
        long[] buckets = new long[LatencyHistogram.BUCKETS];
        n = r.getCount(12);
        for (int i = 0; i < n; i++) {
            int bucket = r.getInt();
            if (bucket < 0 || bucket >= buckets.length) {
                throw Status.of(Status.Code.PROTOCOL_ERROR, "latency bucket " + bucket + " out of range").asException();
            }
            buckets[bucket] = nonNegative(r.getLong());
        }
        NodeStats stats = new NodeStats(get(c, "callsStarted"), get(c, "callsSucceeded"), get(c, "callsFailed"),
                get(c, "localCalls"), get(c, "requestsReceived"), get(c, "requestsHandled"),
                get(c, "requestsRefused"), get(c, "lateResponses"), get(c, "connectionsOpened"),
                getInt(c, "openConnections"), getInt(c, "controlConnections"), getInt(c, "pendingHandshakes"),
                get(c, "refusedConnections"), get(c, "protocolErrors"), get(c, "queuedBytes"),
                get(c, "connectionBufferBytes"), get(c, "pooledBufferBytes"), get(c, "receiveBytesReserved"),
                get(c, "bufferAllocations"), paths, get(c, "bytesReceived"), get(c, "bytesSent"), get(c, "reroutes"),
                failures, LatencyHistogram.of(buckets));
        return new NodeStatus(node, uptime, stats);
    }

    private static Map<String, Long> counters(NodeStats s) {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("callsStarted", s.callsStarted());
        m.put("callsSucceeded", s.callsSucceeded());
        m.put("callsFailed", s.callsFailed());
        m.put("localCalls", s.localCalls());
        m.put("requestsReceived", s.requestsReceived());
        m.put("requestsHandled", s.requestsHandled());
        m.put("requestsRefused", s.requestsRefused());
        m.put("lateResponses", s.lateResponses());
        m.put("connectionsOpened", s.connectionsOpened());
        m.put("openConnections", (long) s.openConnections());
        m.put("controlConnections", (long) s.controlConnections());
        m.put("pendingHandshakes", (long) s.pendingHandshakes());
        m.put("refusedConnections", s.refusedConnections());
        m.put("protocolErrors", s.protocolErrors());
        m.put("queuedBytes", s.queuedBytes());
        m.put("connectionBufferBytes", s.connectionBufferBytes());
        m.put("pooledBufferBytes", s.pooledBufferBytes());
        m.put("receiveBytesReserved", s.receiveBytesReserved());
        m.put("bufferAllocations", s.bufferAllocations());
        m.put("bytesReceived", s.bytesReceived());
        m.put("bytesSent", s.bytesSent());
        m.put("reroutes", s.reroutes());
        return m;
    }

    private static long get(Map<String, Long> counters, String name) {
        return nonNegative(counters.getOrDefault(name, 0L));
    }

    private static int getInt(Map<String, Long> counters, String name) {
        return (int) Math.min(Integer.MAX_VALUE, get(counters, name));
    }

    private static long nonNegative(long v) {
        if (v < 0) {
            throw Status.of(Status.Code.PROTOCOL_ERROR, "negative counter " + v).asException();
        }
        return v;
    }
}
