package dev.baton.testkit;

import dev.baton.process.ChildJvmException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A child JVM that runs a main class from this JVM's class path, for multi-process tests: Baton's one launcher
 * ({@link dev.baton.process.ChildJvm}) with test defaults, and failures as {@link AssertionError}s.
 *
 * <pre>{@code
 * try (ChildJvm master = ChildJvm.start("master", MasterMain.class)) {
 *     String ready = master.awaitLine(line -> line.startsWith("READY "), Duration.ofSeconds(30));
 *     ...
 * }   // the process is gone here, whatever happened above
 * }</pre>
 *
 * <h2>Streams</h2>
 * stdout is read line by line by a daemon thread ({@code child-<name>-stdout}) into a queue that
 * {@link #awaitLine} consumes; every line is also kept (for {@link #output()} and failure messages) and echoed to
 * this JVM's stdout prefixed with the child's name and pid. stderr goes to a file under {@code target/child-jvms/}
 * ({@link #stderrFile()}), whose tail failure messages quote. stdin is a pipe held open until
 * {@link #closeStdin()} (some mains read commands from it, sent with {@link #writeLine}); the mains of the tests
 * take its end-of-file as "stop", so they also go away when this JVM dies.
 *
 * <h2>Ending</h2>
 * {@link #close()} guarantees the process has exited (and the reader thread ended): it closes stdin, sends
 * SIGTERM, waits {@value #STOP_GRACE_SECONDS} s, then SIGKILLs the process and whatever it started. Idempotent. A
 * shutdown hook SIGKILLs whatever is still running should this JVM exit first.
 *
 * <h2>Threads</h2>
 * One test thread should drive an instance; {@link #pid()}, {@link #isAlive()} and {@link #output()} may be
 * called from any thread.
 */
public final class ChildJvm implements AutoCloseable {

    private static final int STOP_GRACE_SECONDS = 10;
    private static final Path LOG_DIR = Path.of("target", "child-jvms");
    /** Stdout lines that failure messages quote (every line is kept for {@link #output()}). */
    private static final int FAILURE_TAIL_LINES = 200;
    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private final dev.baton.process.ChildJvm jvm;

    private ChildJvm(dev.baton.process.ChildJvm jvm) {
        this.jvm = jvm;
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
        List<String> options = new ArrayList<>(List.of("-Xmx256m", "-XX:+ExitOnOutOfMemoryError"));
        options.addAll(jvmOptions);
        Path stderr = LOG_DIR.resolve(name + "-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet()
                + ".stderr.log");
        try {
            return new ChildJvm(dev.baton.process.ChildJvm.builder(name, mainClass)
                    .commandPrefix(commandPrefix).jvmOptions(options).args(args)
                    .stderrTo(stderr).echoTo(System.out).keepLines(Integer.MAX_VALUE)
                    .describeLines(FAILURE_TAIL_LINES).readerThreadName("child-" + name + "-stdout")
                    .stopGrace(Duration.ZERO, Duration.ofSeconds(STOP_GRACE_SECONDS))
                    .start());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String name() {
        return jvm.name();
    }

    public long pid() {
        return jvm.pid();
    }

    public boolean isAlive() {
        return jvm.isAlive();
    }

    public Path stderrFile() {
        return jvm.stderrFile().orElseThrow();
    }

    /** Every stdout line so far, including those {@link #awaitLine} consumed. */
    public List<String> output() {
        return jvm.output();
    }

    /** The last stdout line so far that starts with {@code prefix}, or null; consumes nothing. */
    public String lastLine(String prefix) {
        List<String> out = jvm.output();
        for (int i = out.size() - 1; i >= 0; i--) {
            if (out.get(i).startsWith(prefix)) {
                return out.get(i);
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
        try {
            return jvm.awaitLine(matcher, timeout);
        } catch (ChildJvmException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    /**
     * Writes {@code line} and a newline to the child's stdin and flushes it, for mains that take commands there
     * (commands, one per line). {@link UncheckedIOException} when the pipe is closed or broken.
     */
    public void writeLine(String line) {
        jvm.writeLine(line);
    }

    /** Closes the child's stdin: the mains of the tests take that as "stop gracefully". */
    public void closeStdin() {
        jvm.closeStdin();
    }

    /** Waits for the process to exit and returns its exit code; {@link AssertionError} if it does not in time. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        try {
            return jvm.awaitExit(timeout);
        } catch (ChildJvmException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    /**
     * SIGKILL of the process and whatever it started (no shutdown hooks, sockets reset by the kernel); returns
     * the exit code once it is gone.
     */
    public int kill() throws InterruptedException {
        try {
            return jvm.kill();
        } catch (ChildJvmException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    /**
     * Closes stdin and sends SIGTERM, gives it {@value #STOP_GRACE_SECONDS} s to exit, then SIGKILL. Returns the
     * exit code.
     */
    public int stop() {
        try {
            return jvm.stop();
        } catch (ChildJvmException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    /** Ends the process however necessary and waits until it and the stdout reader are gone. */
    @Override
    public void close() {
        jvm.close();
    }

    @Override
    public String toString() {
        return jvm.toString();
    }
}
