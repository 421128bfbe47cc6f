package dev.baton.cli;

import dev.baton.LatencyHistogram;
import dev.baton.Membership;
import dev.baton.NodeInfo;
import dev.baton.NodeStats;
import dev.baton.NodeStatus;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.status.ClusterSample;
import dev.baton.status.NodeInterval;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The table {@code baton status} prints from two samples of the cluster (its JSON is
 * {@link dev.baton.status.StatusJson#cluster}'s). Rates and latency percentiles are of the interval between the
 * samples (the later node counters minus the earlier); without an earlier sample the counts and the latency are
 * since each node started.
 */
final class StatusReport {

    private StatusReport() {
    }

    // ------------------------------------------------------------------ table

    /** The table; {@code before} may be null. {@code source} says where the membership came from. */
    static String table(ClusterSample now, ClusterSample before, String source) {
        Membership m = now.membership();
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "cluster: %d node%s, %d service%s (membership version %d, from %s)%n",
                m.nodes().size(), m.nodes().size() == 1 ? "" : "s", m.services().size(),
                m.services().size() == 1 ? "" : "s", m.version(), source));
        if (m.nodes().isEmpty()) {
            return out.append("no nodes\n").toString();
        }
        boolean rates = before != null;
        List<String[]> rows = new ArrayList<>();
        rows.add(rates
                ? new String[]{"RANK", "NAME", "ADDRESS", "UPTIME", "LEASE", "PEERS", "CALLS/S", "SERVED/S",
                        "ERRORS/S", "P50", "P99", "CONNS", "QUEUED"}
                : new String[]{"RANK", "NAME", "ADDRESS", "UPTIME", "LEASE", "PEERS", "CALLS", "SERVED", "ERRORS",
                        "P50", "P99", "CONNS", "QUEUED"});
        List<String> problems = new ArrayList<>();
        for (NodeInfo n : m.nodes()) {
            NodeStatus s = now.statuses().get(n.rank());
            if (s == null) {
                rows.add(new String[]{String.valueOf(n.rank()), n.name(), BatonCli.hostPort(n.address()),
                        "-", lease(now, n.rank()), "-", "-", "-", "-", "-", "-", "-", "-"});
                problems.add("rank " + n.rank() + " did not answer: " + now.failures().get(n.rank()));
                continue;
            }
            NodeStats st = s.stats();
            NodeInterval iv = NodeInterval.between(s, before == null ? null : before.statuses().get(n.rank()));
            boolean perSecond = rates && iv.hasRates();
            rows.add(new String[]{String.valueOf(n.rank()), n.name(), BatonCli.hostPort(n.address()),
                    uptime(s.uptime()), lease(now, n.rank()), paths(st),
                    perSecond ? rate(iv.callsPerSecond()) : rates ? "-" : String.valueOf(st.callsStarted()),
                    perSecond ? rate(iv.requestsPerSecond()) : rates ? "-" : String.valueOf(st.requestsReceived()),
                    perSecond ? rate(iv.failuresPerSecond()) : rates ? "-" : String.valueOf(st.callsFailed()),
                    latency(iv.latency(), 50), latency(iv.latency(), 99),
                    String.valueOf(st.openConnections()), bytes(st.queuedBytes())});
            if (!st.failuresByCode().isEmpty()) {
                problems.add("rank " + n.rank() + " failed calls since start: " + failures(st.failuresByCode()));
            }
        }
        align(rows, out);
        out.append('\n');
        List<String[]> services = new ArrayList<>();
        services.add(new String[]{"SERVICE", "ID", "SERVERS (server id@rank)"});
        for (String name : m.services()) {
            List<ServerInfo> servers = m.servers(name);
            services.add(new String[]{name, servers.isEmpty() ? "-" : String.valueOf(servers.getFirst().serviceId()),
                    servers.stream().map(x -> x.serverId() + "@" + x.rank()).collect(Collectors.joining(" "))});
        }
        if (services.size() > 1) {
            align(services, out);
        } else {
            out.append("no services\n");
        }
        if (!problems.isEmpty()) {
            out.append('\n');
            problems.forEach(p -> out.append(p).append('\n'));
        }
        out.append(rates ? "\nrates and latency percentiles over the last " + seconds(now, before)
                : "\ncounts and latency percentiles since each node started").append(" (latency of 1 call in 16)\n");
        return out.toString();
    }

    /** How long since the master heard from the node: "0.4s", or "-" when unknown (no master to ask). */
    private static String lease(ClusterSample now, int rank) {
        Duration age = now.leaseAges().get(rank);
        return age == null ? "-" : String.format(Locale.ROOT, "%.1fs", age.toMillis() / 1000.0);
    }

    private static String seconds(ClusterSample now, ClusterSample before) {
        for (Map.Entry<Integer, NodeStatus> e : now.statuses().entrySet()) {
            NodeInterval iv = NodeInterval.between(e.getValue(), before.statuses().get(e.getKey()));
            if (iv.hasRates()) {
                return String.format(Locale.ROOT, "%.1f s", iv.seconds());
            }
        }
        return "interval";
    }

    private static void align(List<String[]> rows, StringBuilder out) {
        int[] width = new int[rows.getFirst().length];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                line.append(r[i]).append(i + 1 < r.length ? " ".repeat(width[i] - r[i].length() + 2) : "");
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
    }

    /** How the node reaches its peers: "shm:2 tcp:1", or "-" when it has no connection open. */
    private static String paths(NodeStats s) {
        if (s.pathsByRank().isEmpty()) {
            return "-";
        }
        Map<String, Long> byPath = new TreeMap<>(s.pathsByRank().values().stream()
                .collect(Collectors.groupingBy(p -> p, Collectors.counting())));
        return byPath.entrySet().stream().map(e -> e.getKey() + ":" + e.getValue()).collect(Collectors.joining(" "));
    }

    private static String failures(Map<Status.Code, Long> byCode) {
        return byCode.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "));
    }

    static String uptime(Duration d) {
        long s = d.toSeconds();
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        if (s < 86_400) {
            return String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60);
        }
        return String.format(Locale.ROOT, "%dd%02dh", s / 86_400, s % 86_400 / 3600);
    }

    static String rate(double perSecond) {
        return perSecond < 100 ? String.format(Locale.ROOT, "%.1f", perSecond)
                : String.format(Locale.ROOT, "%,.0f", perSecond);
    }

    /** A percentile for people: "-" with no value, else in ns, µs, ms or s with three figures. */
    static String latency(LatencyHistogram h, double percentile) {
        if (h.count() == 0) {
            return "-";
        }
        long ns = h.percentile(percentile).toNanos();
        if (ns < 1_000) {
            return ns + "ns";
        }
        if (ns < 1_000_000) {
            return figures(ns / 1e3) + "us";
        }
        if (ns < 1_000_000_000) {
            return figures(ns / 1e6) + "ms";
        }
        return figures(ns / 1e9) + "s";
    }

    private static String figures(double v) {
        return v < 10 ? String.format(Locale.ROOT, "%.2f", v) : v < 100 ? String.format(Locale.ROOT, "%.1f", v)
                : String.format(Locale.ROOT, "%.0f", v);
    }

    static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        if (b < 1024 * 1024) {
            return figures(b / 1024.0) + " KiB";
        }
        if (b < 1024L * 1024 * 1024) {
            return figures(b / 1048576.0) + " MiB";
        }
        return figures(b / 1073741824.0) + " GiB";
    }
}
