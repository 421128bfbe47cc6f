package dev.baton.bench;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/** The end of a run: the table on the console and the {@code --json} document. */
final class Report {

    /** Indented two spaces, nulls kept (a result's {@code error}, numbers not measured). */
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeNulls().disableHtmlEscaping()
            .create();

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
                Result r = Result.find(results, s, w);
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

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl) + " ...";
    }

    /** The JSON document: environment, settings, workloads, and results by system, then workload. */
    String json() {
        JsonObject env = new JsonObject();
        env.addProperty("date", date.toString());
        env.addProperty("java_version", System.getProperty("java.runtime.version"));
        env.addProperty("jvm", System.getProperty("java.vm.name") + ", " + System.getProperty("java.vm.vendor"));
        env.addProperty("cpus", Runtime.getRuntime().availableProcessors());
        env.addProperty("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        JsonArray flags = new JsonArray();
        ServerProcess.jvmFlags().forEach(flags::add);
        env.add("jvm_flags", flags);
        env.add("load_average_start", number(loadAtStart));
        env.add("load_average_end", number(loadAverage()));
        env.addProperty("wait_mode", waitMode(busyPoll));

        JsonObject settings = new JsonObject();
        settings.add("warmup_s", number(warmup.toNanos() / 1e9));
        settings.add("first_workload_warmup_s", number(warmup.toNanos() * BenchMain.FIRST_WARMUP_FACTOR / 1e9));
        settings.add("duration_s", number(duration.toNanos() / 1e9));
        settings.add("baton_tcp", baton.toJson());
        settings.add("baton_inproc", BatonSettings.DEFAULTS.toJson());

        JsonObject ws = new JsonObject();
        for (Workload w : workloads) {
            JsonObject m = new JsonObject();
            m.addProperty("description", w.description);
            m.addProperty("payload_bytes", w.payloadBytes);
            m.addProperty("outstanding_per_thread", w.depth);
            m.addProperty("client_threads", w.threads);
            m.addProperty("server_nodes", w.servers);
            ws.add(w.id, m);
        }

        JsonObject bySystem = new JsonObject();
        for (SystemKind s : systems) {
            JsonObject byWorkload = new JsonObject();
            for (Workload w : workloads) {
                Result r = Result.find(results, s, w);
                if (r != null) {
                    byWorkload.add(w.id, json(r));
                }
            }
            bySystem.add(s.id, byWorkload);
        }

        JsonObject systemsDoc = new JsonObject();
        for (SystemKind s : systems) {
            systemsDoc.addProperty(s.id, s.description(busyPoll));
        }

        JsonObject doc = new JsonObject();
        doc.add("environment", env);
        doc.add("settings", settings);
        doc.add("systems", systemsDoc);
        doc.add("workloads", ws);
        doc.add("results", bySystem);
        return GSON.toJson(doc) + "\n";
    }

    private static JsonObject json(Result r) {
        JsonObject m = new JsonObject();
        m.add("p50_us", number(r.p50Us()));
        m.add("p99_us", number(r.p99Us()));
        m.add("p999_us", number(r.p999Us()));
        m.add("calls_per_s", number(r.callsPerS()));
        m.add("mb_per_s", number(r.mbPerS()));
        m.add("alloc_bytes_per_call", number(r.allocBytesPerCall()));
        m.addProperty("alloc_scope", r.allocScope());
        m.addProperty("calls", r.calls());
        m.addProperty("errors", r.errors());
        m.add("measured_s", number(r.seconds()));
        m.addProperty("error", r.error());
        return m;
    }

    /**
     * {@code d} with at most three decimals and no trailing zeros ({@code 41.3}, {@code 1200}); null when not
     * measured, and for NaN and the infinities, which JSON has no numbers for.
     */
    static JsonElement number(Double d) {
        if (d == null || d.isNaN() || d.isInfinite()) {
            return JsonNull.INSTANCE;
        }
        BigDecimal rounded = BigDecimal.valueOf(d).setScale(3, RoundingMode.HALF_UP).stripTrailingZeros();
        return new JsonPrimitive(rounded.scale() <= 0 ? rounded.toBigIntegerExact() : rounded);
    }
}
