package dev.baton.bench;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The end of a run: the table on the console and the {@code --json} document. */
final class Report {

    private final Instant date;
    private final Duration warmup;
    private final Duration duration;
    private final BatonSettings baton;
    private final boolean busyPoll;
    private final List<SystemKind> systems;
    private final List<Workload> workloads;
    private final List<Result> results;
    private final double loadAtStart;

    Report(Instant date, double loadAtStart, Duration warmup, Duration duration, BatonSettings baton, boolean busyPoll,
           List<SystemKind> systems, List<Workload> workloads, List<Result> results) {
        this.loadAtStart = loadAtStart;
        this.date = date;
        this.warmup = warmup;
        this.duration = duration;
        this.baton = baton;
        this.busyPoll = busyPoll;
        this.systems = systems;
        this.workloads = workloads;
        this.results = results;
    }

    /** {@code 2026-11-21T09:00:00Z, JDK 25.0.3 (...), 2 CPUs, Linux 6.18 amd64, load average 0.42}. */
    static String environment(Instant date) {
        return "date " + date + ", JDK " + System.getProperty("java.runtime.version") + " ("
                + System.getProperty("java.vm.name") + ", " + System.getProperty("java.vm.vendor") + "), "
                + Runtime.getRuntime().availableProcessors() + " CPUs, " + System.getProperty("os.name") + " "
                + System.getProperty("os.version") + " " + System.getProperty("os.arch") + ", load average "
                + String.format(Locale.ROOT, "%.2f", loadAverage());
    }

    /**
     * How the run's clients and servers wait for the socket: {@code busy-poll} ({@code --busy-poll}: raw-nio and
     * baton-tcp spin), or {@code blocking/default} (raw-nio blocks in reads, Baton's nodes spin as long as their
     * {@code NodeOptions} say, then park). Latencies of the two modes are not comparable, so every output names it.
     */
    static String waitMode(boolean busyPoll) {
        return busyPoll ? "busy-poll" : "blocking/default";
    }

    /**
     * The system's one-minute load average, -1 where unknown. Printed because on a small machine anything else
     * running makes the numbers noise, and this shows it.
     */
    static double loadAverage() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    /** One block per workload: a row per system. */
    void printTable(PrintStream out) {
        out.println();
        out.println("Results, wait mode " + waitMode(busyPoll) + " (" + environment(date) + " at the end, "
                + String.format(Locale.ROOT, "%.2f", loadAtStart) + " at the start)");
        for (Workload w : workloads) {
            out.println();
            out.println(w.id + ": " + w.description + " (measured " + Format.duration(duration) + " each)");
            out.printf(Locale.ROOT, "  %-13s %9s %9s %9s %13s %10s %13s%n",
                    "system", "p50 µs", "p99 µs", "p99.9 µs", "calls/s", "MB/s", "alloc B/call");
            for (SystemKind s : systems) {
                Result r = find(s, w);
                if (r == null) {
                    continue;
                }
                if (!r.ok()) {
                    out.printf(Locale.ROOT, "  %-13s FAILED: %s%n", s.id, firstLine(r.error()));
                    continue;
                }
                out.printf(Locale.ROOT, "  %-13s %9s %9s %9s %13s %10s %13s%n", s.id,
                        Format.number(r.p50Us(), 1), Format.number(r.p99Us(), 1), Format.number(r.p999Us(), 1),
                        Format.number(r.callsPerS(), 0), Format.number(r.mbPerS(), 1),
                        Format.number(r.allocBytesPerCall(), 0));
            }
        }
        out.println();
        out.println("Latency: from issuing a call to its completion, HdrHistogram (3 digits). MB/s: payload bytes per"
                + " second each way (10^6 B).");
        out.println("alloc B/call: bytes allocated by all threads of the client JVM while measuring, per call (the"
                + " harness's own threads excluded); for baton-inproc that includes the server side.");
        out.println("baton-inproc hands the request buffer to the handler and back without a copy: its MB/s is not a"
                + " copy rate.");
    }

    private Result find(SystemKind s, Workload w) {
        for (Result r : results) {
            if (r.system() == s && r.workload() == w) {
                return r;
            }
        }
        return null;
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl) + " ...";
    }

    /** The JSON document: environment, settings, workloads, and results by system, then workload. */
    String json() {
        Map<String, Object> env = new LinkedHashMap<>();
        env.put("date", date.toString());
        env.put("java_version", System.getProperty("java.runtime.version"));
        env.put("jvm", System.getProperty("java.vm.name") + ", " + System.getProperty("java.vm.vendor"));
        env.put("cpus", Runtime.getRuntime().availableProcessors());
        env.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        env.put("jvm_flags", ServerProcess.jvmFlags());
        env.put("load_average_start", loadAtStart);
        env.put("load_average_end", loadAverage());
        env.put("wait_mode", waitMode(busyPoll));

        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("warmup_s", warmup.toNanos() / 1e9);
        settings.put("first_workload_warmup_s", warmup.toNanos() * BenchMain.FIRST_WARMUP_FACTOR / 1e9);
        settings.put("duration_s", duration.toNanos() / 1e9);
        settings.put("baton_tcp", baton.toJson());
        settings.put("baton_inproc", BatonSettings.DEFAULTS.toJson());

        Map<String, Object> ws = new LinkedHashMap<>();
        for (Workload w : workloads) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("description", w.description);
            m.put("payload_bytes", w.payloadBytes);
            m.put("outstanding_per_thread", w.depth);
            m.put("client_threads", w.threads);
            m.put("server_nodes", w.servers);
            ws.put(w.id, m);
        }

        Map<String, Object> bySystem = new LinkedHashMap<>();
        for (SystemKind s : systems) {
            Map<String, Object> byWorkload = new LinkedHashMap<>();
            for (Workload w : workloads) {
                Result r = find(s, w);
                if (r == null) {
                    continue;
                }
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("p50_us", r.p50Us());
                m.put("p99_us", r.p99Us());
                m.put("p999_us", r.p999Us());
                m.put("calls_per_s", r.callsPerS());
                m.put("mb_per_s", r.mbPerS());
                m.put("alloc_bytes_per_call", r.allocBytesPerCall());
                m.put("alloc_scope", r.allocScope());
                m.put("calls", r.calls());
                m.put("errors", r.errors());
                m.put("measured_s", r.seconds());
                m.put("error", r.error());
                byWorkload.put(w.id, m);
            }
            bySystem.put(s.id, byWorkload);
        }

        Map<String, Object> systemsDoc = new LinkedHashMap<>();
        for (SystemKind s : systems) {
            systemsDoc.put(s.id, s.description(busyPoll));
        }

        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("environment", env);
        doc.put("settings", settings);
        doc.put("systems", systemsDoc);
        doc.put("workloads", ws);
        doc.put("results", bySystem);
        StringBuilder b = new StringBuilder();
        write(b, doc, "");
        return b.append('\n').toString();
    }

    private static void write(StringBuilder b, Object v, String indent) {
        switch (v) {
            case null -> b.append("null");
            case Map<?, ?> m -> {
                if (m.isEmpty()) {
                    b.append("{}");
                    return;
                }
                b.append("{\n");
                String inner = indent + "  ";
                int i = 0;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    b.append(inner);
                    string(b, String.valueOf(e.getKey()));
                    b.append(": ");
                    write(b, e.getValue(), inner);
                    b.append(++i < m.size() ? ",\n" : "\n");
                }
                b.append(indent).append('}');
            }
            case List<?> l -> {
                b.append('[');
                for (int i = 0; i < l.size(); i++) {
                    if (i > 0) {
                        b.append(", ");
                    }
                    write(b, l.get(i), indent);
                }
                b.append(']');
            }
            case Double d -> b.append(d.isNaN() || d.isInfinite() ? "null"
                    : String.format(Locale.ROOT, "%.3f", d).replaceAll("\\.?0+$", ""));
            case Number n -> b.append(n);
            case Boolean bool -> b.append(bool);
            default -> string(b, v.toString());
        }
    }

    private static void string(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }
}
