package dev.baton.cli;

import dev.baton.Master;
import dev.baton.NodeOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What every command shares: one duration syntax, exit code 2 for every usage error, the command list. */
@Timeout(60)
class CliConsistencyTest {

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void oneDurationSyntax() {
        DurationConverter c = new DurationConverter();
        assertEquals(Duration.ofNanos(50_000), c.convert("50us"));
        assertEquals(Duration.ofNanos(50_000), c.convert("50µs"));
        assertEquals(Duration.ofMillis(1500), c.convert("1.5s"));
        assertEquals(Duration.ofMillis(500), c.convert("500ms"));
        assertEquals(Duration.ofSeconds(3), c.convert("3"));
        assertEquals(Duration.ofMinutes(2), c.convert("2m"));
        assertEquals(Duration.ofHours(1), c.convert("1h"));
        assertEquals(Duration.ofNanos(200), c.convert("200ns"));
        assertEquals(Duration.ofSeconds(10), c.convert("PT10S"));
        for (String bad : new String[]{"-1s", "fast", "3 parsecs", "1e3s", "", "PT-1S", "99999999999999h"}) {
            assertThrows(CommandLine.TypeConversionException.class, () -> c.convert(bad), bad);
        }
        for (Duration d : new Duration[]{Duration.ofNanos(50_000), Duration.ofMillis(500), Duration.ofSeconds(3),
                Duration.ofMinutes(2), Duration.ofNanos(7)}) {
            assertEquals(d, c.convert(DurationConverter.format(d)));
        }
    }

    @Test
    void theDefaultsInTheHelpAreNodeOptionsDefaults() {
        NodeOptions defaults = NodeOptions.builder().master("127.0.0.1:1").build();
        CommandLine node = BatonCli.newCommandLine().getSubcommands().get("node");
        assertEquals(defaults.callerSpin(), new DurationConverter().convert(
                node.getCommandSpec().findOption("--caller-spin").defaultValue()));
        assertEquals(defaults.ioSpin(), new DurationConverter().convert(
                node.getCommandSpec().findOption("--io-spin").defaultValue()));
        CommandLine master = BatonCli.newCommandLine().getSubcommands().get("master");
        assertEquals(Master.DEFAULT_LEASE_TIMEOUT, new DurationConverter().convert(
                master.getCommandSpec().findOption("--lease").defaultValue()));
    }

    @Test
    void everyUsageErrorExitsWithTwo() {
        String[][] usageErrors = {
                {},
                {"nonsense"},
                {"master", "--port", "70000"},
                {"master", "--lease", "10ms"},
                {"master", "--http-port", "-1"},
                {"node", "--master", "127.0.0.1:1", "--port", "-1"},
                {"node", "--master", "127.0.0.1:1", "--services", "nope"},
                {"node", "--master", "127.0.0.1:1", "--caller-spin", "soon"},
                {"demo", "--nodes", "1"},
                {"demo", "--timeout", "0s"},
                {"accumulators", "--master", "127.0.0.1:1", "--timeout", "0"},
                {"status"},
                {"status", "--master", "nonsense"},
                {"node", "--master", "host:notaport"},
                {"accumulators", "--master", "127.0.0.1:70000"},
                {"health", "--node", "127.0.0.1:1", "--timeout", "x"},
                {"bench"},
                {"tracker", "--port", "70000"},
                {"tracker", "status"},
                {"tracker", "--native-port", "70000"},
                {"tracker", "--port", "65535"},
                {"tracker", "--native-port", "0", "--master", "127.0.0.1:1"},
                {"tracker", "--master", "nonsense"},
                {"master", "--tracker-port", "70000"},
                {"tracker", "--port", "0", "--tls-cert", "only-the-cert.pem"},
                {"supervise"},
                {"certs"},
                {"certs", "--dir", "unused", "--nodes", "0"},
                {"supervise", "--window", "0s", "--", "true"},
        };
        for (String[] args : usageErrors) {
            CliRun r = run(args);
            assertEquals(2, r.exitCode(), String.join(" ", args) + ": " + r.err());
            assertTrue(!r.err().isBlank(), String.join(" ", args) + " says why");
        }
    }

    @Test
    void logLevelIsAnOptionOfEveryCommand() {
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        java.util.logging.Level before = root.getLevel();
        try {
            java.util.logging.Logger zookeeper = BatonCli.CHATTY_LIBRARIES.getFirst();
            assertEquals(java.util.logging.Level.WARNING, zookeeper.getLevel(), "ZooKeeper's client is quiet by default");
            assertEquals(2, run("status", "--log-level", "DEBUG").exitCode(), "status still needs a registry");
            assertEquals(java.util.logging.Level.FINE, root.getLevel());
            assertEquals(java.util.logging.Level.FINE, zookeeper.getLevel(), "and says everything when asked");
            assertEquals(2, run("--log-level", "INFO", "master", "--port", "70000").exitCode());
            assertEquals(java.util.logging.Level.WARNING, zookeeper.getLevel(), "INFO is not enough to hear it");
            assertEquals(2, run("--log-level", "WARNING", "master", "--port", "70000").exitCode());
            assertEquals(java.util.logging.Level.WARNING, root.getLevel());
            CliRun bad = run("master", "--log-level", "chatty");
            assertEquals(2, bad.exitCode());
            assertTrue(bad.err().contains("unknown level 'chatty'"), bad.err());
        } finally {
            root.setLevel(before);
            BatonCli.CHATTY_LIBRARIES.forEach(l -> l.setLevel(java.util.logging.Level.WARNING));
            for (java.util.logging.Handler h : root.getHandlers()) {
                h.setLevel(java.util.logging.Level.INFO);
            }
        }
    }

    @Test
    void theCommandListNamesEveryCommandBenchIncluded() {
        CliRun r = run("--help");
        assertEquals(0, r.exitCode());
        for (String command : new String[]{"master", "node", "demo", "status", "health", "accumulators", "bench",
                "tracker", "supervise", "certs"}) {
            assertTrue(r.out().contains("\n  " + command + " "), command + " in:\n" + r.out());
        }
        CliRun help = run("help", "bench");
        assertEquals(0, help.exitCode());
        assertTrue(help.out().contains("bin/baton bench --help"), help.out());
    }
}
