package dev.baton.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `baton demo` end to end: a real master and real node JVMs, started and stopped by the command. */
@Timeout(120)
class DemoCommandTest {

    @TempDir
    Path logs;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @AfterEach
    void noChildProcessIsLeftBehind() {
        ChildProcesses.assertNoneLeft(Duration.ofSeconds(10));
    }

    private int demo(String... options) {
        String[] args = new String[options.length + 3];
        args[0] = "demo";
        args[1] = "--log-dir";
        args[2] = logs.toString();
        System.arraycopy(options, 0, args, 3, options.length);
        return BatonCli.newCommandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                .execute(args);
    }

    /** With TLS too: the ensemble serves its clients over TLS only (plain ZooKeeper is the other tests' case). */
    @Test
    void withZooKeeperAndTlsTheNodesJoinOverTlsThroughAThreeMemberEnsembleOfChildJvms() {
        int code = demo("--zookeeper", "--tls", "--nodes", "2", "--calls", "100", "--warmup", "10");

        String table = out.toString();
        assertEquals(0, code, () -> "stdout:\n" + table + "\nstderr:\n" + err);
        assertTrue(table.contains("a ZooKeeper ensemble of 3"), table);
        assertTrue(Pattern.compile("(?m)^  zookeeper +127\\.0\\.0\\.1:\\d+,127\\.0\\.0\\.1:\\d+,127\\.0\\.0\\.1:\\d+ "
                + "\\(leader: member \\d; over TLS, clients and members alike\\)").matcher(table).find(), table);
        assertTrue(table.contains("OK: 600 calls between 2 nodes"), table);
        assertTrue(table.contains("TLS: on for every connection"), table);
    }

    @Test
    void twoNodesCallEachOtherWithoutErrorsAndTheTableHasARowPerRankAndService() {
        int code = demo("--nodes", "2", "--calls", "200", "--warmup", "20");

        String table = out.toString();
        assertEquals(0, code, () -> "stdout:\n" + table + "\nstderr:\n" + err);
        for (int rank = 0; rank < 2; rank++) {
            for (String service : new String[]{"echo", "compute.sum", "compute.sha256"}) {
                // from, service, calls (200 to the one other node), errors
                Pattern row = Pattern.compile("(?m)^rank " + rank + " +" + Pattern.quote(service) + " +200 +0 ");
                assertTrue(row.matcher(table).find(), "no row for rank " + rank + " -> " + service + " in:\n" + table);
            }
        }
        assertTrue(Pattern.compile("(?m)^total +1200 +0 ").matcher(table).find(), table);
        assertTrue(table.contains("OK: 1200 calls between 2 nodes"), table);
        assertTrue(table.contains("rank 0 finished its calls") && table.contains("(2 of 2 nodes)"), table);
        assertTrue(table.contains("`bin/baton bench` measures"), "says why its latencies are not the benchmark's");
        assertTrue(Files.exists(logs.resolve("master.log")) && Files.exists(logs.resolve("node-1.log"))
                && Files.exists(logs.resolve("node-2.log")), "one log per child");
    }

    @Test
    void withTlsEveryProcessRunsTlsFromAThrowawayPkiThatIsDeletedAtTheEnd() {
        int code = demo("--tls", "--nodes", "2", "--calls", "100", "--warmup", "10");

        String table = out.toString();
        assertEquals(0, code, () -> "stdout:\n" + table + "\nstderr:\n" + err);
        assertTrue(table.contains("OK: 600 calls between 2 nodes"), table);
        assertTrue(table.contains("TLS: on for every connection (TLSv1.3, mutual authentication)."), table);
        java.util.regex.Matcher pki = Pattern.compile("a development CA in (\\S+), deleted at exit").matcher(table);
        assertTrue(pki.find(), table);
        assertTrue(Files.notExists(Path.of(pki.group(1))), "the PKI's directory is gone: " + pki.group(1));
    }

    @Test
    void nodesThatCannotFinishInTimeFailTheDemoWhichStillStopsThemAll() {
        int code = demo("--nodes", "2", "--calls", "100000000", "--timeout", "5");

        assertEquals(1, code, () -> "stdout:\n" + out + "\nstderr:\n" + err);
        assertTrue(err.toString().contains("timed out after 5s waiting for"), err::toString);
        assertTrue(err.toString().contains(" (pid "), "names the processes it waited for: " + err);
    }

    @Test
    void badOptionsAreRefusedBeforeAnyProcessStarts() {
        assertEquals(2, demo("--nodes", "1"), "a usage error");
        assertTrue(err.toString().contains("--nodes must be between 2 and 32, was 1"), err::toString);
        assertEquals("", out.toString());
    }
}
