package dev.baton.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The harness's handle on a {@link BenchServer} child JVM: same java binary, same class path and the same
 * JVM flags as the harness ({@link #jvmFlags()}). Its stderr goes to a log file, shown when something fails.
 *
 * <p>Not thread-safe: used by the coordinating thread. {@link #close()} closes the child's stdin (it stops its
 * servers and exits), then destroys it if it has not exited within a few seconds.
 */
final class ServerProcess implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final String EOF = "\u0000EOF";

    private final Process process;
    private final PrintWriter commands;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final Path log;

    private ServerProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
        this.commands = new PrintWriter(process.outputWriter(StandardCharsets.UTF_8), true);
        Thread.ofPlatform().daemon().name(AllocationMeter.HARNESS_THREAD_PREFIX + "-server-" + process.pid())
                .start(this::pump);
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
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmFlags());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(BenchServer.class.getName());
        Path log = Files.createTempFile("baton-bench-server-", ".log");
        Process p = new ProcessBuilder(command).redirectError(log.toFile()).start();
        return new ServerProcess(p, log);
    }

    private void pump() {
        try (var in = process.inputReader(StandardCharsets.UTF_8)) {
            String line;
            while ((line = in.readLine()) != null) {
                lines.add(line);
            }
        } catch (IOException e) {
            // The child is gone; the EOF below tells the waiting side.
        } finally {
            lines.add(EOF);
        }
    }

    /**
     * Starts {@code count} servers of {@code system}, raw-nio's busy-polling with {@code busyPoll}; returns the
     * addresses the client connects to.
     */
    List<InetSocketAddress> startServers(SystemKind system, int count, BatonSettings baton, boolean busyPoll)
            throws IOException {
        String reply = request("start " + system.id + " " + count + " " + baton.toArgs() + " " + (busyPoll ? 1 : 0),
                START_TIMEOUT);
        if (!reply.startsWith("READY ")) {
            throw failure("server JVM could not start " + system.id + ": " + reply);
        }
        List<InetSocketAddress> addresses = new ArrayList<>();
        for (String a : reply.substring(6).trim().split(" ")) {
            int colon = a.lastIndexOf(':');
            addresses.add(new InetSocketAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1))));
        }
        return addresses;
    }

    void stopServers() throws IOException {
        String reply = request("stop", Duration.ofSeconds(30));
        if (!reply.equals("STOPPED")) {
            throw failure("server JVM did not stop its servers: " + reply);
        }
    }

    private String request(String command, Duration timeout) throws IOException {
        commands.println(command);
        try {
            String reply = lines.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (reply == null) {
                throw failure("server JVM did not answer '" + command + "' within " + timeout.toSeconds() + " s");
            }
            if (reply.equals(EOF)) {
                lines.add(EOF);
                throw failure("server JVM exited");
            }
            return reply;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the server JVM", e);
        }
    }

    private IOException failure(String what) {
        StringBuilder b = new StringBuilder(what).append(" (pid ").append(process.pid()).append(", log ").append(log);
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            if (!all.isEmpty()) {
                b.append("; last lines:");
                for (String l : all.subList(Math.max(0, all.size() - 15), all.size())) {
                    b.append(System.lineSeparator()).append("  server| ").append(l);
                }
            }
        } catch (IOException e) {
            // No log to show.
        }
        return new IOException(b.append(")").toString());
    }

    @Override
    public void close() {
        commands.close();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroy();
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        try {
            if (process.exitValue() == 0) {
                Files.deleteIfExists(log);
            }
        } catch (IllegalThreadStateException | IOException e) {
            // Still running or not deletable: leave the log for inspection.
        }
    }
}
