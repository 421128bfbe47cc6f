package dev.baton.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * CLI commands as their own JVMs, the way bin/baton runs them; and tests leave no process behind: this waits (with
 * a deadline) for this JVM's children to be gone.
 */
final class ChildProcesses {

    private ChildProcesses() {
    }

    /** Starts {@code bin/baton args...} as a child JVM on this class path (stderr discarded); adds it to {@code started}. */
    static Process startCli(List<Process> started, String... args) throws IOException {
        return startCli(started, ProcessBuilder.Redirect.DISCARD, args);
    }

    /** Starts {@code bin/baton args...} as a child JVM on this class path, its stderr to {@code stderr}. */
    static Process startCli(List<Process> started, ProcessBuilder.Redirect stderr, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), BatonCli.class.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectError(stderr).start();
        started.add(p);
        return p;
    }

    /** The first line of {@code p}'s stdout matched against {@code ready}, waiting at most 30 s for it. */
    static Matcher awaitFirstLine(Process p, Pattern ready) throws Exception {
        BufferedReader in = p.inputReader(StandardCharsets.UTF_8);
        String line = CompletableFuture.supplyAsync(() -> {
            try {
                return in.readLine();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }).get(30, TimeUnit.SECONDS);
        Matcher m = ready.matcher(String.valueOf(line));
        assertTrue(m.matches(), "first line: " + line);
        return m;
    }

    /** Fails, after killing them, if this JVM still has child processes {@code timeout} from now. */
    static void assertNoneLeft(Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        List<ProcessHandle> left = alive();
        while (!left.isEmpty() && System.nanoTime() - end < 0) {
            LockSupport.parkNanos(20_000_000L);
            left = alive();
        }
        if (!left.isEmpty()) {
            left.forEach(ProcessHandle::destroyForcibly);
            fail("child processes left behind: " + left.stream()
                    .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList());
        }
    }

    private static List<ProcessHandle> alive() {
        return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).toList();
    }
}
