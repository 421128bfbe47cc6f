package dev.baton.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.baton.NodeOptions;
import dev.baton.TlsOptions;
import dev.baton.tracker.Tracker;
import dev.baton.tracker.TrackerClient;
import dev.baton.tracker.TrackerOptions;
import dev.baton.tracker.TrackerSummary;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code baton tracker}: a device tracker that speaks TVM's RPC tracker protocol (docs/tracker.md). Prints
 * {@code baton tracker listening on HOST:PORT} once it accepts connections (the real port when {@code --port 0}),
 * then runs until SIGTERM or Ctrl-C. {@code baton tracker status --tracker HOST:PORT [--json]} prints a tracker's
 * servers and queues (Baton's or TVM's own), as TVM's {@code query_rpc_tracker} does.
 */
@Command(name = "tracker",
        mixinStandardHelpOptions = true,
        header = "Runs a device tracker that speaks TVM's RPC tracker protocol.",
        description = {
                "TVM's RPC servers register under a key (python -m tvm.exec.rpc_server --tracker=HOST:PORT --key=K);",
                "clients request a server of a key by priority (rpc.connect_tracker(HOST, PORT).request(K)). Unlike",
                "TVM's tracker it drops a server the moment its connection closes, leaves no request behind when a",
                "client disconnects, can bound how long a request waits, and closes only the connection that sends",
                "bad input. It also speaks Baton's native protocol (the baton.tracker service): it starts a Baton",
                "master on --native-port with a node named baton-tracker that serves it, or with --master joins an",
                "existing cluster instead. Prints 'baton tracker listening on HOST:PORT', then 'baton tracker native",
                "protocol on master HOST:PORT (node baton-tracker, rank R)', then runs until SIGTERM or Ctrl-C (exit",
                "code 143 or 130, after closing cleanly).",
                "--secret-file and --tls-cert/--tls-key/--tls-ca apply to the native side (its master and node, or the",
                "node that joins --master); TVM's port stays plain TCP, the only protocol TVM's clients speak."},
        subcommands = {TrackerCommand.StatusCommand.class},
        footerHeading = "%nExamples:%n",
        footer = {
                "  baton tracker                              TVM's port, 9190, and a Baton master on 9191, on loopback",
                "  baton tracker --master 127.0.0.1:9394      the native side joins that cluster instead",
                "  baton tracker --host 0.0.0.0 --max-request-wait 10m",
                "  baton tracker status --tracker 127.0.0.1:9190 [--json]"})
final class TrackerCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "HOST",
            description = "Address to listen on (0.0.0.0 for every interface); a name must resolve."
                    + " Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--port", defaultValue = "9190", paramLabel = "PORT",
            description = "Port to listen on (TVM's is 9190); 0 picks a free one. Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--native-port", paramLabel = "PORT",
            description = "Port of the Baton master this command starts for the native protocol; 0 picks a free one."
                    + " Default: --port + 1 (0 when --port is 0).")
    Integer nativePort;

    @Option(names = "--master", paramLabel = "HOST:PORT",
            description = "Serve the native protocol from a node of this existing cluster instead of starting a master.")
    String master;

    @Option(names = "--max-request-wait", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Answer a request that waited this long with a failure ([-1, reason]) instead of"
                    + " letting it wait forever, as TVM does. Default: no limit.")
    Duration maxRequestWait;

    @Option(names = "--max-connections", paramLabel = "N", defaultValue = "1024",
            description = "Connections open at once (servers and clients); more are refused."
                    + " Default: ${DEFAULT-VALUE}.")
    int maxConnections;

    @CommandLine.Mixin
    SecretOptions secret;

    /** TLS for the native side only (its master and node); TVM's port stays plain TCP, as TVM's clients speak it. */
    @CommandLine.Mixin
    TlsCliOptions tls;

    @Option(names = "--supervised", hidden = true,
            description = "Also stop, exiting with 0, at end of input on stdin.")
    boolean supervised;

    @Override
    public Integer call() throws InterruptedException {
        if (port < 0 || port > 65535) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--port must be between 0 and 65535, was " + port);
        }
        int masterPort = nativePort != null ? nativePort : port == 0 ? 0 : port + 1;
        if (nativePort != null && master != null) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--native-port and --master exclude each other: with --master, no master is started");
        }
        if (masterPort < 0 || masterPort > 65535) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--native-port must be between 0 and 65535, was " + masterPort);
        }
        InetSocketAddress joinMaster = null;
        if (master != null) {
            try {
                joinMaster = NodeOptions.parseHostPort(master);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--master: " + e.getMessage());
            }
        }
        TrackerOptions options;
        try {
            // A --host that does not resolve is refused here (build), as a usage error.
            options = TrackerOptions.builder().bind(host, port).maxConnections(maxConnections)
                    .maxRequestWait(maxRequestWait).build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Foreground.Stop stop = Foreground.stopOnEndOfInput(supervised);
        TlsOptions nativeTls = tls.options();   // a usage error before anything listens
        Tracker tracker = Tracker.start(options);
        TrackerHost nativeSide;
        try {
            nativeSide = joinMaster != null ? TrackerHost.join(tracker, host, joinMaster, secret.secret(), nativeTls)
                    : TrackerHost.withOwnMaster(tracker, host, masterPort, secret.secret(), nativeTls);
        } catch (RuntimeException e) {
            tracker.close();
            throw e;
        }
        AtomicBoolean closedHere = new AtomicBoolean();
        AutoCloseable closer = () -> {
            closedHere.set(true);
            nativeSide.close();
            tracker.close();
        };
        try (Foreground.Owned<AutoCloseable> owned = Foreground.closeOnShutdown("tracker", closer, err)) {
            if (joinMaster == null) {
                secret.warnIfUnauthenticated("the tracker's master", new InetSocketAddress(host, masterPort),
                        nativeSide.masterAddress(), tls.enabled(), err);
            }
            out.println("baton tracker listening on " + BatonCli.hostPort(tracker.address()));
            out.println("baton tracker native protocol on " + nativeSide.describe());
            out.flush();
            // Whichever comes first: the end of stdin (supervised), a signal (the shutdown hook closes it), or a
            // STOP message with the tracker's key.
            Thread.ofVirtual().name("baton-tracker-stop-watch").start(() -> {
                try {
                    stop.await();
                    owned.get().close();
                } catch (InterruptedException e) {
                    // the command is ending anyway
                } catch (Exception e) {
                    err.println("baton tracker: closing the tracker failed: " + e);
                    err.flush();
                }
            });
            while (!tracker.awaitStopped(Duration.ofDays(1))) {
                // a tracker runs for days; keep waiting
            }
            if (!closedHere.get()) {
                nativeSide.close();
                out.println("baton tracker stopped by a STOP message");
                out.flush();
            }
        }
        return 0;
    }

    /** {@code baton tracker status}: one SUMMARY, as TVM's {@code query_rpc_tracker} prints it, or as JSON. */
    @Command(name = "status",
            mixinStandardHelpOptions = true,
            header = "Prints a tracker's servers and queues (Baton's tracker or TVM's), like query_rpc_tracker.",
            description = {
                    "The server list (address and key of every server that described itself) and the queue of each",
                    "key: total servers, free servers, pending requests. With --json, the summary as read, written",
                    "again in TVM's shape: {\"queue_info\": {key: {\"free\": n, \"pending\": m}},",
                    " \"server_info\": [{\"key\": \"server:<key>\", \"addr\": [host, port]}]}. Ports are numbers, a",
                    "server's fields other than key and addr are left out, and so are server entries without a usable",
                    "key or address (TVM's tracker keeps whatever its servers sent). Baton servers registered through",
                    "the native protocol follow, in two more tables, or under \"baton\" in the JSON."},
            footerHeading = "%nExamples:%n",
            footer = {
                    "  baton tracker status --tracker 127.0.0.1:9190",
                    "  baton tracker status --tracker 10.0.0.5:9190 --json"})
    static final class StatusCommand implements Callable<Integer> {

        private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().setPrettyPrinting().create();

        @Spec
        CommandSpec spec;

        @Option(names = "--tracker", required = true, paramLabel = "HOST:PORT", description = "The tracker to ask.")
        String tracker;

        @Option(names = "--json", description = "Print the summary as JSON, in TVM's shape, instead of the tables.")
        boolean json;

        @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "5s", converter = DurationConverter.class,
                description = "How long it may take in all, connecting included. Default: ${DEFAULT-VALUE}.")
        Duration timeout;

        @Override
        public Integer call() {
            if (timeout.toMillis() < 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--timeout must be at least 1ms");
            }
            InetSocketAddress address;
            try {
                address = NodeOptions.parseHostPort(tracker);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--tracker: " + e.getMessage());
            }
            if (address.getPort() == 0) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--tracker: port 0 is not a tracker's");
            }
            TrackerSummary summary = TrackerClient.builder(address).connectTimeout(timeout).ioTimeout(timeout).build()
                    .summary(timeout);
            PrintWriter out = spec.commandLine().getOut();
            out.print(json ? GSON.toJson(summary.toJson()) + "\n" : summary.toText());
            out.flush();
            return 0;
        }
    }
}
