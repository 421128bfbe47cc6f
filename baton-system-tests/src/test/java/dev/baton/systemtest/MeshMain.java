package dev.baton.systemtest;

import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.NodeStats;
import dev.baton.ServerInfo;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.ToLongFunction;

/**
 * Child process: a master and {@code n} nodes with default options in this one JVM, each serving the echo
 * service, and every node calling every other node once (all ordered pairs: a full mesh of connections).
 *
 * <p>Usage: {@code MeshMain <n> <payload bytes>}. Prints, once every node sees every server, {@code JOINED nodes=N},
 * {@link MemoryProbe#line} (after full collections) and {@code connectionEnds=E connectionBufferBytes=B
 * pooledBufferBytes=P} (the data connections' ends, the buffers they hold and those idle in the pools, summed
 * over the nodes); once every call has ended, {@code MESH calls=C ok=K failed=F} and the same figures again; after
 * {@value #IDLE_MS} ms without calls, {@code IDLE avgConnectionBufferBytes=A idleAllocationsPerSecond=R} (the
 * buffers the connections held, averaged over that time: keepalive traffic takes them now and then; and the
 * buffers the nodes allocated meanwhile) and the figures once more; then closes everything and exits 0 (1 if a
 * call failed).
 */
public final class MeshMain {

    private static final Duration AWAIT_SERVERS = Duration.ofSeconds(60);
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);
    /** What "idle" means here: no call for this long (the keepalive interval; ten times the buffers' idle release). */
    private static final long IDLE_MS = 1000;
    private static final long SAMPLE_MS = 20;

    private MeshMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: MeshMain <nodes> <payload bytes>");
            System.exit(2);
        }
        int n = Integer.parseInt(args[0]);
        byte[] payload = new byte[Integer.parseInt(args[1])];
        new Random(n).nextBytes(payload);
        List<Node> nodes = new ArrayList<>();
        int failed;
        try (Master master = Master.start(new InetSocketAddress("127.0.0.1", 0))) {
            try {
                for (int i = 0; i < n; i++) {
                    Node node = Node.join(NodeOptions.builder().master(master.address())
                            .bind(new InetSocketAddress("127.0.0.1", 0)).name("mesh-" + i).build());
                    nodes.add(node);
                    node.newServer(EchoServerMain.SERVICE)
                            .inline(EchoServerMain.ECHO, call -> call.reply(call.request().buffer())).start();
                }
                for (Node node : nodes) {
                    node.client(EchoServerMain.SERVICE).awaitServers(n, AWAIT_SERVERS);
                }
                ChildSupport.println("JOINED nodes=" + n + " " + MemoryProbe.line(true) + " " + connections(nodes));
                AtomicInteger ok = new AtomicInteger();
                List<String> failures = callEveryOtherNode(nodes, payload, ok);
                failed = failures.size();
                failures.stream().limit(10).forEach(System.err::println);
                ChildSupport.println("MESH calls=" + (ok.get() + failed) + " ok=" + ok.get() + " failed=" + failed
                        + " " + MemoryProbe.line(true) + " " + connections(nodes));
                long allocations = sum(nodes, NodeStats::bufferAllocations);
                long heldAverage = averageBuffersHeld(nodes);
                long allocationsPerSecond = (sum(nodes, NodeStats::bufferAllocations) - allocations) * 1000 / IDLE_MS;
                ChildSupport.println("IDLE avgConnectionBufferBytes=" + heldAverage + " idleAllocationsPerSecond="
                        + allocationsPerSecond + " " + MemoryProbe.line(true) + " " + connections(nodes));
            } finally {
                for (Node node : nodes.reversed()) {
                    node.close();
                }
            }
        }
        System.exit(failed == 0 ? 0 : 1);
    }

    /** Each node, on a thread of its own, calls the echo server of every other node once; returns the failures. */
    private static List<String> callEveryOtherNode(List<Node> nodes, byte[] payload, AtomicInteger ok)
            throws InterruptedException {
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        try (ExecutorService callers = Executors.newFixedThreadPool(nodes.size())) {
            List<Future<?>> done = new ArrayList<>();
            for (Node node : nodes) {
                done.add(callers.submit(() -> {
                    Client echo = node.client(EchoServerMain.SERVICE);
                    for (ServerInfo server : echo.servers()) {
                        if (server.rank() == node.rank()) {
                            continue;
                        }
                        CallOptions to = CallOptions.DEFAULT.withServerId(server.serverId()).withTimeout(CALL_TIMEOUT);
                        try {
                            byte[] answer = echo.withOptions(to).call(EchoServerMain.ECHO, payload);
                            if (Arrays.equals(payload, answer)) {
                                ok.incrementAndGet();
                            } else {
                                failures.add(node.rank() + " -> " + server.rank() + ": wrong echo");
                            }
                        } catch (RuntimeException e) {
                            failures.add(node.rank() + " -> " + server.rank() + ": " + e);
                        }
                    }
                }));
            }
            for (Future<?> f : done) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    failures.add("caller failed: " + e.getCause());
                }
            }
        }
        return failures;
    }

    /**
     * The buffers the nodes' connections hold, sampled every {@value #SAMPLE_MS} ms for {@value #IDLE_MS} ms and
     * averaged. (Not waiting for a condition: the figure is defined over that much idle time.)
     */
    private static long averageBuffersHeld(List<Node> nodes) {
        long total = 0;
        int samples = (int) (IDLE_MS / SAMPLE_MS);
        for (int i = 0; i < samples; i++) {
            LockSupport.parkNanos(SAMPLE_MS * 1_000_000L);
            total += sum(nodes, NodeStats::connectionBufferBytes);
        }
        return total / samples;
    }

    /** The nodes' data connection ends, the buffers they hold and the buffers idle in the nodes' pools. */
    private static String connections(List<Node> nodes) {
        return "connectionEnds=" + sum(nodes, NodeStats::openConnections)
                + " connectionBufferBytes=" + sum(nodes, NodeStats::connectionBufferBytes)
                + " pooledBufferBytes=" + sum(nodes, NodeStats::pooledBufferBytes);
    }

    private static long sum(List<Node> nodes, ToLongFunction<NodeStats> field) {
        return nodes.stream().mapToLong(node -> field.applyAsLong(node.stats())).sum();
    }
}
