package dev.baton.bench.jmh;

import dev.baton.Client;
import dev.baton.Master;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeOptions;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
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

/**
 * A whole blocking call through the public API ({@link Client#call}), echoing {@code payloadBytes}:
 * <ul>
 *   <li>{@code inProcessCall}: the server is on the caller's own node, so the call takes the in-process path
 *       (the inline handler runs on the caller's thread);</li>
 *   <li>{@code tcpCall}: the server is on another node of the same JVM, over loopback TCP (the handler runs on
 *       the server node's I/O thread). Both ends are in this JVM, so {@code gc.alloc.rate.norm} is client and
 *       server together.</li>
 * </ul>
 * Both use {@link NodeOptions} defaults.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC", "--sun-misc-unsafe-memory-access=allow"})
public class CallBenchmark {

    @Param({"16"})
    int payloadBytes;

    private Master master;
    private Node serverNode;
    private Node clientNode;
    private Client inProcess;
    private Client overTcp;
    private ByteBuffer request;

    @Setup(Level.Trial)
    public void setUp() throws InterruptedException {
        java.util.logging.Logger.getLogger("dev.baton").setLevel(java.util.logging.Level.WARNING);
        master = Master.start(0);
        serverNode = Node.join(NodeOptions.builder().master(master.address()).name("jmh-server").build());
        serverNode.newServer("echo").inline(0, call -> call.reply(call.request().buffer())).start();
        clientNode = Node.join(NodeOptions.builder().master(master.address()).name("jmh-client").build());
        inProcess = serverNode.client("echo");
        overTcp = clientNode.client("echo");
        overTcp.awaitServers(1, Duration.ofSeconds(10));
        request = ByteBuffer.allocateDirect(payloadBytes);
        if (inProcessCall() != payloadBytes || tcpCall() != payloadBytes) {
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
}
