package dev.baton.bench;

import com.google.gson.GsonBuilder;
import com.google.gson.Strictness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

@Timeout(value = 90, unit = TimeUnit.SECONDS)
class BenchMainTest {

    private static final List<String> SYSTEMS = List.of("baton-tcp", "baton-shm", "baton-inproc", "aeron-ipc", "grpc",
            "raw-nio");
    /** One blocking workload and one with outstanding calls from several threads to two servers. */
    private static final List<String> WORKLOADS = List.of("seq-16b", "fanout-4x64");
    private static final List<String> METRICS =
            List.of("p50_us", "p99_us", "p999_us", "calls_per_s", "mb_per_s", "alloc_bytes_per_call");

    @Test
    void measuresEverySystemAndWritesEveryFieldToJson(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("out/bench.json");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        int code = new CommandLine(new BenchMain(new PrintStream(console, true, StandardCharsets.UTF_8))).execute(
                "--systems", String.join(",", SYSTEMS), "--workloads", String.join(",", WORKLOADS),
                "--warmup", "300ms", "--duration", "500ms", "--json", json.toString(), "--no-progress");
        String output = console.toString(StandardCharsets.UTF_8);
        System.out.println(output);
        assertEquals(0, code, output);
        assertTrue(output.contains("seq-16b: sequential 16 B calls"), output);

        Map<?, ?> doc = assertInstanceOf(Map.class, parseJson(Files.readString(json)));
        Map<?, ?> env = assertInstanceOf(Map.class, doc.get("environment"));
        assertEquals((double) Runtime.getRuntime().availableProcessors(), env.get("cpus"));
        assertEquals("blocking/default", env.get("wait_mode"));
        Map<?, ?> results = assertInstanceOf(Map.class, doc.get("results"));
        assertEquals(SYSTEMS, List.copyOf(results.keySet()));
        for (String system : SYSTEMS) {
            Map<?, ?> bySystem = assertInstanceOf(Map.class, results.get(system));
            assertEquals(WORKLOADS, List.copyOf(bySystem.keySet()), system);
            for (String workload : WORKLOADS) {
                String where = system + " " + workload;
                Map<?, ?> r = assertInstanceOf(Map.class, bySystem.get(workload), where);
                assertNull(r.get("error"), where);
                assertEquals(0.0, r.get("errors"), where);
                for (String metric : METRICS) {
                    Double v = assertInstanceOf(Double.class, r.get(metric), where + " " + metric);
                    assertTrue(v >= 0, where + " " + metric + " = " + v);
                }
                double p50 = (Double) r.get("p50_us");
                double p99 = (Double) r.get("p99_us");
                double p999 = (Double) r.get("p999_us");
                assertTrue(p50 > 0 && p50 <= p99 && p99 <= p999, where + " percentiles " + p50 + " " + p99 + " " + p999);
                assertTrue((Double) r.get("calls") > 0, where);
                assertTrue((Double) r.get("calls_per_s") > 0, where);
                assertEquals((Double) r.get("calls_per_s") * 16 / 1e6, (Double) r.get("mb_per_s"), 0.01, where);
            }
        }
        assertNoChildProcessLeft();
    }

    /** The floor spinning on non-blocking sockets, client and server; the header and the JSON name the mode. */
    @Test
    void busyPollsTheRawFloorAndRecordsTheWaitMode(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("bench.json");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        int code = new CommandLine(new BenchMain(new PrintStream(console, true, StandardCharsets.UTF_8))).execute(
                "--systems", "raw-nio", "--workloads", "seq-16b", "--busy-poll",
                "--warmup", "200ms", "--duration", "300ms", "--json", json.toString(), "--no-progress");
        String output = console.toString(StandardCharsets.UTF_8);
        System.out.println(output);
        assertEquals(0, code, output);
        assertTrue(output.contains("Wait mode: busy-poll"), output);
        assertTrue(output.contains("Results, wait mode busy-poll"), output);

        Map<?, ?> doc = assertInstanceOf(Map.class, parseJson(Files.readString(json)));
        Map<?, ?> env = assertInstanceOf(Map.class, doc.get("environment"));
        assertEquals("busy-poll", env.get("wait_mode"));
        // Written for every run, whatever the systems: what baton-tcp's nodes would have used.
        Map<?, ?> settings = assertInstanceOf(Map.class, doc.get("settings"));
        Map<?, ?> batonTcp = assertInstanceOf(Map.class, settings.get("baton_tcp"));
        assertEquals(1e9, batonTcp.get("io_spin_ns"));
        assertEquals(1e9, batonTcp.get("caller_spin_ns"));
        Map<?, ?> results = assertInstanceOf(Map.class, doc.get("results"));
        Map<?, ?> raw = assertInstanceOf(Map.class, results.get("raw-nio"));
        Map<?, ?> r = assertInstanceOf(Map.class, raw.get("seq-16b"));
        assertNull(r.get("error"));
        assertEquals(0.0, r.get("errors"));
        assertTrue((Double) r.get("calls") > 0, String.valueOf(r));
        assertTrue((Double) r.get("p50_us") > 0, String.valueOf(r));
        assertNoChildProcessLeft();
    }

    /** Two rounds, the systems taking turns; a table and a JSON file per round, then the summary with ratios. */
    @Test
    void runsRoundsAndSummarisesThemAgainstTheBaseline(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("rounds.json");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        int code = new CommandLine(new BenchMain(new PrintStream(console, true, StandardCharsets.UTF_8))).execute(
                "--systems", "baton-inproc,raw-nio", "--workloads", "seq-16b", "--rounds", "2", "--baseline",
                "raw-nio", "--warmup", "200ms", "--duration", "300ms", "--json", json.toString(), "--no-progress");
        String output = console.toString(StandardCharsets.UTF_8);
        System.out.println(output);
        assertEquals(0, code, output);
        assertTrue(output.indexOf("=== Round 1 of 2") < output.indexOf("=== Round 2 of 2"), output);
        assertEquals(2, output.split("Results, wait mode", -1).length - 1, output);
        assertTrue(output.contains("Over 2 rounds"), output);
        assertTrue(output.lines().anyMatch(l -> l.startsWith("  baton-inproc ") && l.contains(" 2 ")), output);
        assertTrue(output.lines().anyMatch(l -> l.matches("  baton-inproc / raw-nio: p50 [0-9.]+ \\([0-9.]+ [0-9.]+\\);"
                + " calls/s [0-9.]+ \\([0-9.]+ [0-9.]+\\)")), output);
        assertTrue(Files.exists(json) && Files.exists(dir.resolve("rounds-round-2.json")), String.valueOf(dir));
        assertNoChildProcessLeft();
    }

    @Test
    void refusesABaselineThatIsNotRunAndRoundsOutOfRange() {
        for (List<String> args : List.of(List.of("--systems", "raw-nio", "--baseline", "grpc"),
                List.of("--systems", "raw-nio", "--rounds", "0"))) {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            CommandLine cl = new CommandLine(new BenchMain(new PrintStream(new ByteArrayOutputStream())));
            cl.setErr(new java.io.PrintWriter(err, true, StandardCharsets.UTF_8));
            List<String> all = new java.util.ArrayList<>(args);
            all.add("--no-progress");
            assertEquals(2, cl.execute(all.toArray(String[]::new)), String.valueOf(args));
            String message = err.toString(StandardCharsets.UTF_8);
            assertTrue(message.contains("--baseline grpc is not one of the systems run")
                    || message.contains("--rounds must be between 1 and 100"), message);
        }
    }

    @Test
    void rejectsAnUnknownWorkloadNamingTheKnownOnes() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        CommandLine cl = new CommandLine(new BenchMain(new PrintStream(new ByteArrayOutputStream())));
        cl.setErr(new java.io.PrintWriter(err, true, StandardCharsets.UTF_8));
        int code = cl.execute("--workloads", "nope", "--no-progress");
        assertEquals(2, code);
        String message = err.toString(StandardCharsets.UTF_8);
        assertTrue(message.contains("unknown workload 'nope'") && message.contains("pipe-16b-64"), message);
    }

    /** The document as any JSON reader sees it: objects as maps (keys in order), every number a Double. */
    private static Object parseJson(String text) {
        return new GsonBuilder().setStrictness(Strictness.STRICT).create().fromJson(text, Object.class);
    }

    private static void assertNoChildProcessLeft() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (ProcessHandle.current().children().anyMatch(ProcessHandle::isAlive)) {
            if (System.nanoTime() > deadline) {
                fail("server JVMs still running: " + ProcessHandle.current().children().toList());
            }
            Thread.sleep(50);   // polling a condition with a deadline: no event tells us a child exited
        }
    }
}
