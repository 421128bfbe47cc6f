package dev.baton.bench;

import dev.baton.process.ChildJvm;
import dev.baton.process.ChildJvmException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The harness's handle on a {@link BenchServer} child JVM ({@link ChildJvm}): same java binary, same class path
 * and the same JVM flags as the harness ({@link #jvmFlags()}). Its stderr goes to a log file, quoted when
 * something fails and deleted when the server exits cleanly; its stdout reader is a harness thread, which the
 * allocation meter leaves out.
 *
 * <p>Not thread-safe: used by the coordinating thread. {@link #close()} closes the child's stdin (it stops its
 * servers and exits), then sends SIGTERM if it has not exited within {@link #STOP_GRACE}, and SIGKILL another
 * {@link #KILL_GRACE} later.
 */
final class ServerProcess implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STOP_GRACE = Duration.ofSeconds(10);
    private static final Duration KILL_GRACE = Duration.ofSeconds(5);
    /** Lines of the server's stderr quoted in failures. */
    private static final int FAILURE_TAIL_LINES = 15;

    private final ChildJvm child;
    private final Path log;

    private ServerProcess(ChildJvm child, Path log) {
        this.child = child;
        this.log = log;
    }

    /** The flags of this JVM, minus debugger and agents: every benchmark JVM runs with these. */
    static List<String> jvmFlags() {
        List<String> flags = new ArrayList<>();
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-agentlib:") && !a.startsWith("-agentpath:") && !a.startsWith("-javaagent:")
                    && !a.startsWith("-Xrunjdwp")) {
                flags.add(a);
            }
        }
        return flags;
    }

    static ServerProcess start() throws IOException {
        Path log = Files.createTempFile("baton-bench-server-", ".log");
        try {
            ChildJvm child = ChildJvm.builder("server", BenchServer.class).jvmOptions(jvmFlags()).stderrTo(log)
                    .readerThreadName(AllocationMeter.HARNESS_THREAD_PREFIX + "-server-output")
                    .describeLines(FAILURE_TAIL_LINES).stopGrace(STOP_GRACE, KILL_GRACE).start();
            return new ServerProcess(child, log);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(log);
            throw e;
        }
    }

    /**
     * Starts {@code count} servers of {@code system}, raw-nio's busy-polling with {@code busyPoll}; returns the
     * addresses the client connects to.
     */
    List<InetSocketAddress> startServers(SystemKind system, int count, BatonSettings baton, boolean busyPoll)
            throws IOException {
        String tlsDir = system.tls() ? BenchTls.harness().dir().toString() : "-";
        String reply = request("start " + system.id + " " + count + " " + baton.toArgs() + " " + (busyPoll ? 1 : 0)
                + " " + tlsDir, START_TIMEOUT);
        if (!reply.startsWith("READY ")) {
            throw new IOException("server JVM could not start " + system.id + ": " + reply + " (" + child.describe()
                    + ")");
        }
        List<InetSocketAddress> addresses = new ArrayList<>();
        for (String a : reply.substring(6).trim().split(" ")) {
            int colon = a.lastIndexOf(':');
            addresses.add(new InetSocketAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1))));
        }
        return addresses;
    }

    void stopServers() throws IOException {
        String reply = request("stop", STOP_TIMEOUT);
        if (!reply.equals("STOPPED")) {
            throw new IOException("server JVM did not stop its servers: " + reply + " (" + child.describe() + ")");
        }
    }

    /** Sends one command line and returns the one line that answers it. */
    private String request(String command, Duration timeout) throws IOException {
        try {
            child.writeLine(command);
            return child.awaitLine(line -> true, timeout);
        } catch (ChildJvmException | UncheckedIOException e) {
            throw new IOException("server JVM did not answer '" + command + "': " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the server JVM", e);
        }
    }

    @Override
    public void close() {
        try {
            child.close();
        } catch (ChildJvmException e) {
            System.err.println("bench: " + e.getMessage());
        }
        try {
            if (child.exitCode().orElse(-1) == 0) {
                Files.deleteIfExists(log);
            }
        } catch (IOException e) {
            // Not deletable: leave the log for inspection.
        }
    }
}
