package dev.baton.cli;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A {@code baton} subcommand running in a child JVM: same java binary, same class path. Its stdout and
 * stderr are merged; a reader thread copies every line to a log file, keeps the last lines for error
 * messages, and posts each line, then one end-of-output event, to a queue the parent waits on.
 *
 * <p>The child's stdin stays an open pipe: children started with {@code --supervised} stop cleanly when it
 * is closed, and die with the parent if the parent is killed. {@link #stopAll} stops children by closing
 * it, then SIGTERM, then SIGKILL, each with a deadline.
 *
 * <p>Thread-safe.
 */
final class ChildJvm {

    /** A line of the child's output, or ({@code line == null}) the end of it: the child is exiting. */
    record Event(ChildJvm child, String line) {
        boolean ended() {
            return line == null;
        }
    }

    private static final int TAIL_LINES = 40;

    private final String name;
    private final Process process;
    private final Path log;
    private final ArrayDeque<String> tail = new ArrayDeque<>();   // guarded by itself
    private final Thread reader;

    private ChildJvm(String name, Process process, Path log, BlockingQueue<Event> events) {
        this.name = name;
        this.process = process;
        this.log = log;
        this.reader = Thread.ofPlatform().daemon(true).name("baton-demo-" + name + "-output")
                .unstarted(() -> pump(events));
    }

    /**
     * Starts {@code java <jvmOptions> -cp <this class path> dev.baton.cli.BatonCli <args>} with output to
     * {@code log} (truncated) and to {@code events}.
     */
    static ChildJvm start(String name, List<String> jvmOptions, List<String> args, Path log,
                          BlockingQueue<Event> events) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(javaBinary());
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(BatonCli.class.getName());
        command.addAll(args);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        ChildJvm child = new ChildJvm(name, p, log, events);
        child.reader.start();
        return child;
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    Path log() {
        return log;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** The exit code, or null while it runs. */
    Integer exitCode() {
        return process.isAlive() ? null : process.exitValue();
    }

    /** The last lines of output, oldest first. */
    List<String> tail() {
        synchronized (tail) {
            return List.copyOf(tail);
        }
    }

    /** How the child ended (or that it is still running), and its last lines of output, for error messages. */
    String describe() {
        StringBuilder b = new StringBuilder(name).append(" (pid ").append(pid()).append(")");
        Integer code = waitBriefly();
        b.append(code == null ? " was still running" : " exited with code " + code);
        List<String> lines = tail();
        if (lines.isEmpty()) {
            b.append(", with no output");
        } else {
            b.append("; its last output (all of it in ").append(log).append("):");
            for (String line : lines) {
                b.append(System.lineSeparator()).append("  ").append(name).append("| ").append(line);
            }
        }
        return b.toString();
    }

    private Integer waitBriefly() {
        if (reader.isAlive()) {
            return exitCode();
        }
        try {
            // Its output has ended: the process is exiting, give it a moment to finish.
            return process.waitFor(2, TimeUnit.SECONDS) ? process.exitValue() : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return exitCode();
        }
    }

    private void pump(BlockingQueue<Event> events) {
        try (BufferedReader in = process.inputReader(StandardCharsets.UTF_8);
             BufferedWriter out = Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
            String line;
            while ((line = in.readLine()) != null) {
                out.write(line);
                out.newLine();
                out.flush();   // a child that crashes leaves a complete log
                synchronized (tail) {
                    if (tail.size() == TAIL_LINES) {
                        tail.removeFirst();
                    }
                    tail.addLast(line);
                }
                events.add(new Event(this, line));
            }
        } catch (IOException | UncheckedIOException e) {
            synchronized (tail) {
                tail.addLast("(reading its output failed: " + e + ")");
            }
        } finally {
            events.add(new Event(this, null));
        }
    }

    /**
     * Stops every child and waits until each is gone: closes stdin (supervised children exit 0), then after
     * {@code grace} sends SIGTERM, then after {@code grace} again SIGKILL. Children are stopped together,
     * in the order given within each step. Reports on {@code err} any child that had to be killed.
     */
    static void stopAll(List<ChildJvm> children, Duration grace, PrintWriter err) {
        for (ChildJvm c : children) {
            c.closeStdin();
        }
        List<ChildJvm> left = awaitExit(children, grace);
        for (ChildJvm c : left) {
            c.process.destroy();
        }
        left = awaitExit(left, grace);
        for (ChildJvm c : left) {
            err.println("baton demo: " + c.name + " (pid " + c.pid() + ") ignored SIGTERM; killing it");
            c.process.destroyForcibly();
        }
        awaitExit(left, grace);
        for (ChildJvm c : children) {
            try {
                c.reader.join(grace.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        err.flush();
    }

    private void closeStdin() {
        try {
            process.getOutputStream().close();
        } catch (IOException e) {
            // Already gone: nothing to close.
        }
    }

    /** Waits up to {@code grace} for the children to exit; returns those still running. */
    private static List<ChildJvm> awaitExit(List<ChildJvm> children, Duration grace) {
        long end = System.nanoTime() + grace.toNanos();
        List<ChildJvm> running = new ArrayList<>();
        for (ChildJvm c : children) {
            try {
                long left = Math.max(0, end - System.nanoTime());
                if (!c.process.waitFor(left, TimeUnit.NANOSECONDS)) {
                    running.add(c);
                }
            } catch (InterruptedException e) {
                // Keep going, escalating without waiting: the caller must not leave children behind.
                Thread.currentThread().interrupt();
                running.add(c);
            }
        }
        return running;
    }
}
