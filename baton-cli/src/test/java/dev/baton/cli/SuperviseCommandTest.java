package dev.baton.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code baton supervise} as its own JVM, supervising {@link SuperviseTarget} JVMs: restarts with the backoff it was
 * given, gives up after its limit, ends with its child's success, and forwards SIGTERM leaving nothing behind.
 */
@Timeout(120)
class SuperviseCommandTest {

    /** The target JVMs start quickly: C1 only, the CDS archive, a small serial heap. */
    private static final List<String> TARGET_JVM = List.of("-Xshare:auto", "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC", "-Xmx32m", "-XX:-UsePerfData");

    private final List<Process> started = new ArrayList<>();

    @TempDir
    Path dir;

    @AfterEach
    void noProcessIsLeftBehind() {
        started.forEach(p -> {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        });
        ChildProcesses.assertNoneLeft(Duration.ofSeconds(10));
    }

    private static List<String> target(Path file, String mode) {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(TARGET_JVM);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), SuperviseTarget.class.getName(),
                file.toString(), mode));
        return command;
    }

    /** {@code baton supervise options... -- target...} as a child JVM, its stderr to {@code stderr}. */
    private Process supervise(Path stderr, List<String> options, List<String> target) throws IOException {
        List<String> args = new ArrayList<>(List.of("supervise"));
        args.addAll(options);
        args.add("--");
        args.addAll(target);
        return ChildProcesses.startCli(started, ProcessBuilder.Redirect.to(stderr.toFile()),
                args.toArray(new String[0]));
    }

    private static List<Long> starts(Path file) throws IOException {
        if (!Files.exists(file)) {
            return List.of();
        }
        return Files.readAllLines(file, StandardCharsets.UTF_8).stream().filter(l -> l.startsWith("start "))
                .map(l -> Long.parseLong(l.substring("start ".length()))).toList();
    }

    @Test
    void aCrashingCommandIsRestartedWithBackoffAndGivenUpOnAfterItsLimit() throws Exception {
        Path file = dir.resolve("starts");
        Path err = dir.resolve("err");
        Process p = supervise(err, List.of("--max-restarts", "5", "--window", "60s", "--backoff", "100ms",
                "--max-backoff", "400ms"), target(file, "crash"));
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "supervise still running after 90 s");
        String stderr = Files.readString(err);
        assertEquals(1, p.exitValue(), stderr);

        List<Long> starts = starts(file);
        assertEquals(6, starts.size(), "starts: " + starts + "\n" + stderr);
        long[] backoffs = {100, 200, 400, 400, 400};
        for (int k = 0; k < backoffs.length; k++) {
            long gap = starts.get(k + 1) - starts.get(k);
            assertTrue(gap >= backoffs[k] - 20, "gap " + (k + 1) + " was " + gap + " ms, backoff " + backoffs[k]
                    + " ms; starts " + starts);
        }

        List<String> lines = stderr.lines().filter(l -> l.startsWith("baton supervise: ")).toList();
        assertEquals(6, lines.size(), stderr);
        Pattern restart = Pattern.compile("baton supervise: .*SuperviseTarget .*crash exited with code 3 "
                + "\\(restart (\\d) of 5 in the last 1m\\); restarting in (\\d+)ms");
        for (int k = 0; k < 5; k++) {
            Matcher m = restart.matcher(lines.get(k));
            assertTrue(m.matches(), lines.get(k));
            assertEquals(k + 1, Integer.parseInt(m.group(1)), lines.get(k));
            assertEquals(backoffs[k], Long.parseLong(m.group(2)), lines.get(k));
        }
        assertTrue(lines.get(5).matches("baton supervise: .*SuperviseTarget .*crash exited 6 times within 1m "
                + "\\(last: exit code 3\\); giving up"), lines.get(5));
    }

    @Test
    void aCommandThatSucceedsEndsSuperviseWithZeroAfterOneStart() throws Exception {
        Path file = dir.resolve("starts");
        Path err = dir.resolve("err");
        Process p = supervise(err, List.of("--backoff", "100ms"), target(file, "ok"));
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "supervise still running after 60 s");
        assertEquals(0, p.exitValue(), Files.readString(err));
        assertEquals(1, starts(file).size());
        assertEquals("", Files.readString(err));
    }

    @Test
    void sigtermIsForwardedToTheChildAndNothingIsLeft() throws Exception {
        Path file = dir.resolve("starts");
        Path err = dir.resolve("err");
        Process p = supervise(err, List.of("--grace", "5s"), target(file, "sleep"));
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!(Files.exists(file) && Files.readString(file).contains("sleeping"))) {
            assertTrue(System.nanoTime() - end < 0, "the child did not start within 60 s");
            assertTrue(p.isAlive(), "supervise ended: " + Files.readString(err));
            Thread.sleep(20);
        }
        List<ProcessHandle> tree = p.descendants().toList();
        assertEquals(1, tree.size(), "supervise's children: " + tree);
        p.destroy();   // SIGTERM
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "supervise still running 30 s after SIGTERM");
        assertEquals(143, p.exitValue(), Files.readString(err));
        assertTrue(Files.readString(file).contains("sigterm"), "the child did not get SIGTERM: "
                + Files.readString(file));
        for (ProcessHandle h : tree) {
            assertTrue(h.onExit().isDone() || !h.isAlive(), "left running: " + h.pid());
        }
        ChildProcesses.assertNoneLeft(Duration.ofSeconds(5));
    }

    @Test
    void usageErrorsExitWithTwo() {
        String[][] usageErrors = {
                {"supervise"},
                {"supervise", "--max-restarts", "-1", "--", "true"},
                {"supervise", "--window", "0s", "--", "true"},
                {"supervise", "--backoff", "2s", "--max-backoff", "1s", "--", "true"},
                {"supervise", "--grace", "soon", "--", "true"},
        };
        for (String[] args : usageErrors) {
            CliRun r = CliRun.of(args);
            assertEquals(2, r.exitCode(), String.join(" ", args) + ": " + r.err());
            assertTrue(!r.err().isBlank(), String.join(" ", args) + " says why");
        }
    }

    @Test
    void aCommandThatCannotStartIsAFailureNotARestartLoop() {
        CliRun r = CliRun.of("supervise", "--", dir.resolve("no-such-program").toString());
        assertEquals(1, r.exitCode(), r.err());
        assertTrue(r.err().startsWith("baton supervise: cannot start "), r.err());
    }

    @Test
    void optionsAfterTheCommandAreTheCommands() {
        // Parsing only: `baton supervise java -version` gives -version to java, not to supervise.
        picocli.CommandLine.ParseResult r = BatonCli.newCommandLine().parseArgs("supervise", "--backoff", "2s",
                "java", "-version", "--backoff", "x");
        SuperviseCommand s = (SuperviseCommand) r.subcommand().commandSpec().userObject();
        assertEquals(List.of("java", "-version", "--backoff", "x"), s.command);
        assertEquals(Duration.ofSeconds(2), s.backoff);
    }
}
