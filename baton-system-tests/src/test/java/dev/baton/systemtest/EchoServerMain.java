package dev.baton.systemtest;

import dev.baton.MembershipEvent;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.ServerCall;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Child process: a node that serves service {@value #SERVICE}, echoing method {@value #ECHO} inline, and the messages
 * of streams opened to method {@value #ECHO_STREAM}.
 *
 * <p>Usage: {@code EchoServerMain <master host:port | zk:CONNECT/ROOT> [--bind HOST] [--executions FILE]
 * [--leak-report]}.
 * Prints {@code READY rank=R} once its server is registered, {@code NODES [ranks...]} after each node joins or
 * leaves its membership view, and, when stdin reaches end-of-file, {@code SERVED n} (the requests it handled),
 * then closes the node (leaving the membership) and exits 0. On SIGTERM it closes the node too.
 *
 * <ul>
 *   <li>{@code --bind HOST}: listen on HOST (default 127.0.0.1), e.g. an address inside a network namespace.</li>
 *   <li>{@code --executions FILE}: before answering a request, append its first 8 bytes (the caller's request
 *       id, see {@link ChaosClientMain}) to FILE. Each record is one {@code write} to a file opened for append,
 *       so it is in the page cache before the answer leaves: a SIGKILL cannot lose the record of a request
 *       whose answer was sent. (No {@code force}: that only matters if the machine dies, not the process.)</li>
 *   <li>{@code --leak-report}: print {@code THREADS baton=N [names]} after READY (the live platform threads
 *       named {@code baton-*}); at end-of-file, wait up to {@value #IDLE_WAIT_SECONDS} s for the node's open
 *       connections to reach 0 and print {@code IDLE connections=C batonThreads=N [names]}; after closing the
 *       node, wait for its threads to end and print {@code CLOSED batonThreads=N [names]}.</li>
 * </ul>
 */
public final class EchoServerMain {

    static final String SERVICE = "echo";
    static final int ECHO = 0;
    /** A stream method: echoes each message of the stream until the caller half-closes. */
    static final int ECHO_STREAM = 1;
    private static final int IDLE_WAIT_SECONDS = 15;
    private static final int THREADS_END_WAIT_SECONDS = 5;

    private EchoServerMain() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            usage();
        }
        String bindHost = "127.0.0.1";
        Path executionsFile = null;
        boolean leakReport = false;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--bind" -> bindHost = argument(args, ++i);
                case "--executions" -> executionsFile = Path.of(argument(args, ++i));
                case "--leak-report" -> leakReport = true;
                default -> usage();
            }
        }
        LongAdder served = new LongAdder();
        ExecutionLog executions = executionsFile == null ? null : new ExecutionLog(executionsFile);
        NodeOptions options = SystemTests.joinOptions(args[0]).bind(new InetSocketAddress(bindHost, 0))
                .name("echo-server").build();
        Node node = Node.join(options);
        try {
            Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("node-shutdown").unstarted(node::close));
            node.addMembershipListener((event, membership) -> {
                if (event instanceof MembershipEvent.NodeJoined || event instanceof MembershipEvent.NodeLeft) {
                    ChildSupport.println(ChildSupport.nodesLine(membership));
                }
            });
            node.newServer(SERVICE).inline(ECHO, call -> {
                served.increment();
                if (executions != null) {
                    executions.record(call);
                }
                call.reply(call.request().buffer());
            }).stream(ECHO_STREAM, stream -> {
                for (dev.baton.Message m = stream.receive(); m != null; m = stream.receive()) {
                    stream.send(m.buffer());
                    m.close();
                }
            }).start();
            ChildSupport.println("READY rank=" + node.rank());
            if (leakReport) {
                List<String> threads = batonThreads();
                ChildSupport.println("THREADS baton=" + threads.size() + " " + threads);
            }
            ChildSupport.awaitStdinEof();
            ChildSupport.println("SERVED " + served.sum());
            if (leakReport) {
                awaitOrTimeout(() -> node.stats().openConnections() == 0, IDLE_WAIT_SECONDS);
                List<String> threads = batonThreads();
                ChildSupport.println("IDLE connections=" + node.stats().openConnections()
                        + " batonThreads=" + threads.size() + " " + threads);
            }
        } finally {
            node.close();
        }
        if (leakReport) {
            awaitOrTimeout(() -> batonThreads().isEmpty(), THREADS_END_WAIT_SECONDS);
            List<String> threads = batonThreads();
            ChildSupport.println("CLOSED batonThreads=" + threads.size() + " " + threads);
        }
        if (executions != null) {
            executions.close();
        }
        System.exit(0);
    }

    private static void usage() {
        System.err.println("usage: EchoServerMain <master host:port> [--bind HOST] [--executions FILE]"
                + " [--leak-report]");
        System.exit(2);
    }

    private static String argument(String[] args, int i) {
        if (i >= args.length) {
            usage();
        }
        return args[i];
    }

    /** Live platform threads named {@code baton-*}, sorted (virtual handler threads are not listed by the JVM). */
    static List<String> batonThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith("baton-")).sorted().toList();
    }

    /** Waits for {@code condition} up to {@code seconds}; the caller reports the state either way. */
    private static void awaitOrTimeout(BooleanSupplier condition, int seconds) {
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        while (!condition.getAsBoolean() && System.nanoTime() - end < 0) {
            LockSupport.parkNanos(10_000_000L);
        }
    }

    /** Appends the request id of every executed request to a file, one 8-byte record per execution. */
    private static final class ExecutionLog {

        private final FileChannel channel;
        private final ByteBuffer record = ByteBuffer.allocateDirect(Long.BYTES);

        ExecutionLog(Path file) throws IOException {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND);
        }

        /** Runs on the I/O thread before the answer is sent; requests shorter than an id are not recorded. */
        synchronized void record(ServerCall call) {
            ByteBuffer request = call.request().buffer();
            if (request.remaining() < Long.BYTES) {
                return;
            }
            record.clear();
            // Big-endian, as the client wrote it, whatever order the runtime's buffer has.
            record.putLong(request.duplicate().order(ByteOrder.BIG_ENDIAN).getLong(request.position()));
            record.flip();
            try {
                while (record.hasRemaining()) {
                    channel.write(record);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot record execution", e);
            }
        }

        synchronized void close() throws IOException {
            channel.close();
        }
    }
}
