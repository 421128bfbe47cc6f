package dev.baton.bench.jmh;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.SharedMemory;
import dev.baton.ResponseListener;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Whole calls through the public API, echoing {@code payloadBytes} with an inline handler that answers with
 * the request itself ({@code call.reply(call.request())}):
 * <ul>
 *   <li>{@code inProcess*}: the server is on the caller's own node, so the call takes the in-process path
 *       (the handler runs on the caller's thread);</li>
 *   <li>{@code tcp*}: the server is on another node of the same JVM, over loopback TCP (the handler runs on
 *       the server node's I/O thread). Both ends are in this JVM, so {@code gc.alloc.rate.norm} is client and
 *       server together.</li>
 * </ul>
 * {@code *Call} blocks in {@link Client#call(int, ByteBuffer)} (the caller owns the response);
 * {@code *Listener} calls with a {@link ResponseListener} (the allocation-free API) and waits by spinning;
 * {@code tcpPipelined16} and {@code tcpPipelined64} keep 16 and 64 listener calls in flight and report the time
 * (and allocation) per call. All use {@link NodeOptions} defaults.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC", "--sun-misc-unsafe-memory-access=allow"})
public class CallBenchmark {

    private static final int PIPELINE = 64;
    private static final long WAIT_LIMIT_NS = TimeUnit.SECONDS.toNanos(10);

    @Param({"16"})
    int payloadBytes;

    private Master master;
    private Node serverNode;
    private Node clientNode;
    private Client inProcess;
    private Client overTcp;
    private ByteBuffer request;
    private final Countdown countdown = new Countdown();

    @Setup(Level.Trial)
    public void setUp() throws InterruptedException {
        java.util.logging.Logger.getLogger("dev.baton").setLevel(java.util.logging.Level.WARNING);
        master = Master.start(0);
        serverNode = Node.join(NodeOptions.builder().master(master.address()).name("jmh-server")
                .sharedMemory(SharedMemory.DISABLED).build());
        serverNode.newServer("echo").inline(0, call -> call.reply(call.request())).start();
        clientNode = Node.join(NodeOptions.builder().master(master.address()).name("jmh-client")
                .sharedMemory(SharedMemory.DISABLED).build());
        inProcess = serverNode.client("echo");
        overTcp = clientNode.client("echo");
        overTcp.awaitServers(1, Duration.ofSeconds(10));
        request = ByteBuffer.allocateDirect(payloadBytes);
        if (inProcessCall() != payloadBytes || tcpCall() != payloadBytes || inProcessListener() != payloadBytes
                || tcpListener() != payloadBytes) {
            throw new IllegalStateException("echo returned the wrong size");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        clientNode.close();
        serverNode.close();
        master.close();
    }

    @Benchmark
    public int inProcessCall() {
        try (Message m = inProcess.call(0, request)) {
            return m.size();
        }
    }

    @Benchmark
    public int tcpCall() {
        try (Message m = overTcp.call(0, request)) {
            return m.size();
        }
    }

    @Benchmark
    public int inProcessListener() {
        return countdown.run(inProcess, request, 1);
    }

    @Benchmark
    public int tcpListener() {
        return countdown.run(overTcp, request, 1);
    }

    @Benchmark
    @OperationsPerInvocation(16)
    public int tcpPipelined16() {
        return countdown.run(overTcp, request, 16);
    }

    @Benchmark
    @OperationsPerInvocation(PIPELINE)
    public int tcpPipelined64() {
        return countdown.run(overTcp, request, PIPELINE);
    }

    /** One listener for every call of a batch: counts the responses down, keeps the last size. */
    private static final class Countdown implements ResponseListener {
        private final AtomicInteger left = new AtomicInteger();
        private volatile int lastSize;
        private volatile BatonException error;

        int run(Client client, ByteBuffer request, int calls) {
            left.set(calls);
            for (int i = 0; i < calls; i++) {
                client.call(0, request, this);
            }
            long end = System.nanoTime() + WAIT_LIMIT_NS;
            while (left.get() > 0) {
                if (System.nanoTime() - end > 0) {
                    throw new IllegalStateException(left.get() + " calls unanswered after 10 s");
                }
                Thread.onSpinWait();
            }
            BatonException e = error;
            if (e != null) {
                throw e;
            }
            return lastSize;
        }

        @Override
        public void onResponse(Message response) {
            lastSize = response.size();
            left.decrementAndGet();
        }

        @Override
        public void onFailure(BatonException e) {
            error = e;
            left.decrementAndGet();
        }
    }
}
