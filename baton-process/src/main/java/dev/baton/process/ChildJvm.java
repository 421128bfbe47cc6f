package dev.baton.process;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A child JVM running a main class of this JVM's class path: the one launcher of Baton's tools
 * ({@code bin/baton demo} starts a master and nodes, {@code bin/baton bench} its server JVMs) and tests (through
 * the test kit).
 *
 * <pre>{@code
 * try (ChildJvm master = ChildJvm.builder("master", MasterMain.class).args("--port", "0").start()) {
 *     String ready = master.awaitLine(line -> line.startsWith("READY "), Duration.ofSeconds(30));
 *     ...
 * }   // the process and everything it started are gone here, whatever happened above
 * }</pre>
 *
 * <h2>Output</h2>
 * One daemon thread per child reads its stdout line by line (UTF-8). Each line is kept (the last
 * {@link Builder#keepLines} of them, for {@link #output()} and failure messages), written to the output log if
 * there is one ({@link Builder#outputLog}, flushed line by line so a crash leaves a complete log), echoed if asked
 * ({@link Builder#echoTo}, prefixed {@code [name pid]}), and posted to a queue of {@link Line}s, followed by one
 * end-of-output line. By default that queue is the child's own, which {@link #awaitLine} consumes; children given
 * one shared queue ({@link Builder#lines}) can be waited on together. stderr is merged into stdout, or goes to a
 * file of its own ({@link Builder#stderrTo}). stdin is a pipe held open until {@link #closeStdin()}: a child
 * that stops at end of input therefore also stops when this JVM dies.
 *
 * <h2>Stopping</h2>
 * {@link #close()}, {@link #stop()} and {@link #stopAll} escalate, each step bounded: close stdin, wait up to
 * the first {@link Builder#stopGrace grace}; SIGTERM, wait up to the second; SIGKILL the child and every process
 * it started (its process tree), wait up to {@value #KILL_WAIT_SECONDS} s. Processes the child started and left
 * behind when it exited are killed too, and the output reader is waited for (same bound). {@link #kill()} goes
 * straight to SIGKILL of the tree. Unless told otherwise ({@link Builder#killOnExit}), a shutdown hook SIGKILLs
 * the process trees of children still running when this JVM exits.
 *
 * <h2>Failures</h2>
 * {@link Builder#start()} throws {@link IOException} when the process cannot be started, having released what
 * it had opened. A wait that ends without what it waited for throws {@link ChildJvmException}, whose message
 * {@link #describe() describes} the child. Notes about stopping (a child that ignored SIGTERM) go to the caller
 * of {@link #stopAll}, and to a {@link System.Logger} for {@link #close()} and {@link #stop()}.
 *
 * <h2>Threads</h2>
 * Thread-safe. {@link #awaitLine} consumes the child's own queue: one thread at a time should call it.
 * {@link #close()} is idempotent and keeps the caller's interrupt status, but is not cut short by it: the
 * children must not be left behind.
 */
public final class ChildJvm implements AutoCloseable {

    /** Seconds to wait for a process to be gone after SIGKILL, and for its output reader to end. */
    static final int KILL_WAIT_SECONDS = 30;
    /** After its output ended, a process is exiting: how long {@link #describe()} gives it to finish. */
    private static final Duration EXIT_AFTER_END_OF_OUTPUT = Duration.ofSeconds(2);
    private static final System.Logger LOG = System.getLogger(ChildJvm.class.getName());
    private static final Set<ChildJvm> KILL_ON_EXIT = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("child-jvm-reaper").unstarted(() -> {
            for (ChildJvm c : KILL_ON_EXIT) {
                c.destroyTreeForcibly();
            }
        }));
    }

    /**
     * A line of a child's output, or ({@code text == null}, {@link #isEnd()}) the end of it: the child exited or
     * closed its stdout. Each child posts exactly one end, after its last line.
     */
    public record Line(ChildJvm child, String text) {

        /** True for the end of the child's output. */
        public boolean isEnd() {
            return text == null;
        }
    }

    private final String name;
    private final Process process;
    private final Path stderrFile;
    private final Path outputLog;
    private final int describeLines;
    private final BlockingQueue<Line> lines;
    private final boolean ownQueue;
    private final Duration graceAfterClosingStdin;
    private final Duration graceAfterSigterm;
    private final Object stdinLock = new Object();
    private final OutputReader reader;
    private boolean closed;   // guarded by this

    private ChildJvm(Builder b, Process process, BufferedWriter log) {
        this.name = b.name;
        this.process = process;
        this.stderrFile = b.stderrFile;
        this.outputLog = b.outputLog;
        this.describeLines = b.describeLines;
        this.ownQueue = b.lines == null;
        this.lines = ownQueue ? new LinkedBlockingQueue<>() : b.lines;
        this.graceAfterClosingStdin = b.graceAfterClosingStdin;
        this.graceAfterSigterm = b.graceAfterSigterm;
        String threadName = b.readerThreadName != null ? b.readerThreadName : "child-" + b.name + "-output";
        this.reader = new OutputReader(this, process.getInputStream(), threadName, b.keepLines, b.echo, lines,
                b.outputLog, log);
    }

    /** A builder for a child JVM called {@code name} (in messages and thread names) that runs {@code mainClass}. */
    public static Builder builder(String name, Class<?> mainClass) {
        return new Builder(name, mainClass.getName());
    }

    /** Like {@link #builder(String, Class)}, with the main class by its binary name. */
    public static Builder builder(String name, String mainClassName) {
        return new Builder(name, mainClassName);
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

    /** The exit code, or empty while the process runs. */
    public OptionalInt exitCode() {
        return process.isAlive() ? OptionalInt.empty() : OptionalInt.of(process.exitValue());
    }

    /** The file stderr goes to, or empty when stderr is merged into the output. */
    public Optional<Path> stderrFile() {
        return Optional.ofNullable(stderrFile);
    }

    /** The file every output line is copied to, or empty. */
    public Optional<Path> outputLog() {
        return Optional.ofNullable(outputLog);
    }

    /** The last {@link Builder#keepLines} output lines so far, oldest first, including those already consumed. */
    public List<String> output() {
        return reader.kept();
    }

    /**
     * Consumes output lines until one matches and returns it; the lines before it are skipped (they stay in
     * {@link #output()}). Throws {@link ChildJvmException} when none matches within {@code timeout}, or the output
     * ends first (then every later call fails at once too); {@link IllegalStateException} when the lines go to a
     * shared queue ({@link Builder#lines}).
     */
    public String awaitLine(Predicate<String> matcher, Duration timeout) throws InterruptedException {
        if (!ownQueue) {
            throw new IllegalStateException(name + "'s output lines go to a shared queue: take them from there");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Line line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (line == null) {
                throw failure("no matching output line within " + formatDuration(timeout));
            }
            if (line.isEnd()) {
                lines.add(line);
                throw failure("its output ended before a matching line");
            }
            if (matcher.test(line.text())) {
                return line.text();
            }
        }
    }

    /**
     * Writes {@code line} and a newline to the child's stdin and flushes, for children that take commands there.
     * {@link UncheckedIOException} when the pipe is closed or broken.
     */
    public void writeLine(String line) {
        synchronized (stdinLock) {
            try {
                OutputStream in = process.getOutputStream();
                in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                in.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(name + " (pid " + pid() + "): cannot write '" + line + "' to its stdin", e);
            }
        }
    }

    /** Closes the child's stdin: end of input, which children started by Baton take as "stop". Idempotent. */
    public void closeStdin() {
        synchronized (stdinLock) {
            try {
                process.getOutputStream().close();
            } catch (IOException e) {
                // Already closed, or the process is gone: there is nothing left to tell it.
            }
        }
    }

    /** Waits for the process to exit and returns its exit code; {@link ChildJvmException} if it does not in time. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
            throw failure("it did not exit within " + formatDuration(timeout));
        }
        return process.exitValue();
    }

    /**
     * SIGKILLs the child and every process it started (no shutdown hooks; the kernel resets its sockets), waits
     * until they are gone and returns the child's exit code (137 on Linux). {@link ChildJvmException} if it is
     * still there {@value #KILL_WAIT_SECONDS} s later.
     */
    public int kill() throws InterruptedException {
        List<ProcessHandle> tree = tree();
        destroyTreeForcibly();
        int code = awaitExit(Escalation.KILL_WAIT);
        Escalation.awaitGone(tree, System.nanoTime() + Escalation.KILL_WAIT.toNanos());
        return code;
    }

    /**
     * Stops the child as {@link #stopAll} does, notes going to the log, and returns its exit code;
     * {@link ChildJvmException} if it is still running after all that.
     */
    public int stop() {
        stopAll(List.of(this), ChildJvm::logNote);
        if (process.isAlive()) {
            throw failure("it is still running after SIGKILL");
        }
        return process.exitValue();
    }

    /**
     * Stops every child and waits until each is gone, together, each step bounded: closes their stdin, waits up
     * to each one's first {@link Builder#stopGrace grace}; SIGTERM to those still running, waits up to the second;
     * SIGKILL to the process trees of those still running, waits up to {@value #KILL_WAIT_SECONDS} s. Then kills
     * whatever the children started and left behind, and waits for their output readers. Tells {@code notes}
     * about every child that had to be killed or could not be stopped. An interrupt does not cut it short (the
     * interrupt status is kept).
     */
    public static void stopAll(Collection<ChildJvm> children, Consumer<String> notes) {
        Escalation.stopAll(List.copyOf(children), notes);
    }

    /**
     * Stops the process as {@link #stopAll} does, unless it was closed already. Throws {@link ChildJvmException}
     * (after trying everything) if the process or its output reader is still there.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        stopAll(List.of(this), ChildJvm::logNote);
        if (process.isAlive() || reader.isAlive()) {
            throw failure(process.isAlive() ? "it is still running after SIGKILL" : "its output reader did not end");
        }
    }

    /**
     * How the child ended (or that it still runs) and its last output lines (and the last lines of its stderr
     * file, if it has one), {@link Builder#describeLines} of each at most, for error messages.
     */
    public String describe() {
        StringBuilder b = new StringBuilder(name).append(" (pid ").append(pid()).append(")");
        OptionalInt code = exitCodeOnceOutputEnded();
        b.append(code.isPresent() ? " exited with code " + code.getAsInt() : " was still running");
        List<String> out = last(output(), describeLines);
        if (out.isEmpty()) {
            b.append(", with no output");
        } else {
            b.append("; its last output").append(outputLog == null ? "" : " (all of it in " + outputLog + ")")
                    .append(':');
            out.forEach(l -> b.append(System.lineSeparator()).append("  ").append(name).append("| ").append(l));
        }
        if (stderrFile != null) {
            List<String> err = last(stderrLines(), describeLines);
            b.append(System.lineSeparator()).append("  its stderr (").append(stderrFile).append(')')
                    .append(err.isEmpty() ? " is empty" : ", last lines:");
            err.forEach(l -> b.append(System.lineSeparator()).append("  ").append(name).append("! ").append(l));
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return "ChildJvm[" + name + ", pid " + pid() + (process.isAlive() ? ", running" : ", exited") + "]";
    }

    // ------------------------------------------------------------------ internals

    /** The child and what it started, children of children included; what has exited is not listed. */
    List<ProcessHandle> tree() {
        List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
        tree.add(process.toHandle());
        return tree;
    }

    void destroyTreeForcibly() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    Process process() {
        return process;
    }

    OutputReader reader() {
        return reader;
    }

    Duration graceAfterClosingStdin() {
        return graceAfterClosingStdin;
    }

    Duration graceAfterSigterm() {
        return graceAfterSigterm;
    }

    /** The exit code; when the output has ended the process is exiting, so it gets a moment to finish. */
    private OptionalInt exitCodeOnceOutputEnded() {
        if (reader.isEnded() && process.isAlive()) {
            Escalation.awaitExit(process.toHandle(), EXIT_AFTER_END_OF_OUTPUT.toNanos());
        }
        return exitCode();
    }

    private List<String> stderrLines() {
        try {
            return new String(Files.readAllBytes(stderrFile), StandardCharsets.UTF_8).lines().toList();
        } catch (IOException | UncheckedIOException e) {
            return List.of("(unreadable: " + e + ")");
        }
    }

    private static List<String> last(List<String> lines, int n) {
        return lines.size() <= n ? lines : lines.subList(lines.size() - n, lines.size());
    }

    private ChildJvmException failure(String what) {
        return new ChildJvmException(name + ": " + what + ". " + describe());
    }

    private static void logNote(String note) {
        LOG.log(System.Logger.Level.WARNING, note);
    }

    /** {@code 10 s} or {@code 300 ms}. */
    static String formatDuration(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 && ms > 0 ? ms / 1000 + " s" : ms + " ms";
    }

    /**
     * How to start a child JVM: {@code [prefix...] java [jvmOptions...] -cp CLASSPATH mainClass [args...]}, where
     * {@code java} is this JVM's launcher and the class path this JVM's unless set. Not thread-safe; use once.
     */
    public static final class Builder {

        private final String name;
        private final String mainClass;
        private List<String> commandPrefix = List.of();
        private List<String> jvmOptions = List.of();
        private List<String> args = List.of();
        private String classPath = System.getProperty("java.class.path");
        private Path stderrFile;
        private Path outputLog;
        private PrintStream echo;
        private int keepLines = 1000;
        private int describeLines = 40;
        private BlockingQueue<Line> lines;
        private String readerThreadName;
        private Duration graceAfterClosingStdin = Duration.ofSeconds(5);
        private Duration graceAfterSigterm = Duration.ofSeconds(10);
        private boolean killOnExit = true;

        private Builder(String name, String mainClass) {
            if (Objects.requireNonNull(name, "name").isBlank()) {
                throw new IllegalArgumentException("name must not be blank");
            }
            this.name = name;
            this.mainClass = Objects.requireNonNull(mainClass, "mainClass");
        }

        /**
         * Runs the JVM through {@code prefix} (e.g. {@code ip netns exec NAME}). The prefix must exec the command,
         * not fork it, so that {@link #pid()} is the JVM's and signals reach it. Default: none.
         */
        public Builder commandPrefix(List<String> prefix) {
            this.commandPrefix = List.copyOf(prefix);
            return this;
        }

        /** Options for the child JVM, before the main class (e.g. {@code -Xmx256m}). Default: none. */
        public Builder jvmOptions(List<String> options) {
            this.jvmOptions = List.copyOf(options);
            return this;
        }

        /** Arguments to the main class. Default: none. */
        public Builder args(List<String> arguments) {
            this.args = List.copyOf(arguments);
            return this;
        }

        /** Arguments to the main class. Default: none. */
        public Builder args(String... arguments) {
            return args(List.of(arguments));
        }

        /** The child's class path. Default: this JVM's {@code java.class.path}. */
        public Builder classPath(String path) {
            this.classPath = Objects.requireNonNull(path, "path");
            return this;
        }

        /** Sends stderr to {@code file} (created or truncated, with its directory). Default: merged into the output. */
        public Builder stderrTo(Path file) {
            this.stderrFile = file.toAbsolutePath();
            return this;
        }

        /** Copies every output line to {@code file} (created or truncated, with its directory). Default: none. */
        public Builder outputLog(Path file) {
            this.outputLog = file.toAbsolutePath();
            return this;
        }

        /** Also prints every output line to {@code out}, prefixed {@code [name pid] }. Default: not echoed. */
        public Builder echoTo(PrintStream out) {
            this.echo = Objects.requireNonNull(out, "out");
            return this;
        }

        /** How many of the latest output lines {@link #output()} keeps. Default: 1000. */
        public Builder keepLines(int count) {
            if (count < 0) {
                throw new IllegalArgumentException("keepLines must be zero or positive, was " + count);
            }
            this.keepLines = count;
            return this;
        }

        /** How many output (and stderr) lines {@link #describe()} and failure messages quote. Default: 40. */
        public Builder describeLines(int count) {
            if (count < 0) {
                throw new IllegalArgumentException("describeLines must be zero or positive, was " + count);
            }
            this.describeLines = count;
            return this;
        }

        /**
         * Posts the output lines to {@code queue}, which several children may share, instead of the child's own
         * ({@link #awaitLine} then refuses). Default: a queue of its own.
         */
        public Builder lines(BlockingQueue<Line> queue) {
            this.lines = Objects.requireNonNull(queue, "queue");
            return this;
        }

        /** The name of the output reader thread. Default: {@code child-<name>-output}. */
        public Builder readerThreadName(String threadName) {
            this.readerThreadName = Objects.requireNonNull(threadName, "threadName");
            return this;
        }

        /**
         * How long stopping waits after closing stdin before SIGTERM, and after SIGTERM before SIGKILL.
         * Default: 5 s and 10 s.
         */
        public Builder stopGrace(Duration afterClosingStdin, Duration afterSigterm) {
            if (afterClosingStdin.isNegative() || afterSigterm.isNegative()) {
                throw new IllegalArgumentException("stop graces must not be negative, were " + afterClosingStdin
                        + " and " + afterSigterm);
            }
            this.graceAfterClosingStdin = afterClosingStdin;
            this.graceAfterSigterm = afterSigterm;
            return this;
        }

        /**
         * Whether a shutdown hook SIGKILLs the child's process tree if this JVM exits while it runs. Default: true.
         * Turn it off only for a child that the caller's own shutdown hook stops (more gently).
         */
        public Builder killOnExit(boolean kill) {
            this.killOnExit = kill;
            return this;
        }

        /** The command line this builder starts. */
        List<String> command() {
            List<String> command = new ArrayList<>(commandPrefix);
            command.add(ProcessHandle.current().info().command()
                    .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            command.addAll(jvmOptions);
            command.add("-cp");
            command.add(classPath);
            command.add(mainClass);
            command.addAll(args);
            return command;
        }

        /**
         * Starts the process and its output reader; returns once the process exists (wait for a line to know it
         * is ready). {@link IOException} if it cannot be started, having closed what it opened.
         */
        public ChildJvm start() throws IOException {
            List<String> command = command();
            ProcessBuilder pb = new ProcessBuilder(command);
            if (stderrFile == null) {
                pb.redirectErrorStream(true);
            } else {
                createParent(stderrFile);
                pb.redirectError(stderrFile.toFile());
            }
            BufferedWriter log = null;
            Process process = null;
            try {
                if (outputLog != null) {
                    createParent(outputLog);
                    log = Files.newBufferedWriter(outputLog, StandardCharsets.UTF_8);
                }
                try {
                    process = pb.start();
                } catch (IOException e) {
                    throw new IOException("cannot start " + name + " (" + String.join(" ", command) + "): "
                            + e.getMessage(), e);
                }
                ChildJvm child = new ChildJvm(this, process, log);
                if (killOnExit) {
                    KILL_ON_EXIT.add(child);
                    process.onExit().thenRun(() -> KILL_ON_EXIT.remove(child));
                }
                child.reader.start();
                return child;
            } catch (IOException | RuntimeException | Error e) {
                if (process != null) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly();
                }
                if (log != null) {
                    try {
                        log.close();
                    } catch (IOException suppressed) {
                        e.addSuppressed(suppressed);
                    }
                }
                throw e;
            }
        }

        private static void createParent(Path file) throws IOException {
            Path dir = file.getParent();
            if (dir != null) {
                Files.createDirectories(dir);
            }
        }
    }
}
