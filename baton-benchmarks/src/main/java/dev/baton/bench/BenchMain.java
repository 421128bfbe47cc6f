package dev.baton.bench;

import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code bin/baton bench}: Baton against gRPC-java and against a raw NIO floor, in one run, on loopback, with the
 * same payloads and JVM flags for everyone. For each system and workload it starts the servers (in a child JVM
 * for the TCP systems), warms up, measures for a fixed time, and stops them; at the end it prints a table per
 * workload and, with {@code --json}, writes every number.
 *
 * <p>Latency depends on how threads wait for a socket, so the run has a wait mode, named in the header, the table
 * and the JSON. By default ({@code blocking/default}) the raw floor blocks in its reads while Baton's nodes spin
 * briefly and then park, as their {@code NodeOptions} say. With {@code --busy-poll} both spin all the time: the
 * floor's sequential client and its server poll non-blocking sockets, and every baton-tcp and baton-shm node gets long
 * {@code ioSpin} and {@code callerSpin}. Baton and the floor can then be compared in the same mode; gRPC has no
 * busy-poll mode and baton-inproc no socket, so neither changes.
 *
 * <p>Run it as {@code java -Xms1g -Xmx1g -XX:+UseParallelGC -XX:+AlwaysPreTouch --sun-misc-unsafe-memory-access=allow
 * --enable-native-access=ALL-UNNAMED --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
 * -cp baton-benchmarks.jar:lib/* dev.baton.bench.BenchMain}; the server JVMs get this JVM's flags. Pre-touching the
 * heap spares the systems that allocate a page fault per 4 KiB until their first collection; the next two flags only
 * silence JDK 25's warnings about Netty's and protobuf's use of {@code sun.misc.Unsafe} and native libraries;
 * Aeron's Agrona needs the last.
 */
@Command(name = "baton bench", sortOptions = false, usageHelpAutoWidth = true, subcommands = RegistryBench.class,
        description = {
                "Measures Baton (TCP, shared memory and in-process) against gRPC-java and a raw Java NIO socket floor, on"
                        + " loopback.",
                "Servers of the TCP systems run in a child JVM with this JVM's flags. Workloads: "
                        + "seq-16b, pipe-16b-64, echo-1mib-1, echo-1mib-8, fanout-4x64 (and, when named, "
                        + "echo-1mib-text and echo-1mib-random, for baton-tcp-zstd and baton-tcp-lz4; echo-16kib-8, "
                        + "medium messages; stream-16b and stream-64kib, a server stream's messages).",
                "Wait mode: blocking/default (raw-nio blocks in reads, Baton spins briefly then parks), or with "
                        + "--busy-poll both spin."})
public final class BenchMain implements Callable<Integer> {

    private static final Duration DEFAULT_WARMUP = Duration.ofSeconds(5);
    private static final Duration DEFAULT_DURATION = Duration.ofSeconds(10);
    private static final Duration QUICK_WARMUP = Duration.ofSeconds(1);
    private static final Duration QUICK_DURATION = Duration.ofSeconds(2);
    private static final long TICK_MS = 100;
    /**
     * The first workload of each system warms up this many times longer: its server JVM is new and its code
     * (client and server) has not run yet, and a 1 s warm-up leaves gRPC's much larger code path interpreted.
     */
    static final int FIRST_WARMUP_FACTOR = 3;
    /**
     * After its warm-up a cell warms on, by {@link #JIT_CHECK}, while this JVM's JIT compiler is still busy (more
     * than {@link #JIT_QUIET_MS} of compilation in the last check), for at most this many times the warm-up. On two
     * cores a C2 compilation takes a core from the calls: the JDK's TLS stack, compiled for ~10 s on this machine,
     * made a 2 s warm-up measure baton-tls at 85 µs p50 where warm it runs at 26 µs.
     */
    static final int MAX_JIT_WARMUP_FACTOR = 4;
    private static final Duration JIT_CHECK = Duration.ofSeconds(1);
    private static final long JIT_QUIET_MS = 20;

    @Option(names = "--quick", description = "Short runs (warm-up 1 s, measure 2 s) for a smoke test; the whole "
            + "matrix takes about a minute and a half.")
    boolean quick;

    @Option(names = "--warmup", paramLabel = "TIME", converter = DurationConverter.class,
            description = "Warm-up per system and workload (default 5s; 1s with --quick). E.g. 10s, 500ms.")
    Duration warmup;

    @Option(names = "--duration", paramLabel = "TIME", converter = DurationConverter.class,
            description = "Measuring time per system and workload (default 10s; 2s with --quick).")
    Duration duration;

    @Option(names = "--systems", split = ",", paramLabel = "SYSTEM",
            description = "Systems to run, comma-separated (default all but the compressed ones): baton-tcp, baton-shm, "
                    + "baton-inproc, aeron-ipc, grpc, raw-nio, baton-tcp-zstd, baton-tcp-lz4.")
    List<String> systemIds;

    @Option(names = "--workloads", split = ",", paramLabel = "WORKLOAD",
            description = "Workloads to run, comma-separated (default the first five): seq-16b, pipe-16b-64, "
                    + "echo-1mib-1, echo-1mib-8, fanout-4x64, echo-1mib-text, echo-1mib-random, echo-16kib-8, "
                    + "stream-16b, stream-64kib.")
    List<String> workloadIds;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write every result to FILE as JSON (with "
            + "--rounds, a file per round: FILE-round-2.json).")
    Path json;

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "1", description = "Run the whole matrix N times "
            + "(1-100), the systems taking turns in each round, then print the median and range of each figure "
            + "over the rounds: this machine's speed changes by the second, so compare systems within rounds.")
    int rounds;

    @Option(names = "--baseline", paramLabel = "SYSTEM", description = "With --rounds: also print each system's "
            + "p50 and calls/s divided by SYSTEM's of the same round, every round's and their median.")
    String baselineId;

    @Option(names = "--io-spin", paramLabel = "TIME", converter = DurationConverter.class,
            description = "NodeOptions.ioSpin of every baton-tcp and baton-shm node, client and servers (default: the default, 0; "
                    + "1s with --busy-poll).")
    Duration ioSpin;

    @Option(names = "--caller-spin", paramLabel = "TIME", converter = DurationConverter.class,
            description = "NodeOptions.callerSpin of every baton-tcp and baton-shm node (default: the default, 50us; 1s with "
                    + "--busy-poll).")
    Duration callerSpin;

    @Option(names = "--lanes", split = ",", paramLabel = "N",
            description = "NodeOptions.lanes (connections per peer) of every baton-tcp, baton-tls and baton-shm node; "
                    + "several values (--lanes 1,4,1,4) run the whole matrix once per value, in that order, one table each, "
                    + "to compare them in one run (default: the default, 1).")
    List<Integer> lanes;

    @Option(names = "--io-threads", paramLabel = "N",
            description = "NodeOptions.ioThreads of every baton-tcp, baton-tls and baton-shm node (default: the "
                    + "run's lanes value, so each lane has a loop of its own).")
    Integer ioThreads;

    @Option(names = "--busy-poll", description = "Busy-poll wait mode, to compare Baton with the floor in the same "
            + "mode: raw-nio's sequential client and its servers spin on non-blocking reads instead of blocking, and "
            + "every baton-tcp and baton-shm node spins (ioSpin and callerSpin 1s unless --io-spin/--caller-spin say otherwise). "
            + "gRPC (no busy-poll mode) and baton-inproc are unaffected. Every spinning thread takes a core.")
    boolean busyPoll;

    @Option(names = "--metrics", description = "Bind baton-micrometer's BatonNodeMetrics (a Prometheus registry) to "
            + "the client node of every Baton system, so each call is also recorded in a timer: what metrics cost.")
    boolean metrics;

    @Option(names = "--no-progress", description = "No progress bar (for logs and CI).")
    boolean noProgress;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Held so that the level set on it stays (loggers are weakly referenced). */
    private static final java.util.logging.Logger BATON_LOGGER = java.util.logging.Logger.getLogger("dev.baton");

    private final PrintStream out;

    public BenchMain() {
        this(System.out);
    }

    BenchMain(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) {
        int code = new CommandLine(new BenchMain()).execute(args);
        System.exit(code);
    }

    /** Picocli's converter for {@link Format#parseDuration}. */
    static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return Format.parseDuration(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /**
     * Baton logs joins and leaves at INFO, one per run here; they would break up the progress bar. Warnings still
     * show. A logging configuration given with {@code -Djava.util.logging.config.file} is left alone.
     */
    static void quietBatonLogs() {
        if (System.getProperty("java.util.logging.config.file") == null) {
            BATON_LOGGER.setLevel(java.util.logging.Level.WARNING);
        }
    }

    @Override
    public Integer call() throws Exception {
        quietBatonLogs();
        List<SystemKind> systems = new ArrayList<>();
        List<Workload> workloads = new ArrayList<>();
        try {
            if (systemIds == null) {
                systems.addAll(java.util.Arrays.stream(SystemKind.values()).filter(SystemKind::inDefaultRun).toList());
            } else {
                for (String id : new LinkedHashSet<>(systemIds)) {
                    systems.add(SystemKind.byId(id.trim()));
                }
            }
            if (workloadIds == null) {
                workloads.addAll(java.util.Arrays.stream(Workload.values()).filter(Workload::inDefaultRun).toList());
            } else {
                for (String id : new LinkedHashSet<>(workloadIds)) {
                    workloads.add(Workload.byId(id.trim()));
                }
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Duration warm = warmup != null ? warmup : quick ? QUICK_WARMUP : DEFAULT_WARMUP;
        Duration measure = duration != null ? duration : quick ? QUICK_DURATION : DEFAULT_DURATION;
        if (measure.isZero()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--duration must be positive");
        }
        BatonSettings base = BatonSettings.forRun(ioSpin, callerSpin, busyPoll, metrics);
        List<Integer> laneCounts = lanes == null ? List.of(0) : List.copyOf(lanes);
        for (int n : laneCounts) {
            if ((lanes != null && (n < 1 || n > 64)) || (ioThreads != null && (ioThreads < 1 || ioThreads > 64))) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--lanes and --io-threads must be between 1 and 64");
            }
        }
        SystemKind baseline = baseline(systems);
        long failed = 0;
        long cells = 0;
        for (int i = 0; i < laneCounts.size(); i++) {
            int n = laneCounts.get(i);
            BatonSettings baton = base.withLanes(n, ioThreads != null ? ioThreads : n);
            Path file = json == null || laneCounts.size() == 1 ? json : withSuffix(json, "-" + (i + 1) + "-lanes" + n);
            List<List<Result>> perRound = new ArrayList<>();
            for (int r = 1; r <= rounds; r++) {
                List<Result> results = runMatrix(baton, file == null || r == 1 ? file : withSuffix(file, "-round-" + r),
                        warm, measure, systems, workloads, r);
                perRound.add(results);
                failed += results.stream().filter(x -> !x.ok()).count();
                cells += results.size();
            }
            if (rounds > 1) {
                new RoundsSummary(systems, workloads, baseline, perRound).print(out);
                out.flush();
            }
        }
        if (failed > 0) {
            System.err.println("bench: " + failed + " of " + cells + " runs failed (see the table)");
            return 1;
        }
        return 0;
    }

    /** Checks {@code --rounds} and {@code --baseline}; the baseline system, or null. */
    private SystemKind baseline(List<SystemKind> systems) {
        if (rounds < 1 || rounds > 100) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--rounds must be between 1 and 100");
        }
        if (baselineId == null) {
            return null;
        }
        try {
            SystemKind b = SystemKind.byId(baselineId.trim());
            if (!systems.contains(b)) {
                throw new IllegalArgumentException("--baseline " + b.id + " is not one of the systems run");
            }
            return b;
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /** {@code results.json} with {@code -2-lanes4}: {@code results-2-lanes4.json}. */
    private static Path withSuffix(Path file, String suffix) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String named = dot > 0 ? name.substring(0, dot) + suffix + name.substring(dot) : name + suffix;
        return file.resolveSibling(named);
    }

    /** Runs every system on every workload once; prints the table, writes {@code json} if not null. */
    private List<Result> runMatrix(BatonSettings baton, Path json, Duration warm, Duration measure,
                                   List<SystemKind> systems, List<Workload> workloads, int round) throws IOException {
        Instant date = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        double loadAtStart = Report.loadAverage();
        if (rounds > 1) {
            out.println((round == 1 ? "" : "\n") + "=== Round " + round + " of " + rounds);
        }
        printHeader(date, warm, measure, baton, systems, workloads);

        Duration firstWarm = warm.multipliedBy(FIRST_WARMUP_FACTOR);
        long cellMs = warm.toMillis() + measure.toMillis();
        long totalMs = systems.size() * (workloads.size() * cellMs + firstWarm.toMillis() - warm.toMillis());
        List<Result> results = new ArrayList<>();
        try (Progress progress = new Progress(!noProgress, totalMs)) {
            for (SystemKind system : systems) {
                ServerProcess child = null;
                try {
                    if (system.remote) {
                        progress.message(system.id + ": starting the server JVM");
                        child = ServerProcess.start();
                    }
                    for (Workload w : workloads) {
                        Duration cellWarm = w == workloads.getFirst() ? firstWarm : warm;
                        if (w.stream && !system.streams()) {
                            progress.cellDone(cellWarm.toMillis() + measure.toMillis());
                            continue;       // not applicable: the table leaves the row out
                        }
                        results.add(runCell(system, w, child, baton, cellWarm, measure, progress));
                        progress.cellDone(cellWarm.toMillis() + measure.toMillis());
                    }
                } catch (IOException e) {
                    for (Workload w : workloads) {
                        if (results.stream().noneMatch(r -> r.system() == system && r.workload() == w)) {
                            results.add(Result.failed(system, w, 0, e.getMessage()));
                            progress.cellDone((w == workloads.getFirst() ? firstWarm : warm).toMillis()
                                    + measure.toMillis());
                        }
                    }
                } finally {
                    if (child != null) {
                        child.close();
                    }
                }
            }
        }

        Report report = new Report(date, loadAtStart, warm, measure, baton, busyPoll, systems, workloads, results);
        report.printTable(out);
        if (json != null) {
            Path parent = json.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(json, report.json(), StandardCharsets.UTF_8);
            out.println("Wrote " + json);
        }
        out.flush();
        return results;
    }

    private static String[] ids(Enum<?>[] values) {
        String[] ids = new String[values.length];
        for (int i = 0; i < values.length; i++) {
            ids[i] = values[i] instanceof SystemKind s ? s.id : ((Workload) values[i]).id;
        }
        return ids;
    }

    private void printHeader(Instant date, Duration warm, Duration measure, BatonSettings baton,
                             List<SystemKind> systems, List<Workload> workloads) {
        out.println("Baton bench: " + Report.environment(date));
        out.println("JVM flags (harness/client JVM and every server JVM): " + String.join(" ", ServerProcess.jvmFlags()));
        out.println("Per system and workload: warm-up " + Format.duration(warm) + " (" + FIRST_WARMUP_FACTOR
                + "x for each system's first workload: fresh server JVM, cold code; warm-ups over "
                + Format.duration(JIT_CHECK) + " go on, up to " + MAX_JIT_WARMUP_FACTOR
                + "x longer, while the JIT compiles), then measured for " + Format.duration(measure) + "; "
                + systems.size() + " systems x " + workloads.size() + " workloads");
        out.println("Wait mode: " + Report.waitMode(busyPoll) + (busyPoll
                ? " (--busy-poll: raw-nio's sequential client and its servers spin on non-blocking reads, baton-tcp's"
                        + " and baton-shm's nodes spin, aeron-ipc busy-spins; gRPC and baton-inproc as always)"
                : " (raw-nio blocks in socket reads; Baton's nodes spin, then park, as their NodeOptions say; aeron-ipc"
                        + " backs off: spin, yield, park)"));
        for (SystemKind s : systems) {
            out.println("  " + s.id + ": " + s.description(busyPoll));
        }
        for (SystemKind s : systems) {
            if (s.batonNodes()) {
                out.println("  " + s.id + " nodes: " + baton.describe() + "; echo handler inline on the I/O thread");
            }
        }
        if (systems.contains(SystemKind.BATON_INPROC)) {
            out.println("  baton-inproc node: " + BatonSettings.DEFAULTS.describe()
                    + "; echo handler inline on the caller's thread");
        }
        out.println();
        out.flush();
    }

    private Result runCell(SystemKind system, Workload w, ServerProcess child, BatonSettings baton,
                           Duration warm, Duration measure, Progress progress) throws IOException {
        String name = system.id + " " + w.id;
        progress.message(name + ": starting");
        List<InetSocketAddress> servers = child != null
                ? child.startServers(system, w.servers, baton, busyPoll) : List.of();
        try (Target target = open(system, w, servers, baton, busyPoll)) {
            return measure(system, w, target, warm, measure, progress, name);
        } catch (Exception e) {
            return Result.failed(system, w, 0, String.valueOf(e));
        } finally {
            if (child != null) {
                child.stopServers();
            }
        }
    }

    private static Target open(SystemKind system, Workload w, List<InetSocketAddress> servers, BatonSettings baton,
                               boolean busyPoll) throws Exception {
        return switch (system) {
            case BATON_TCP, BATON_SHM, BATON_TCP_ZSTD, BATON_TCP_LZ4, BATON_TLS ->
                    BatonTarget.remote(servers.getFirst(), w, baton, system.transport(), system.compression());
            case BATON_INPROC -> BatonTarget.inProcess(w, baton);
            case AERON_IPC -> AeronTarget.open(w, busyPoll);
            case GRPC -> GrpcTarget.open(servers, w, null);
            case GRPC_TLS -> GrpcTarget.open(servers, w, BenchTls.harness().grpcClient());
            case RAW_NIO -> RawTarget.open(servers, w, busyPoll);
        };
    }

    private static Result measure(SystemKind system, Workload w, Target target, Duration warm, Duration measure,
                                  Progress progress, String name) throws Exception {
        Measurement m = new Measurement();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < w.threads; i++) {
            Lane lane = target.lane(i);
            threads.add(Thread.ofPlatform().name("bench-lane-" + i).unstarted(() -> {
                try {
                    lane.run(m);
                } catch (Exception | Error e) {
                    m.error(e);
                }
            }));
        }
        AllocationMeter meter = AllocationMeter.create();
        try {
            threads.forEach(Thread::start);
            progress.message(name + ": warming up");
            if (!warmUp(m, warm, progress, name)) {
                return failed(system, w, m, threads);
            }
            if (meter != null) {
                meter.start();
            }
            progress.message(name + ": measuring");
            m.phase(Measurement.Phase.MEASURE);
            long start = System.nanoTime();
            boolean ok = await(m, measure, progress, warm.toMillis(), true, name);
            m.phase(Measurement.Phase.STOP);
            long end = System.nanoTime();
            Long allocated = meter != null ? meter.stop() : null;
            if (!ok || !join(threads) || m.errors() > 0) {
                return failed(system, w, m, threads);
            }
            long calls = m.calls();
            double seconds = (end - start) / 1e9;
            if (calls == 0) {
                return Result.failed(system, w, 0, "no call completed in the " + Format.duration(measure)
                        + " measuring window");
            }
            Histogram h = m.histogram();
            double callsPerS = calls / seconds;
            return new Result(system, w, us(h, 50), us(h, 99), us(h, 99.9), callsPerS,
                    callsPerS * w.payloadBytes / 1e6,
                    allocated == null || calls == 0 ? null : (double) allocated / calls, calls, 0, seconds, null);
        } finally {
            m.phase(Measurement.Phase.STOP);
            join(threads);
        }
    }

    private static Double us(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? null : h.getValueAtPercentile(percentile) / 1000.0;
    }

    private static Result failed(SystemKind system, Workload w, Measurement m, List<Thread> threads) {
        m.phase(Measurement.Phase.STOP);
        join(threads);
        Throwable t = m.firstError();
        String why = t == null ? "lanes did not finish" : t.toString();
        return Result.failed(system, w, m.errors(), why);
    }

    /**
     * Waits {@code time}, moving the progress bar on from {@code offsetMs} into the cell; false as soon as a call
     * failed.
     */
    private static boolean await(Measurement m, Duration time, Progress progress, long offsetMs, boolean measuring,
                                 String name) {
        long startNs = System.nanoTime();
        long endNs = startNs + time.toNanos();
        long lastCalls = 0;
        long lastNs = startNs;
        while (true) {
            long now = System.nanoTime();
            if (m.errors() > 0) {
                return false;
            }
            if (now - endNs >= 0) {
                return true;
            }
            LockSupportSleep.sleepNanos(Math.min(TimeUnit.MILLISECONDS.toNanos(TICK_MS), endNs - now));
            progress.advance(offsetMs + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs));
            if (measuring && progress.enabled()) {
                long calls = m.calls();
                long t = System.nanoTime();
                if (t - lastNs >= 500_000_000L) {
                    progress.message(String.format(Locale.ROOT, "%s: measuring, %,.0f calls/s", name,
                            (calls - lastCalls) / ((t - lastNs) / 1e9)));
                    lastCalls = calls;
                    lastNs = t;
                }
            }
        }
    }

    /**
     * Warms up for {@code warm}, then, if that is longer than {@link #JIT_CHECK}, on while the JIT compiler is busy
     * ({@link #MAX_JIT_WARMUP_FACTOR}): its last {@link #JIT_CHECK} is the first check. False when a call failed. Only this JVM's compiler is watched: a server
     * JVM runs the same calls, so its compilation ends about when this one's.
     */
    private static boolean warmUp(Measurement m, Duration warm, Progress progress, String name) {
        if (warm.compareTo(JIT_CHECK) <= 0) {
            return await(m, warm, progress, 0, false, name);   // a smoke test (--quick, the harness's own tests)
        }
        Duration head = warm.minus(JIT_CHECK);
        if (!await(m, head, progress, 0, false, name)) {
            return false;
        }
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean watched = jit != null && jit.isCompilationTimeMonitoringSupported();
        long limitNs = System.nanoTime() + warm.multipliedBy(MAX_JIT_WARMUP_FACTOR).toNanos();
        long before = watched ? jit.getTotalCompilationTime() : 0;
        Duration step = warm.minus(head);
        long offsetMs = head.toMillis();
        while (true) {
            if (!await(m, step, progress, offsetMs, false, name)) {
                return false;
            }
            if (!watched || System.nanoTime() - limitNs >= 0) {
                return true;
            }
            long now = jit.getTotalCompilationTime();
            if (now - before <= JIT_QUIET_MS) {
                return true;
            }
            before = now;
            step = JIT_CHECK;
            offsetMs = warm.toMillis();
            progress.message(name + ": warming up (the JIT is still compiling)");
        }
    }

    private static boolean join(List<Thread> threads) {
        long deadline = System.nanoTime() + Lane.DRAIN_TIMEOUT_NS + TimeUnit.SECONDS.toNanos(5);
        for (Thread t : threads) {
            try {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !t.join(Duration.ofNanos(left))) {
                    return false;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** Sleeps without allocating (the coordinating thread is excluded from allocation counts anyway). */
    private static final class LockSupportSleep {
        static void sleepNanos(long ns) {
            long end = System.nanoTime() + ns;
            long left = ns;
            while (left > 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(left);
                left = end - System.nanoTime();
            }
        }
    }
}
