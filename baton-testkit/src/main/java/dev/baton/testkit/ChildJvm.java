package dev.baton.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A child JVM that runs a main class from this JVM's class path, for multi-process tests.
 *
 * <pre>{@code
 * try (ChildJvm master = ChildJvm.start("master", MasterMain.class)) {
 *     String ready = master.awaitLine(line -> line.startsWith("READY "), Duration.ofSeconds(30));
 *     ...
 * }   // the process is gone here, whatever happened above
 * }</pre>
 *
 * <h2>Streams</h2>
 * stdout is read line by line by a daemon thread into a queue that {@link #awaitLine} consumes; every line is
 * also kept (for failure messages) and echoed to this JVM's stdout prefixed with the child's name and pid.
 * stderr goes to a file under {@code target/child-jvms/} ({@link #stderrFile()}), whose tail failure messages
 * quote. stdin is a pipe held open until {@link #closeStdin()} (some mains read commands from it, sent with
 * {@link #writeLine}); the mains in this package take its end-of-file as "stop", so they also go away when
 * this JVM dies.
 *
 * <h2>Ending</h2>
 * {@link #close()} guarantees the process has exited (and the reader thread ended): it closes stdin, sends
 * SIGTERM, waits {@value #STOP_GRACE_SECONDS} s, then SIGKILLs. Idempotent. A shutdown hook SIGKILLs whatever
 * is still running should this JVM exit first.
 *
 * <h2>Threads</h2>
 * One test thread should drive an instance; {@link #pid()}, {@link #isAlive()} and {@link #output()} may be
 * called from any thread.
 */
public final class ChildJvm implements AutoCloseable {

    private static final int STOP_GRACE_SECONDS = 10;
    private static final Duration KILL_WAIT = Duration.ofSeconds(30);
    private static final Path LOG_DIR = Path.of("target", "child-jvms");
    private static final int STDERR_TAIL_CHARS = 8_000;
    private static final int STDOUT_TAIL_LINES = 200;
    /** Marks the end of stdout in {@link #lines}; compared by identity. */
    private static final String END_OF_STDOUT = new String("<end of stdout>");
    private static final AtomicInteger SEQUENCE = new AtomicInteger();
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("child-jvm-reaper")
                .unstarted(() -> LIVE.forEach(Process::destroyForcibly)));
    }

    private final String name;
    private final Process process;
    private final Path stderrFile;
    private final Thread reader;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> output = new ArrayList<>();   // guarded by itself
    private boolean closed;

    private ChildJvm(String name, Process process, Path stderrFile) {
        this.name = name;
        this.process = process;
        this.stderrFile = stderrFile;
        this.reader = Thread.ofPlatform().daemon(true).name("child-" + name + "-stdout").unstarted(this::readStdout);
    }

    /**
     * Starts {@code java -Xmx256m -cp <this JVM's class path> mainClass args...}. Returns once the process
     * exists; use {@link #awaitLine} to know it is ready.
     */
    public static ChildJvm start(String name, Class<?> mainClass, String... args) {
        return start(name, List.of(), mainClass, args);
    }

    /**
     * Like {@link #start(String, Class, String...)}, with {@code commandPrefix} run in front of {@code java}:
     * e.g. {@code ip netns exec NAME}, to start the JVM inside a network namespace. The prefix must exec the
     * command (not fork it), so that {@link #pid()} is the JVM's pid and {@link #kill()} reaches the JVM itself.
     */
    public static ChildJvm start(String name, List<String> commandPrefix, Class<?> mainClass, String... args) {
        return start(name, commandPrefix, List.of(), mainClass, args);
    }

    /**
     * Like {@link #start(String, List, Class, String...)}, with extra options for the child JVM (after the
     * defaults, so they win): e.g. {@code -XX:+UseSerialGC} when many children share few cores.
     */
    public static ChildJvm start(String name, List<String> commandPrefix, List<String> jvmOptions, Class<?> mainClass,
                                 String... args) {
        List<String> command = new ArrayList<>(commandPrefix);
        command.add(javaCommand());
        command.add("-Xmx256m");
        command.add("-XX:+ExitOnOutOfMemoryError");
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass.getName());
        command.addAll(List.of(args));
        try {
            Files.createDirectories(LOG_DIR);
            Path stderrFile = LOG_DIR.resolve(name + "-" + ProcessHandle.current().pid() + "-"
                    + SEQUENCE.incrementAndGet() + ".stderr.log").toAbsolutePath();
            Process process = new ProcessBuilder(command)
                    .redirectError(ProcessBuilder.Redirect.to(stderrFile.toFile()))
                    .start();
            LIVE.add(process);
            ChildJvm child = new ChildJvm(name, process, stderrFile);
            child.reader.start();
            return child;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name + ": " + command, e);
        }
    }

    private static String javaCommand() {
        return ProcessHandle.current().info().command()
                .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    private void readStdout() {
        String prefix = "[" + name + " " + process.pid() + "] ";
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                synchronized (output) {
                    output.add(line);
                }
                System.out.println(prefix + line);
                lines.add(line);
            }
        } catch (IOException e) {
            // The pipe broke: the process is gone, which END_OF_STDOUT reports.
        } finally {
            lines.add(END_OF_STDOUT);
        }
    }

    public String name() {
        return name;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public Path stderrFile() {
        return stderrFile;
    }

    /** Every stdout line so far, including those {@link #awaitLine} consumed. */
    public List<String> output() {
        synchronized (output) {
            return List.copyOf(output);
        }
    }

    /** The last stdout line so far that starts with {@code prefix}, or null; consumes nothing. */
    public String lastLine(String prefix) {
        synchronized (output) {
            for (int i = output.size() - 1; i >= 0; i--) {
                if (output.get(i).startsWith(prefix)) {
                    return output.get(i);
                }
            }
        }
        return null;
    }

    /**
     * Consumes stdout lines until one matches and returns it; lines before it are skipped (they stay in
     * {@link #output()}). Throws {@link AssertionError}, quoting the child's output, when none matches within
     * {@code timeout} or stdout ends first (the process died).
     */
    public String awaitLine(Predicate<String> matcher, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (line == null) {
                throw failure("no matching stdout line within " + timeout.toMillis() + " ms ("
                        + (process.isAlive() ? "still running" : "exited with " + process.exitValue()) + ")");
            }
            if (line == END_OF_STDOUT) {
                lines.add(END_OF_STDOUT);   // every later wait fails at once too
                throw failure("stdout ended before a matching line: " + exitDescription());
            }
            if (matcher.test(line)) {
                return line;
            }
        }
    }

    /**
     * Writes {@code line} and a newline to the child's stdin and flushes it, for mains that take commands there
     * (commands, one per line). {@link UncheckedIOException} when the pipe is closed or broken.
     */
    public void writeLine(String line) {
        try {
            OutputStream in = process.getOutputStream();
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(name + " (pid " + pid() + "): cannot write '" + line + "' to its stdin", e);
        }
    }

    /** Closes the child's stdin: the mains in this package take that as "stop gracefully". */
    public void closeStdin() {
        try {
            process.getOutputStream().close();
        } catch (IOException e) {
            // Already closed, or the process is gone: either way there is nothing left to tell it.
        }
    }

    /** Waits for the process to exit and returns its exit code; {@link AssertionError} if it does not in time. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
            throw failure("did not exit within " + timeout.toMillis() + " ms");
        }
        return process.exitValue();
    }

    /** SIGKILL (no shutdown hooks, sockets reset by the kernel); returns the exit code once it is gone. */
    public int kill() throws InterruptedException {
        process.destroyForcibly();
        return awaitExit(KILL_WAIT);
    }

    /** SIGTERM, up to {@value #STOP_GRACE_SECONDS} s to exit, then SIGKILL. Returns the exit code. */
    public int stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(STOP_GRACE_SECONDS, TimeUnit.SECONDS)) {
            System.err.println("[" + name + " " + pid() + "] ignored SIGTERM for " + STOP_GRACE_SECONDS
                    + " s; killing it");
            process.destroyForcibly();
        }
        return awaitExit(KILL_WAIT);
    }

    /** Ends the process however necessary and waits until it and the stdout reader are gone. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        boolean interrupted = Thread.interrupted();   // a timed-out test's interrupt must not skip the cleanup
        try {
            process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            if (process.isAlive()) {
                closeStdin();
                stop();
            }
            reader.join(KILL_WAIT);
            if (reader.isAlive()) {
                throw new IllegalStateException("stdout reader of " + name + " did not end");
            }
        } catch (InterruptedException e) {
            interrupted = true;
            process.destroyForcibly();
            process.onExit().join();
        } finally {
            LIVE.remove(process);
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private String exitDescription() throws InterruptedException {
        return process.waitFor(2, TimeUnit.SECONDS) ? "exited with " + process.exitValue()
                : "still running with its stdout closed";
    }

    private AssertionError failure(String what) {
        StringBuilder b = new StringBuilder();
        b.append(name).append(" (pid ").append(pid()).append("): ").append(what);
        List<String> out = output();
        b.append("\n--- stdout");
        if (out.size() > STDOUT_TAIL_LINES) {
            b.append(" (last ").append(STDOUT_TAIL_LINES).append(" of ").append(out.size()).append(" lines)");
            out = out.subList(out.size() - STDOUT_TAIL_LINES, out.size());
        }
        b.append(" ---\n");
        out.forEach(l -> b.append(l).append('\n'));
        b.append("--- stderr (").append(stderrFile).append(") ---\n").append(stderrTail());
        return new AssertionError(b.toString());
    }

    private String stderrTail() {
        try {
            String all = Files.readString(stderrFile, StandardCharsets.UTF_8);
            return all.length() <= STDERR_TAIL_CHARS ? all
                    : "...\n" + all.substring(all.length() - STDERR_TAIL_CHARS);
        } catch (IOException | UncheckedIOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    @Override
    public String toString() {
        return "ChildJvm[" + name + ", pid " + pid() + (process.isAlive() ? ", running" : ", exited") + "]";
    }
}
