package dev.baton.cli;

import dev.baton.process.ChildJvm;
import dev.baton.zookeeper.LocalZooKeeper;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code baton demo}: a master (or, with {@code --zookeeper}, a three-member ZooKeeper ensemble) and {@code --nodes}
 * nodes, each a child JVM on loopback ({@link ChildJvm}).
 * Every node serves {@link DemoServices} and, once all have joined, calls every other node
 * ({@code baton node --drive}); the demo collects their {@code RESULT} lines and prints a table.
 *
 * <p>Exit code 0 only when every call was answered, and answered right. Whatever happens (a child that
 * dies, a timeout, Ctrl-C), every child process is stopped before the demo returns or the JVM exits.
 */
@Command(name = "demo",
        mixinStandardHelpOptions = true,
        header = "Runs a master and N node JVMs, all calling each other; prints latencies.",
        description = {
                "All on loopback. Every node serves 'echo' and 'compute', then calls every other node: echo "
                        + "(checked byte for byte), compute.sum (a sum of doubles) and compute.sha256 (a blocking "
                        + "handler), both checked against answers computed locally.",
                "Prints the latency and throughput of each node's calls, then stops every process. Exit code 0 "
                        + "only when there was no error.",
                "With --tls, every connection runs TLS with mutual authentication, with certificates from a"
                        + " throwaway development CA (deleted at exit).",
                "Child processes' output goes to one log file each (--log-dir)."})
final class DemoCommand implements Callable<Integer> {

    static final Pattern MASTER_READY = Pattern.compile("^baton master listening on (\\S+)$");
    static final Pattern NODE_READY = Pattern.compile("^baton node rank (\\d+) listening on (\\S+)$");

    /** Modest JVMs: four of them share what may be a 2-core machine. The master only does control traffic. */
    private static final List<String> MASTER_JVM = List.of("-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-XX:-UsePerfData");
    private static final List<String> NODE_JVM = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:-UsePerfData");
    /** The caller and the I/O thread: what runs on a driving node. */
    private static final int BUSY_THREADS_PER_NODE = 2;
    private static final Duration STOP_GRACE = Duration.ofSeconds(5);
    /** ZooKeeper's tick for the demo's ensemble: sessions of 1 to 10 s. */
    private static final Duration ENSEMBLE_TICK = Duration.ofMillis(500);

    @Spec
    CommandSpec spec;

    @Option(names = "--nodes", defaultValue = "3", paramLabel = "N",
            description = "Node processes to start (at least 2). Default: ${DEFAULT-VALUE}.")
    int nodes;

    @Option(names = "--calls", defaultValue = "2000", paramLabel = "C",
            description = "Calls from each node to each other node, per workload. Default: ${DEFAULT-VALUE}.")
    int calls;

    @Option(names = "--payload", defaultValue = "1024", paramLabel = "BYTES",
            description = "Request size in bytes. Default: ${DEFAULT-VALUE}.")
    int payload;

    @Option(names = "--warmup", defaultValue = "100", paramLabel = "W",
            description = "Verified but untimed calls per pair and workload first. Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--timeout", defaultValue = "60s", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Limit for starting the processes, and again for the calls. Default: ${DEFAULT-VALUE}.")
    Duration timeout;

    @Option(names = "--zookeeper",
            description = "Join the nodes through a ZooKeeper ensemble of three JVMs started here, not a master.")
    boolean zookeeper;

    @Option(names = "--tls",
            description = "Every connection over TLS with mutual authentication (master, nodes, their calls), with"
                    + " certificates from a throwaway development CA made in a temporary directory (as `baton certs`"
                    + " makes them) and deleted at exit.")
    boolean tls;

    /** With --tls: the temporary directory of the development PKI, deleted when the demo ends. */
    private volatile Path pki;
    /** With --tls: the protocol versions the processes allow, for the output. */
    private String tlsProtocols;

    /** With --zookeeper: the ensemble, stopped after the nodes. */
    private volatile LocalZooKeeper ensemble;

    @Option(names = "--log-dir", paramLabel = "DIR",
            description = "Where the child processes' output goes, one file each. "
                    + "Default: baton-cli/target/demo-logs in the Baton checkout, else a directory under java.io.tmpdir.")
    Path logDir;

    private final List<ChildJvm> children = new CopyOnWriteArrayList<>();
    /** Every child's output lines and ends, in one queue: the demo waits for whichever child speaks first. */
    private final BlockingQueue<ChildJvm.Line> events = new LinkedBlockingQueue<>();
    /** Set when the JVM is exiting (signal): children ending then is expected, not a failure to explain. */
    private volatile boolean stopping;

    @Override
    public Integer call() throws IOException, InterruptedException {
        validate();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path logs = Files.createDirectories(logDir != null ? logDir : defaultLogDir());
        Thread cleanup = new Thread(() -> {
            stopping = true;
            err.println("baton demo: stopping the child processes");
            stopChildren(err);
            deletePki(err);
        }, "baton-demo-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            if (tls) {
                makePki();
            }
            return run(out, logs);
        } finally {
            stopChildren(err);
            deletePki(err);
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException exiting) {
                // The JVM is exiting and the hook runs anyway; stopAll is safe to run twice.
            }
        }
    }

    /**
     * Nodes first, so that they leave a master that is still there; then the master. Each: end of input (they
     * run {@code --supervised} and exit 0), then SIGTERM, then SIGKILL, {@link #STOP_GRACE} apart.
     */
    private void stopChildren(PrintWriter err) {
        List<ChildJvm> all = List.copyOf(children);
        LocalZooKeeper zk = ensemble;
        if (zk != null) {
            ChildJvm.stopAll(all, note -> err.println("baton demo: " + note));
            try {
                zk.close();
            } catch (IOException e) {
                err.println("baton demo: could not remove the ensemble's data: " + e.getMessage());
            }
            err.flush();
            return;
        }
        if (all.size() > 1) {
            ChildJvm.stopAll(all.subList(1, all.size()), note -> err.println("baton demo: " + note));
        }
        ChildJvm.stopAll(all.subList(0, Math.min(1, all.size())), note -> err.println("baton demo: " + note));
        err.flush();
    }

    /**
     * Starts {@code java <jvmOptions> -cp <this class path> dev.baton.cli.BatonCli <args>}, its output (stdout
     * and stderr) to {@code log} and to {@link #events}. Not killed by the launcher's shutdown hook: the demo's
     * own hook stops the children, nodes first, gently.
     */
    private ChildJvm startChild(String name, List<String> jvmOptions, List<String> args, Path log) throws IOException {
        ChildJvm child = ChildJvm.builder(name, BatonCli.class).jvmOptions(jvmOptions).args(args).outputLog(log)
                .lines(events).readerThreadName("baton-demo-" + name + "-output").stopGrace(STOP_GRACE, STOP_GRACE)
                .killOnExit(false).start();
        children.add(child);
        return child;
    }

    /**
     * A development CA and certificates master (or, with --zookeeper, zookeeper), node-1 ... node-N in a new
     * owner-only temporary directory.
     */
    private void makePki() throws IOException {
        pki = Files.createTempDirectory("baton-demo-pki-");
        List<String> names = new ArrayList<>(List.of(zookeeper ? "zookeeper" : "master"));
        for (int i = 1; i <= nodes; i++) {
            names.add("node-" + i);
        }
        DevPki.write(pki, names, Duration.ofDays(1), List.of(), false);
        tlsProtocols = String.join(", ", pkiOptions(names.getFirst()).protocols());
    }

    /** TLS with certificate {@code name} of the development PKI, trusting its CA. */
    private dev.baton.TlsOptions pkiOptions(String name) {
        return dev.baton.TlsOptions.builder().certificate(DevPki.cert(pki, name), DevPki.key(pki, name))
                .trustedCertificates(pki.resolve(DevPki.CA_CERT)).build();
    }

    /** Deletes the --tls PKI's directory, once; a failure is said, not thrown (the demo's result stands). */
    private synchronized void deletePki(PrintWriter err) {
        Path dir = pki;
        if (dir == null) {
            return;
        }
        pki = null;
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            err.println("baton demo: could not delete the development PKI in " + dir + ": " + e.getMessage());
            err.flush();
        }
    }

    /**
     * The --tls-* options of certificate {@code name}, or none without --tls. A node with TLS would reach the others on
     * this host through shared memory; the demo shows TLS, so its nodes turn shared memory off.
     */
    private List<String> tlsArgs(String name) {
        if (!tls) {
            return List.of();
        }
        List<String> args = new ArrayList<>(DevPki.tlsArgs(pki, name));
        if (!name.equals("master")) {
            args.addAll(List.of("--shared-memory", "DISABLED"));
        }
        return args;
    }

    private int run(PrintWriter out, Path logs) throws IOException, InterruptedException {
        out.printf("baton demo: %s and %d nodes, each its own JVM on loopback%s (logs: %s)%n",
                zookeeper ? "a ZooKeeper ensemble of 3" : "a master", nodes,
                tls ? ", every connection over TLS (" + tlsProtocols + ", mutual authentication, a development CA"
                        + " in " + pki + ", deleted at exit)" : "", logs);
        out.flush();
        long startNs = System.nanoTime();
        long deadline = startNs + timeout.toNanos();

        List<String> nodeOptions = new ArrayList<>(zookeeper ? startEnsemble(out) : startMaster(out, logs, deadline));
        nodeOptions.addAll(List.of("--supervised",
                "--drive", "--nodes", String.valueOf(nodes), "--calls", String.valueOf(calls),
                "--payload", String.valueOf(payload), "--warmup", String.valueOf(warmup),
                "--wait", DurationConverter.format(timeout)));
        int cores = Runtime.getRuntime().availableProcessors();
        if (BUSY_THREADS_PER_NODE * nodes > cores) {
            // A spinning thread only pays off with a core to itself; here it would steal the core its peer needs.
            nodeOptions.addAll(List.of("--caller-spin", "0s"));
            out.printf("  note: %d nodes x %d busy threads on %d cores, so blocked callers park at once instead of "
                    + "spinning%n", nodes, BUSY_THREADS_PER_NODE, cores);
        }
        for (int i = 1; i <= nodes; i++) {
            String name = "node-" + i;
            List<String> args = new ArrayList<>(List.of("node", "--name", name));
            args.addAll(nodeOptions);
            args.addAll(tlsArgs(name));
            startChild(name, NODE_JVM, args, logs.resolve(name + ".log"));
        }
        List<ChildJvm> nodeProcesses = children.subList(zookeeper ? 0 : 1, children.size());
        List<NodeReport> reports = awaitNodes(nodeProcesses, out, deadline);

        List<String> table = SummaryTable.render(reports, micro());
        out.println();
        for (String line : table) {
            out.println(line);
        }
        long errors = reports.stream().mapToLong(NodeReport::errors).sum();
        long total = reports.stream().flatMap(r -> r.rows().stream()).mapToLong(NodeReport.Row::calls).sum();
        out.println();
        if (errors == 0) {
            out.printf("OK: %d calls between %d nodes, every answer checked, no errors (%.1f s in all).%n",
                    total, nodes, (System.nanoTime() - startNs) / 1e9);
            out.println(tls ? "TLS: on for every connection (" + tlsProtocols + ", mutual authentication)." : "TLS: off"
                    + " (bin/baton demo --tls turns it on).");
            out.printf("These are blocking calls among %d JVMs on %d cores, %d-byte requests, every answer checked:"
                    + " they include wake-ups%n  and the JVMs' competition for cores. `bin/baton bench` measures one"
                    + " client and its server on a quiet%n  machine, each system in the same run (docs/performance.md).%n",
                    nodes + 1, cores, payload);
        } else {
            out.printf("FAILED: %d of the calls went wrong. First error of each node and workload:%n", errors);
            for (NodeReport r : reports) {
                for (NodeReport.Row row : r.rows()) {
                    if (row.firstError() != null) {
                        out.printf("  rank %d -> %s: %s%n", r.rank(), row.service(), row.firstError());
                    }
                }
            }
        }
        out.flush();
        return errors == 0 ? 0 : 1;
    }

    /** Starts the master; returns the nodes' options to join it. */
    private List<String> startMaster(PrintWriter out, Path logs, long deadline) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("master", "--port", "0", "--supervised"));
        args.addAll(tlsArgs("master"));
        ChildJvm master = startChild("master", MASTER_JVM, args, logs.resolve("master.log"));
        String masterAddress = awaitMaster(master, deadline);
        out.printf("  %-8s pid %-7d listening on %s%n", "master", master.pid(), masterAddress);
        out.flush();
        return List.of("--master", masterAddress);
    }

    /** Starts a three-member ZooKeeper ensemble (child JVMs); returns the nodes' options to join through it. */
    private List<String> startEnsemble(PrintWriter out) throws IOException, InterruptedException {
        ensemble = new LocalZooKeeper(3, ENSEMBLE_TICK);
        if (tls) {
            ensemble.tls(pkiOptions("zookeeper"));     // its certificate names localhost, as clients resolve it
        }
        ensemble.startAll();
        out.printf("  %-8s %s (leader: member %d%s)%n", "zookeeper", ensemble.connectString(),
                ensemble.leader(timeout) + 1, tls ? "; over TLS, clients and members alike" : "");
        out.flush();
        return List.of("--zookeeper", ensemble.connectString(), "--cluster", "demo");
    }

    private String awaitMaster(ChildJvm master, long deadline) throws InterruptedException {
        while (true) {
            ChildJvm.Line e = next(deadline, List.of(master), "the master to listen");
            if (e.isEnd()) {
                throw failed(e.child(), "before it was listening");
            }
            Matcher m = MASTER_READY.matcher(e.text());
            if (m.matches()) {
                return m.group(1);
            }
        }
    }

    /**
     * Waits for every node to join (printing each as it does), then, with a fresh deadline, for every node's
     * RESULT. A node whose output ends first fails the demo.
     */
    private List<NodeReport> awaitNodes(List<ChildJvm> nodeProcesses, PrintWriter out, long startDeadline)
            throws InterruptedException {
        Map<ChildJvm, Integer> ranks = new LinkedHashMap<>();
        Map<ChildJvm, NodeReport> reports = new LinkedHashMap<>();
        long deadline = startDeadline;
        while (reports.size() < nodeProcesses.size()) {
            List<ChildJvm> waiting = nodeProcesses.stream()
                    .filter(c -> ranks.size() < nodeProcesses.size() ? !ranks.containsKey(c) : !reports.containsKey(c))
                    .toList();
            String what = ranks.size() < nodeProcesses.size() ? "every node to join" : "every node's results";
            ChildJvm.Line e = next(deadline, waiting, what);
            ChildJvm c = e.child();
            if (e.isEnd()) {
                if (c.name().equals("master") || !reports.containsKey(c)) {
                    throw failed(c, "while the demo was waiting for " + what);
                }
                continue;
            }
            Matcher ready = NODE_READY.matcher(e.text());
            if (ready.matches() && !ranks.containsKey(c)) {
                ranks.put(c, Integer.parseInt(ready.group(1)));
                out.printf("  %-8s pid %-7d rank %s, listening on %s%n", c.name(), c.pid(), ready.group(1),
                        ready.group(2));
                out.flush();
                if (ranks.size() == nodeProcesses.size()) {
                    out.printf("Every node now calls every other one %d times per workload (after %d warm-up calls):%n"
                            + "  echo, compute.sum and compute.sha256 with %d-byte requests, every answer checked...%n",
                            calls, warmup, payload);
                    out.flush();
                    deadline = System.nanoTime() + timeout.toNanos();
                }
            } else if (e.text().startsWith(NodeReport.PREFIX) && !reports.containsKey(c)) {
                reports.put(c, parseReport(c, e.text()));
                out.printf("  rank %d finished its calls (%d of %d nodes)%n", ranks.getOrDefault(c, -1), reports.size(),
                        nodeProcesses.size());
                out.flush();
            }
        }
        return List.copyOf(reports.values());
    }

    private NodeReport parseReport(ChildJvm c, String line) {
        NodeReport r;
        try {
            r = NodeReport.parse(line);
        } catch (IllegalArgumentException ex) {
            throw new CliException(c.name() + " printed a RESULT line the demo cannot read (" + ex.getMessage()
                    + "): " + line);
        }
        if (r.targets().size() != nodes - 1) {
            throw new CliException(c.name() + " (rank " + r.rank() + ") called ranks " + r.targets() + ", not all "
                    + (nodes - 1) + " others");
        }
        return r;
    }

    /** The next line (or end of output) from any child; a timeout fails the demo naming those still awaited. */
    private ChildJvm.Line next(long deadline, List<ChildJvm> awaited, String what) throws InterruptedException {
        long left = deadline - System.nanoTime();
        ChildJvm.Line e = left > 0 ? events.poll(left, TimeUnit.NANOSECONDS) : events.poll();
        if (e != null) {
            return e;
        }
        StringBuilder b = new StringBuilder("timed out after " + DurationConverter.format(timeout) + " waiting for "
                + what + ".");
        for (ChildJvm c : awaited) {
            b.append(System.lineSeparator()).append(c.describe());
        }
        throw new CliException(b.toString());
    }

    private CliException failed(ChildJvm child, String when) {
        if (stopping) {
            return new CliException("interrupted");
        }
        return new CliException(child.name() + " stopped " + when + ": " + child.describe());
    }

    private void validate() {
        if (nodes < 2 || nodes > 32) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--nodes must be between 2 and 32, was " + nodes);
        }
        if (calls < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--calls must be positive, was " + calls);
        }
        if (payload < 0 || payload > (64 << 20)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--payload must be between 0 and 64 MiB, was " + payload);
        }
        if (warmup < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--warmup must be zero or positive, was " + warmup);
        }
        if (timeout.isZero()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--timeout must be positive");
        }
    }

    /** Inside a Baton checkout (bin/baton sets baton.home), under its build directory; else in the temp dir. */
    private static Path defaultLogDir() {
        String home = System.getProperty("baton.home");
        if (home != null && Files.isDirectory(Path.of(home, "baton-cli", "target"))) {
            return Path.of(home, "baton-cli", "target", "demo-logs");
        }
        return Path.of(System.getProperty("java.io.tmpdir"), "baton-demo-" + System.getProperty("user.name"));
    }

    /** "µs" when the console's encoding has it. */
    private static String micro() {
        return System.out.charset().newEncoder().canEncode('µ') ? "µs" : "us";
    }
}
