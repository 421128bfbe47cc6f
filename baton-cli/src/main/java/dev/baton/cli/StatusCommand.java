package dev.baton.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.baton.BatonException;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Probe;
import dev.baton.status.ClusterSample;
import dev.baton.status.StatusJson;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code baton status}: the cluster at a glance. It follows the membership as an observer ({@link Node#observe}:
 * no rank, no member sees it), asks every node for its status through a {@link Probe} (each node answers for
 * itself: counters, failures by code, sampled latency, connections, queued bytes), takes a second sample after
 * {@code --interval} for rates and the interval's percentiles, and prints a table or JSON. {@code --watch}
 * refreshes in place every interval until Ctrl-C (or {@code --count} refreshes).
 */
@Command(name = "status",
        mixinStandardHelpOptions = true,
        header = "Shows the cluster: its nodes, services, and each node's calls, errors and latency.",
        description = {
                "Follows the cluster without joining it (it takes no rank) and asks every node for its counters.",
                "Rates and latency percentiles are over --interval; latency is measured on 1 call in 16."},
        footerHeading = "%nExamples:%n",
        footer = {
                "  baton status --master 127.0.0.1:9394",
                "  baton status --master 127.0.0.1:9394 --watch           refresh every second, Ctrl-C to stop",
                "  baton status --zookeeper 127.0.0.1:2181 --cluster ml --json"})
final class StatusCommand implements Callable<Integer> {

    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().setPrettyPrinting().create();
    /** ANSI: cursor home, clear screen. */
    private static final String CLEAR = "\033[H\033[2J";

    @Spec
    CommandSpec spec;

    @CommandLine.Mixin
    RegistryOptions registry;

    @CommandLine.Mixin
    SecretOptions secret;

    @CommandLine.Mixin
    TlsCliOptions tls;

    @Option(names = "--json", description = "Print JSON (fields in docs/operations.md) instead of a table.")
    boolean json;

    @Option(names = "--watch", description = "Refresh in place every --interval until Ctrl-C.")
    boolean watch;

    @Option(names = "--count", paramLabel = "N", defaultValue = "0",
            description = "With --watch: stop after N refreshes (0: until Ctrl-C). Default: ${DEFAULT-VALUE}.")
    int count;

    @Option(names = "--interval", paramLabel = "DURATION", defaultValue = "1s", converter = DurationConverter.class,
            description = "Time between the two samples rates are taken over, and between refreshes; 0s prints "
                    + "counts since each node started, at once. Default: ${DEFAULT-VALUE}.")
    Duration interval;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "3s", converter = DurationConverter.class,
            description = "How long to wait for the registry and for each node's answer. Default: ${DEFAULT-VALUE}.")
    Duration timeout;

    /** The cluster now, with the master's lease ages when there is a master to ask. */
    private ClusterSample sample(Node observer, Probe probe) throws InterruptedException {
        Map<Integer, Duration> leases = Map.of();
        if (registry.where.master != null) {
            try {
                leases = probe.leaseAges(NodeOptions.parseHostPort(registry.where.master), timeout);
            } catch (BatonException e) {
                leases = Map.of();      // the table shows no lease age; the rest still tells
            }
        }
        return ClusterSample.take(observer.membership(), leases, probe, timeout);
    }

    @Override
    public Integer call() throws InterruptedException {
        if (timeout.isZero()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--timeout must be positive");
        }
        if (watch && interval.isZero()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--watch needs a positive --interval");
        }
        if (count < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--count must not be negative, was " + count);
        }
        NodeOptions options = tls.applyTo(secret.applyTo(registry.applyTo(NodeOptions.builder(), tls)))
                .name("baton-status")
                .joinTimeout(timeout).defaultTimeout(timeout).drainTimeout(Duration.ZERO).build();
        PrintWriter out = spec.commandLine().getOut();
        try (Node observer = Node.observe(options); Probe probe = secret.probe(tls.transport())) {
            ClusterSample before = null;
            if (!interval.isZero()) {
                before = sample(observer, probe);
                Thread.sleep(interval);
            }
            for (int shown = 1; ; shown++) {
                ClusterSample now = sample(observer, probe);
                if (watch) {
                    out.print(CLEAR);
                }
                out.print(json ? GSON.toJson(StatusJson.cluster(now, before)) + "\n"
                        : StatusReport.table(now, before, registry.describe()));
                out.flush();
                if (!watch || shown == count) {
                    return 0;
                }
                before = now;
                Thread.sleep(interval);
            }
        }
    }
}
