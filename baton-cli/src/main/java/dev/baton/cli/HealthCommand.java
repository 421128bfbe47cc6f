package dev.baton.cli;

import dev.baton.BatonException;
import dev.baton.Health;
import dev.baton.NodeOptions;
import dev.baton.Probe;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * {@code baton health}: asks one master or node whether it is serving, for scripts and orchestrators (a
 * liveness or readiness probe). Exit code 0 when it serves, 1 when it does not or cannot be reached in time,
 * 2 for a usage error. One line on stdout (or stderr when unreachable).
 */
@Command(name = "health",
        mixinStandardHelpOptions = true,
        header = "Asks a master or a node whether it is serving (exit code 0 if so, 1 if not).",
        footerHeading = "%nExamples:%n",
        footer = {
                "  baton health --node 127.0.0.1:40123",
                "  baton health --master 127.0.0.1:9394 --timeout 500ms"})
final class HealthCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    static final class Target {
        @Option(names = "--node", required = true, paramLabel = "HOST:PORT", description = "A node's data port.")
        String node;

        @Option(names = "--master", required = true, paramLabel = "HOST:PORT", description = "A master.")
        String master;
    }

    @CommandLine.Mixin
    SecretOptions secret;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "3s", converter = DurationConverter.class,
            description = "How long to wait for the answer. Default: ${DEFAULT-VALUE}.")
    Duration timeout;

    @CommandLine.Mixin
    TlsCliOptions tls;

    @Override
    public Integer call() {
        if (timeout.isZero()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--timeout must be positive");
        }
        String where = target.node != null ? target.node : target.master;
        InetSocketAddress address;
        try {
            address = NodeOptions.parseHostPort(where);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Health h;
        try (Probe probe = secret.probe(tls.transport())) {
            h = probe.health(address, timeout);
        } catch (BatonException e) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("unreachable: " + e.getMessage());
            err.flush();
            return 1;
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println((h.serving() ? "serving: " : "not serving: ") + h.role() + " at " + where
                + (h.detail().isEmpty() ? "" : " (" + h.detail() + ")"));
        out.flush();
        return h.serving() ? 0 : 1;
    }
}
