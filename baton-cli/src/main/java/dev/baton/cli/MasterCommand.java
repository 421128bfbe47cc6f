package dev.baton.cli;

import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Probe;
import dev.baton.micrometer.BatonMasterMetrics;
import dev.baton.status.StatusPage;
import dev.baton.tracker.Tracker;
import dev.baton.tracker.TrackerOptions;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * {@code baton master}: the registry daemon. Prints {@code baton master listening on HOST:PORT} once it
 * accepts nodes (the real port when {@code --port 0}), then runs until SIGTERM or Ctrl-C.
 */
@Command(name = "master",
        mixinStandardHelpOptions = true,
        header = "Runs the master: the registry daemon that nodes join.",
        description = {
                "It assigns ranks and server ids, and pushes membership changes to every node.",
                "Prints 'baton master listening on HOST:PORT' when ready (with --tracker-port, then 'baton master"
                        + " tracker listening on HOST:PORT, native protocol from node baton-tracker'), then runs until"
                        + " SIGTERM or Ctrl-C (exit code 143 or 130, after closing cleanly)."})
final class MasterCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "HOST",
            description = "Address to listen on (0.0.0.0 for every interface). Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--port", defaultValue = "9394", paramLabel = "PORT",
            description = "Port to listen on; 0 picks a free one. Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--lease", paramLabel = "DURATION", defaultValue = "3s", converter = DurationConverter.class,
            description = "A node the master hears nothing from for this long is removed (MasterOptions.leaseTimeout;"
                    + " nodes ping every third of it). Default: ${DEFAULT-VALUE}.")
    Duration lease;

    @Option(names = "--tracker-port", paramLabel = "PORT",
            description = "Also host a device tracker: TVM's tracker protocol on this port (0 picks a free one), and"
                    + " Baton's native protocol (the baton.tracker service) from an in-process node named"
                    + " baton-tracker, which takes a rank. Default: no tracker.")
    Integer trackerPort;

    @CommandLine.Mixin
    HttpOptions http;

    @CommandLine.Mixin
    SecretOptions secret;

    @CommandLine.Mixin
    TlsCliOptions tls;

    @Option(names = "--supervised", hidden = true,
            description = "Also stop, exiting with 0, at end of input on stdin (used by `baton demo`).")
    boolean supervised;

    @Override
    public Integer call() throws InterruptedException {
        if (port < 0 || port > 65535) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--port must be between 0 and 65535, was " + port);
        }
        if (lease.compareTo(MasterOptions.MIN_LEASE_TIMEOUT) < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--lease must be at least "
                    + DurationConverter.format(MasterOptions.MIN_LEASE_TIMEOUT) + ", was " + DurationConverter.format(lease));
        }
        if (trackerPort != null && (trackerPort < 0 || trackerPort > 65535)) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--tracker-port must be between 0 and 65535, was " + trackerPort);
        }
        InetSocketAddress httpBind = http.enabled() ? http.bind(spec) : null;
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Foreground.Stop stop = Foreground.stopOnEndOfInput(supervised);
        try (Foreground.Owned<Master> master = Foreground.closeOnShutdown("master",
                Master.start(tls.applyTo(secret.applyTo(MasterOptions.builder())).bind(new InetSocketAddress(host, port))
                        .leaseTimeout(lease).build()),
                err)) {
            secret.warnIfUnauthenticated("the master", new InetSocketAddress(host, port), master.get().address(),
                    tls.enabled(), err);
            out.println("baton master listening on " + BatonCli.hostPort(master.get().address()));
            try (Foreground.Owned<AutoCloseable> tracker = trackerPort == null ? null
                    : Foreground.closeOnShutdown("tracker", startTracker(master.get(), out), err)) {
                serve(master.get(), httpBind, stop, out, err);
            }
        }
        return 0;
    }

    /** A tracker on {@code --tracker-port} and its native side on a node of {@code master}; prints where. */
    private AutoCloseable startTracker(Master master, PrintWriter out) {
        Tracker tracker = Tracker.start(TrackerOptions.builder().bind(new InetSocketAddress(host, trackerPort)).build());
        TrackerHost nativeSide;
        try {
            nativeSide = TrackerHost.join(tracker, host, master.address(), secret.secret(), tls.options());
        } catch (RuntimeException e) {
            tracker.close();
            throw e;
        }
        out.println("baton master tracker listening on " + BatonCli.hostPort(tracker.address())
                + ", native protocol from node " + TrackerHost.NODE_NAME);
        return () -> {
            nativeSide.close();
            tracker.close();
        };
    }

    private void serve(Master master, InetSocketAddress httpBind, Foreground.Stop stop, PrintWriter out,
                       PrintWriter err) throws InterruptedException {
        if (httpBind == null) {
            out.flush();
            stop.await();
            return;
        }
        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new BatonMasterMetrics(master).bindTo(metrics);
        try (Probe probe = secret.probe(tls.transport());
             Foreground.Owned<StatusPage> page = Foreground.closeOnShutdown("status page",
                     StatusPage.builder(master).bind(httpBind).probe(probe).metrics(metrics::scrape).start(), err)) {
            out.println("baton master status page on http://" + BatonCli.hostPort(page.get().address()) + "/");
            out.flush();
            stop.await();
        }
    }
}
