package dev.baton.cli;

import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.SharedMemory;
import dev.baton.micrometer.BatonNodeMetrics;
import dev.baton.micrometer.PrometheusEndpoint;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code baton node}: a process that joins a master (or a ZooKeeper ensemble) and serves the demo services ({@link DemoServices}).
 * Prints {@code baton node rank R listening on HOST:PORT} once its servers are registered. With
 * {@code --drive} it then calls every other node ({@link Driver}) and prints one {@code RESULT} line
 * ({@link NodeReport}). Either way it serves until SIGTERM or Ctrl-C (or, supervised, end of stdin).
 */
@Command(name = "node",
        mixinStandardHelpOptions = true,
        header = "Runs a node that joins a master (or ZooKeeper) and serves the demo services.",
        description = {
                "Services: 'echo' (method 0 answers the request's bytes) and 'compute' (method 0: the sum of N "
                        + "little-endian doubles; method 1: the request's SHA-256, on a blocking handler).",
                "Prints 'baton node rank R listening on HOST:PORT' when serving, then runs until SIGTERM or Ctrl-C.",
                "With --drive it first waits for --nodes nodes, calls every other node and prints "
                        + "'RESULT {json}' (what `baton demo` collects)."})
final class NodeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    RegistryOptions registry;

    @CommandLine.Mixin
    SecretOptions secret;

    @CommandLine.Mixin
    TlsCliOptions tls;

    @Option(names = "--name", defaultValue = "node", paramLabel = "NAME", description = "This node's name, for people. Default: ${DEFAULT-VALUE}.")
    String name;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "HOST",
            description = "Address to accept connections on. Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--port", defaultValue = "0", paramLabel = "PORT",
            description = "Port to accept connections on; 0 picks a free one. Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--services", split = ",", defaultValue = "echo,compute", paramLabel = "SERVICE",
            description = "Services to serve, of: echo, compute. Default: ${DEFAULT-VALUE}.")
    List<String> services;

    @Option(names = "--caller-spin", paramLabel = "DURATION", defaultValue = "50us",
            converter = DurationConverter.class,
            description = "How long a blocked caller spins before it parks (NodeOptions.callerSpin). "
                    + "Default: ${DEFAULT-VALUE}.")
    Duration callerSpin;

    @Option(names = "--io-spin", paramLabel = "DURATION", defaultValue = "0s", converter = DurationConverter.class,
            description = "How long an idle I/O thread polls before it blocks (NodeOptions.ioSpin). "
                    + "Default: ${DEFAULT-VALUE}.")
    Duration ioSpin;

    @Option(names = "--lanes", paramLabel = "N", defaultValue = "1",
            description = "Connections to each peer (NodeOptions.lanes): a calling thread keeps one lane. "
                    + "Default: ${DEFAULT-VALUE}.")
    int lanes;

    @Option(names = "--io-threads", paramLabel = "N", defaultValue = "1",
            description = "I/O threads (NodeOptions.ioThreads), over which the lanes are spread. "
                    + "Default: ${DEFAULT-VALUE}.")
    int ioThreads;

    @CommandLine.Mixin
    HttpOptions http;

    @Option(names = "--shared-memory", defaultValue = "PREFERRED", paramLabel = "MODE",
            description = "Shared memory to nodes on this host (NodeOptions.sharedMemory): PREFERRED, DISABLED or "
                    + "REQUIRED. Default: ${DEFAULT-VALUE}.")
    SharedMemory sharedMemory;

    @ArgGroup(exclusive = false, heading = "%nDriving (what `baton demo` asks of each node):%n")
    DriveOptions drive;

    @Option(names = "--supervised", hidden = true,
            description = "Also stop, exiting with 0, at end of input on stdin (used by `baton demo`).")
    boolean supervised;

    static final class DriveOptions {
        @Option(names = "--drive", required = true,
                description = "After joining, call every other node and print one RESULT line.")
        boolean drive;

        @Option(names = "--nodes", required = true, paramLabel = "N",
                description = "Nodes in the cluster, this one included: wait for all of them to serve.")
        int nodes;

        @Option(names = "--calls", defaultValue = "2000", paramLabel = "C",
                description = "Calls per other node and workload (echo, compute.sum, compute.sha256). "
                        + "Default: ${DEFAULT-VALUE}.")
        int calls;

        @Option(names = "--payload", defaultValue = "1024", paramLabel = "BYTES",
                description = "Request size in bytes. Default: ${DEFAULT-VALUE}.")
        int payload;

        @Option(names = "--warmup", defaultValue = "100", paramLabel = "W",
                description = "Verified but untimed calls per other node and workload first. Default: ${DEFAULT-VALUE}.")
        int warmup;

        @Option(names = "--wait", defaultValue = "30s", paramLabel = "DURATION", converter = DurationConverter.class,
                description = "How long to wait for the other nodes. Default: ${DEFAULT-VALUE}.")
        Duration wait;
    }

    @Override
    public Integer call() throws InterruptedException {
        Set<String> serve = validate();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        NodeOptions.Builder builder = tls.applyTo(secret.applyTo(registry.applyTo(NodeOptions.builder(), tls)))
                .bind(new InetSocketAddress(host, port))
                .name(name)
                .sharedMemory(sharedMemory)
                .callerSpin(callerSpin)
                .ioSpin(ioSpin)
                .lanes(lanes)
                .ioThreads(ioThreads);
        NodeOptions options = builder.build();
        Foreground.Stop stop = Foreground.stopOnEndOfInput(supervised);
        try (Foreground.Owned<Node> owned = Foreground.closeOnShutdown("node", Node.join(options), err)) {
            Node node = owned.get();
            if (serve.contains(DemoServices.ECHO)) {
                DemoServices.startEcho(node);
            }
            if (serve.contains(DemoServices.COMPUTE)) {
                DemoServices.startCompute(node);
            }
            secret.warnIfUnauthenticated("this node", options.bind(), node.address(), tls.enabled(), err);
            out.println("baton node rank " + node.rank() + " listening on " + BatonCli.hostPort(node.address()));
            try (AutoCloseable metrics = http.enabled() ? serveMetrics(node, out) : () -> { }) {
                out.flush();
                if (drive != null) {
                    drive(node, stop, out, err);
                }
                stop.await();
            } catch (InterruptedException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return 0;
    }

    /** The node's meters in a Prometheus registry, served on --http-port; closing stops both. */
    private AutoCloseable serveMetrics(Node node, PrintWriter out) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        BatonNodeMetrics metrics = new BatonNodeMetrics(node);
        metrics.bindTo(registry);
        PrometheusEndpoint endpoint;
        try {
            endpoint = PrometheusEndpoint.start(registry, http.bind(spec));
        } catch (RuntimeException e) {
            metrics.close();
            throw e;
        }
        out.println("baton node metrics on http://" + BatonCli.hostPort(endpoint.address()) + "/metrics");
        return () -> {
            endpoint.close();
            metrics.close();
        };
    }

    private void drive(Node node, Foreground.Stop stop, PrintWriter out, PrintWriter err)
            throws InterruptedException {
        Driver driver = new Driver(node, drive.calls, drive.payload, drive.warmup, Duration.ofSeconds(10),
                stop::requested);
        List<Integer> targets = driver.awaitPeers(drive.nodes, drive.wait);
        if (stop.requested()) {
            return;
        }
        err.println("node rank " + node.rank() + ": calling ranks " + targets + ", " + drive.calls
                + " calls each per workload, " + drive.payload + "-byte requests");
        err.flush();
        NodeReport report = driver.run(targets);
        if (stop.requested()) {
            return;   // the demo gave up on this run; its numbers would be partial
        }
        out.println(report.toLine());
        out.flush();
    }

    private Set<String> validate() {
        Set<String> serve = new LinkedHashSet<>();
        for (String s : services) {
            String service = s.trim();
            if (!service.equals(DemoServices.ECHO) && !service.equals(DemoServices.COMPUTE)) {
                throw usage("--services: unknown service '" + service + "' (known: echo, compute)");
            }
            serve.add(service);
        }
        if (port < 0 || port > 65535) {
            throw usage("--port must be between 0 and 65535, was " + port);
        }
        if (http.enabled()) {
            http.bind(spec);        // a usage error before anything starts
        }
        if (drive != null) {
            if (!serve.containsAll(List.of(DemoServices.ECHO, DemoServices.COMPUTE))) {
                throw usage("--drive needs this node to serve both echo and compute");
            }
            check(drive.nodes >= 2, "--nodes must be at least 2, was " + drive.nodes);
            check(drive.calls >= 1, "--calls must be positive, was " + drive.calls);
            check(drive.payload >= 0 && drive.payload <= (64 << 20), "--payload must be between 0 and 64 MiB, was "
                    + drive.payload);
            check(drive.warmup >= 0, "--warmup must be zero or positive, was " + drive.warmup);
            check(!drive.wait.isZero(), "--wait must be positive");
        }
        return serve;
    }

    private void check(boolean ok, String message) {
        if (!ok) {
            throw usage(message);
        }
    }

    /** A usage error: picocli prints it with the usage, and the exit code is 2. */
    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
