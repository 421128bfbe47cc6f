package dev.baton.cli;

import dev.baton.BatonException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Properties;

/**
 * {@code bin/baton}: the command line of Baton. Subcommands: {@code master} (the registry daemon),
 * {@code node} (a process that joins and serves the demo services), {@code demo} (a master and several
 * nodes as child JVMs calling each other, with a latency table at the end), {@code status} (the cluster at a
 * glance), {@code health} (whether one process serves), {@code accumulators} (the cluster's accumulator
 * values), {@code bench}, {@code certs} (a development CA and certificates for TLS), {@code tracker} (TVM's
 * device tracker) and {@code supervise} (runs a command and restarts
 * it with backoff when it fails: watchdog mode's monitor). The read-only tools follow the cluster as observers: they
 * never take a rank.
 *
 * <p>Only {@link #main} ends the process; everything else returns an exit code, so the commands can be run
 * in process (tests do) through {@link #newCommandLine()}.
 */
@Command(name = "baton",
        mixinStandardHelpOptions = true,
        versionProvider = BatonCli.Version.class,
        description = "Baton: RPC for high-performance and distributed computing on the JVM.",
        subcommands = {MasterCommand.class, NodeCommand.class, DemoCommand.class, CertsCommand.class,
                AccumulatorsCommand.class, StatusCommand.class, HealthCommand.class, BenchCommand.class,
                TrackerCommand.class, SuperviseCommand.class, CommandLine.HelpCommand.class},
        footerHeading = "%nExamples:%n",
        footer = {
                "  baton demo [--tls]                master + 3 nodes, all calling each other (over TLS)",
                "  baton certs --dir DIR             a development CA and certificates for --tls-* (development only)",
                "  baton master --port 9394          the registry daemon; stop it with Ctrl-C",
                "  baton node --master HOST:PORT     a node serving the demo services",
                "  baton status --master HOST:PORT [--watch]  nodes, services, calls/s, errors, latency",
                "  baton health --node HOST:PORT     exit code 0 if it serves, 1 if not",
                "  baton accumulators --master HOST:PORT [--json]   accumulator values",
                "  baton bench [--quick] [--json F]  Baton vs gRPC-java vs raw NIO",
                "  baton tracker --port 9190         TVM's device tracker (+ Baton's native protocol, master on 9191);",
                "                                    baton tracker status --tracker HOST:PORT",
                "  baton master --tracker-port 9190  a master that also hosts a tracker",
                "  baton supervise [--max-restarts 5] -- COMMAND...   restarts COMMAND with backoff when it fails"})
public final class BatonCli implements Runnable {

    @Spec
    CommandSpec spec;

    /** JUL's format for every command: one line per record (the JDK's default takes two). */
    static final String ONE_LINE_FORMAT = "%1$tF %1$tT.%1$tL %4$s %3$s: %5$s%6$s%n";

    /**
     * The libraries that say at INFO what a command's user has no use for (ZooKeeper's client prints its whole
     * environment, and its TLS settings, at every connection): they log from WARNING unless {@code --log-level}
     * asks for DEBUG or finer. Held here, as JUL keeps loggers weakly and would forget their level.
     */
    static final List<java.util.logging.Logger> CHATTY_LIBRARIES = List.of(
            java.util.logging.Logger.getLogger("org.apache.zookeeper"),
            java.util.logging.Logger.getLogger("org.apache.curator"));

    static {
        CHATTY_LIBRARIES.forEach(l -> l.setLevel(java.util.logging.Level.WARNING));
    }

    public static void main(String[] args) {
        // Before anything logs: SimpleFormatter reads it once. -Djava.util.logging.SimpleFormatter.format wins.
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null
                && System.getProperty("java.util.logging.config.file") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", ONE_LINE_FORMAT);
        }
        System.exit(newCommandLine().execute(args));
    }

    /**
     * {@code --log-level}, on every command: the level of Baton's loggers (and everything else that logs through
     * the JDK's default backend, java.util.logging), for this process only.
     */
    @Option(names = "--log-level", paramLabel = "LEVEL", scope = CommandLine.ScopeType.INHERIT,
            description = "Log level: OFF, ERROR, WARNING, INFO, DEBUG, TRACE or ALL. Default: INFO (ZooKeeper's "
                    + "and Curator's own loggers: WARNING unless DEBUG or finer is asked for).")
    void logLevel(String level) {
        java.util.logging.Level jul = switch (level.toUpperCase(java.util.Locale.ROOT)) {
            case "OFF" -> java.util.logging.Level.OFF;
            case "ERROR" -> java.util.logging.Level.SEVERE;
            case "WARNING", "WARN" -> java.util.logging.Level.WARNING;
            case "INFO" -> java.util.logging.Level.INFO;
            case "DEBUG" -> java.util.logging.Level.FINE;
            case "TRACE" -> java.util.logging.Level.FINER;
            case "ALL" -> java.util.logging.Level.ALL;
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--log-level: unknown level '"
                    + level + "' (OFF, ERROR, WARNING, INFO, DEBUG, TRACE or ALL)");
        };
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        root.setLevel(jul);
        for (java.util.logging.Handler h : root.getHandlers()) {
            h.setLevel(jul);
        }
        java.util.logging.Level libraries = jul.intValue() < java.util.logging.Level.INFO.intValue() ? jul
                : jul.intValue() > java.util.logging.Level.WARNING.intValue() ? jul : java.util.logging.Level.WARNING;
        CHATTY_LIBRARIES.forEach(l -> l.setLevel(libraries));
    }

    /** A fresh command line for {@code baton}, with Baton's error reporting. Not thread-safe; use once. */
    static CommandLine newCommandLine() {
        CommandLine cl = new CommandLine(new BatonCli()).setExecutionExceptionHandler(BatonCli::reportFailure);
        // `baton supervise java -cp x Main`: everything from COMMAND on is COMMAND's, options included.
        cl.getSubcommands().get("supervise").setStopAtPositional(true);
        return cl;
    }

    @Override
    public void run() {
        // `baton` alone: picocli prints this message and the usage, and exits with 2.
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing subcommand");
    }

    /**
     * Failures a user can act on (a port in use, a master that cannot be reached, a bad value) are one line
     * on stderr; anything else is a bug and keeps its stack trace.
     */
    private static int reportFailure(Exception e, CommandLine cmd, ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        String prefix = cmd.getCommandSpec().qualifiedName() + ": ";
        if (e instanceof CliException || e instanceof BatonException || e instanceof UncheckedIOException
                || e instanceof IOException || e instanceof IllegalArgumentException) {
            err.println(prefix + e.getMessage());
        } else {
            err.println(prefix + "unexpected error");
            e.printStackTrace(err);
        }
        err.flush();
        return CommandLine.ExitCode.SOFTWARE;
    }

    /** {@code host:port}, with IPv6 hosts in brackets: the form {@code --master} accepts. */
    static String hostPort(InetSocketAddress address) {
        return dev.baton.status.StatusJson.hostPort(address);
    }

    /** The project version (filtered into version.properties at build time) and the JVM that runs it. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{
                    "baton " + projectVersion(),
                    "JVM: ${java.version} (${java.vendor} ${java.vm.name} ${java.vm.version})",
                    "OS: ${os.name} ${os.version} ${os.arch}"};
        }

        static String projectVersion() {
            try (InputStream in = BatonCli.class.getResourceAsStream("version.properties")) {
                if (in == null) {
                    return "(unknown version)";
                }
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "(unknown version)");
            } catch (IOException e) {
                return "(unknown version)";
            }
        }
    }
}
