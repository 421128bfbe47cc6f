package dev.baton.systemtest;

import dev.baton.testkit.ChildJvm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.baton.systemtest.SystemTests.STARTUP;

/**
 * The test side of a {@link ProbedNodeMain} child: starts it, and asks it for its memory and statistics
 * ({@link #probe()}, {@link #stats()}), read back as {@code name -> value} maps ({@link MemoryProbe#parse}). A
 * field the node does not report reads as -1 ({@link #get}).
 */
final class ProbedNode implements AutoCloseable {

    private static final Duration ANSWER = Duration.ofSeconds(20);

    private final ChildJvm child;
    final int rank;
    final InetSocketAddress address;

    private ProbedNode(ChildJvm child, int rank, InetSocketAddress address) {
        this.child = child;
        this.rank = rank;
        this.address = address;
    }

    /** Starts a node joined to {@code masterAddress}, with the default options and {@code jvmOptions}. */
    static ProbedNode start(String name, String masterAddress, String... jvmOptions) throws InterruptedException {
        ChildJvm child = ChildJvm.start(name, List.of(), List.of(jvmOptions), ProbedNodeMain.class, masterAddress);
        try {
            Map<String, Long> ready = MemoryProbe.parse(child.awaitLine(l -> l.startsWith("READY "), STARTUP));
            return new ProbedNode(child, (int) get(ready, "rank"),
                    new InetSocketAddress("127.0.0.1", (int) get(ready, "port")));
        } catch (RuntimeException | Error | InterruptedException e) {
            child.close();
            throw e;
        }
    }

    /** Memory after full collections, and the node's statistics. */
    Map<String, Long> probe() {
        return ask("PROBE");
    }

    /** Memory now (no collection) and the node's statistics: cheap enough to poll. */
    Map<String, Long> stats() {
        return ask("STATS");
    }

    private Map<String, Long> ask(String command) {
        child.writeLine(command);
        try {
            return MemoryProbe.parse(child.awaitLine(l -> l.startsWith(command + " "), ANSWER));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for the answer to " + command, e);
        }
    }

    /** The field {@code name} of a reading, or -1 when the node does not report it. */
    static long get(Map<String, Long> reading, String name) {
        return reading.getOrDefault(name, -1L);
    }

    int openDescriptors() {
        return MemoryProbe.openDescriptors(child.pid());
    }

    boolean isAlive() {
        return child.isAlive();
    }

    /**
     * Lines of the child's output and stderr that mention an {@code OutOfMemoryError} (the JVM reports the one
     * it exits for, {@code -XX:+ExitOnOutOfMemoryError}, on stdout; a thread that caught one logs it on stderr).
     */
    List<String> outOfMemoryErrors() {
        try {
            return Stream.concat(child.output().stream(), Files.readAllLines(child.stderrFile()).stream())
                    .filter(l -> l.contains("OutOfMemoryError")).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    ChildJvm child() {
        return child;
    }

    @Override
    public void close() {
        child.close();
    }
}
