package dev.baton.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.baton.BatonException;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;
import dev.baton.accumulator.AccumulatorValue;
import dev.baton.accumulator.Accumulators;
import dev.baton.status.StatusJson;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.Callable;

/**
 * {@code baton accumulators (--master HOST:PORT | --zookeeper HOSTS [--cluster NAME]) [--json]}: follows the
 * cluster as an observer ({@link Node#observe}: it takes no rank and no member sees it), reads every
 * accumulator from the server, prints them and leaves. Exit code 0, also when the cluster has no accumulators; failures (master
 * unreachable, no answer in time) throw {@link BatonException}, which {@code bin/baton} reports on one line of
 * stderr with exit code 1.
 *
 * <p>Output: a table ({@code NAME TYPE VALUE}, sorted by name), or with {@code --json} one object
 * {@code {"accumulators": [...]}} whose entries have {@code name}, {@code type}, {@code rendered} and the
 * typed fields: {@code value} for sums, maxima and minima; {@code count}, {@code sum}, {@code mean} for
 * averages; {@code count}, {@code total}, {@code mean}, {@code variance}, {@code min}, {@code max} for timers.
 * Non-finite numbers are JSON strings ({@code "NaN"}, {@code "Infinity"}, {@code "-Infinity"}).
 *
 * <p>It reads through the accumulators' public API only ({@link Accumulators#readAll(Node, Duration)},
 * {@link Accumulators#SERVICE}, {@link AccumulatorValue}); it lives here, not in {@code baton-accumulator},
 * so that the library needs no command-line parser and never ends a process.
 */
@Command(name = "accumulators",
        mixinStandardHelpOptions = true,
        description = "Prints the current value of every accumulator in the cluster.",
        footerHeading = "%nExamples:%n",
        footer = {
                "  baton accumulators --master 127.0.0.1:9394          a table",
                "  baton accumulators --master 127.0.0.1:9394 --json   JSON, for scripts",
                "  baton accumulators --zookeeper 127.0.0.1:2181 --cluster mycluster"})
final class AccumulatorsCommand implements Callable<Integer> {

    /** How long to wait for a server when none is registered at all: the cluster may be electing one. */
    private static final Duration NO_SERVER_WAIT = Duration.ofSeconds(2);
    /** Nulls written (a timer's min and max when empty), and '=' or '<' in a rendering left as they are. */
    private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();

    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    RegistryOptions registry;

    @picocli.CommandLine.Mixin
    SecretOptions secret;

    @CommandLine.Mixin
    TlsCliOptions tls;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "10s", converter = DurationConverter.class,
            description = "How long to wait for the master and the server (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws InterruptedException {
        if (timeout.isZero()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--timeout must be positive");
        }
        NodeOptions options = tls.applyTo(secret.applyTo(registry.applyTo(NodeOptions.builder(), tls)))
                .name("baton-accumulators")
                .joinTimeout(timeout).defaultTimeout(timeout).drainTimeout(Duration.ofMillis(200)).build();
        Map<String, AccumulatorValue> values;
        try (Node node = Node.observe(options)) {
            values = read(node, timeout);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? toJson(values) : toTable(values));
        out.flush();
        return 0;
    }

    private Map<String, AccumulatorValue> read(Node node, Duration timeout) throws InterruptedException {
        if (node.membership().servers(Accumulators.SERVICE).isEmpty()) {
            try {
                node.client(Accumulators.SERVICE).awaitServers(1, NO_SERVER_WAIT);
            } catch (BatonException e) {
                if (e.code() != Status.Code.DEADLINE_EXCEEDED) {
                    throw e;
                }
                PrintWriter err = spec.commandLine().getErr();
                err.println("accumulators: no accumulator server in the cluster (no node has accumulators attached)");
                err.flush();
                return Map.of();
            }
        }
        return Accumulators.readAll(node, timeout);
    }

    /** The values as an aligned table with a header, or a single line when there are none. */
    static String toTable(Map<String, AccumulatorValue> values) {
        if (values.isEmpty()) {
            return "no accumulators\n";
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[]{"NAME", "TYPE", "VALUE"});
        for (AccumulatorValue v : values.values()) {
            rows.add(new String[]{v.name(), v.type(), v.render()});
        }
        int[] width = new int[2];
        for (String[] r : rows) {
            width[0] = Math.max(width[0], r[0].length());
            width[1] = Math.max(width[1], r[1].length());
        }
        StringBuilder b = new StringBuilder();
        for (String[] r : rows) {
            b.append(pad(r[0], width[0])).append("  ").append(pad(r[1], width[1])).append("  ").append(r[2]);
            b.append('\n');
        }
        return b.toString();
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(width - s.length());
    }

    /**
     * The values as one JSON object (see the class comment), one accumulator per line: {@code {"accumulators":[},
     * then each entry as compact JSON on a line of its own, then {@code ]}}.
     */
    static String toJson(Map<String, AccumulatorValue> values) {
        if (values.isEmpty()) {
            return "{\"accumulators\":[]}\n";
        }
        StringJoiner entries = new StringJoiner(",\n  ", "{\"accumulators\":[\n  ", "\n]}\n");
        for (AccumulatorValue v : values.values()) {
            entries.add(GSON.toJson(StatusJson.accumulator(v)));
        }
        return entries.toString();
    }

}
