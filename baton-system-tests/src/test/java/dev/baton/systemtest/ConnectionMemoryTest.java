package dev.baton.systemtest;

import dev.baton.Client;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.testkit.ChildJvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.baton.systemtest.ProbedNode.get;
import static dev.baton.systemtest.SystemTests.STARTUP;
import static dev.baton.systemtest.SystemTests.assertEchoes;
import static dev.baton.systemtest.SystemTests.awaitAddress;
import static dev.baton.systemtest.SystemTests.echoClient;
import static dev.baton.systemtest.SystemTests.joinTestNode;
import static dev.baton.systemtest.SystemTests.log;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 9, item 4: memory per connection follows use. An idle connection end costs at most 64 KiB of heap and
 * direct memory together, buffers grow with load and go back when it ends, and 30 nodes in one JVM, fully
 * meshed, fit a 512 MiB heap with default options.
 *
 * <p>What a connection end costs is measured in the child JVM ({@link MemoryProbe.Cost}): the heap it holds
 * after full collections, plus the buffers it holds averaged over a second (an idle connection takes a read and
 * a send buffer for a moment at each keepalive PING, so a single reading could catch all or none of them). The
 * buffers idle in a node's pool are the node's, not a connection's; they are reported, as is the rate at which
 * idle connections make the pool allocate.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ConnectionMemoryTest {

    private static final int IDLE_CONNECTIONS = 200;
    private static final long MAX_BYTES_PER_IDLE_END = 64 * 1024;
    private static final int MESH_NODES = 30;
    private static final int MESH_PAYLOAD = 4096;
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration MESH_WAIT = Duration.ofSeconds(60);
    /** Idle connections take buffers now and then (keepalive): they are averaged over this long. */
    private static final Duration IDLE_SAMPLING = Duration.ofSeconds(1);

    @AfterEach
    void leavesNoProcessOrThreadBehind() {
        LeakCheck.assertNothingLeftBehind(RawPeers.THREAD_PREFIX);
    }

    @Test
    void anIdleConnectionEndCostsAtMost64KiBAndBuffersGoBackAfterLoad() throws Exception {
        try (ChildJvm master = ChildJvm.start("master", MasterMain.class)) {
            String address = awaitAddress(master);
            try (ProbedNode target = ProbedNode.start("probed-node", address);
                 Node node = joinTestNode(address)) {
                idleConnectionsCostLittle(target, node);
            }
        }
    }

    /** {@value #IDLE_CONNECTIONS} raw connections that complete the handshake and then only ping. */
    private static void idleConnectionsCostLittle(ProbedNode target, Node node) throws Exception {
        Client echo = echoClient(node, CALL_TIMEOUT);
        echo.awaitServers(1, STARTUP);
        assertEchoes(echo, 200);

        Map<String, Long> before = target.probe();
        long openBefore = get(before, "openConnections");
        try (RawPeers idle = RawPeers.connect(target.address, IDLE_CONNECTIONS, RawPeers.Script.idle())) {
            Wait.until(() -> get(target.stats(), "openConnections") == openBefore + IDLE_CONNECTIONS, STARTUP,
                    () -> "the node did not open all " + IDLE_CONNECTIONS + " idle connections: " + idle);
            IdleBuffers buffers = IdleBuffers.sample(target);
            Map<String, Long> after = target.probe();
            MemoryProbe.Cost cost = MemoryProbe.Cost.between(before, after, buffers.averageHeld(), IDLE_CONNECTIONS);
            long perEnd = cost.perConnection();
            log("%d idle connections: heap +%d KiB; buffers held %d KiB on average over a second, idle in the pool %d"
                            + " KiB; %d buffers allocated a second: %s", IDLE_CONNECTIONS, cost.heapBytes() / 1024,
                    buffers.averageHeld() / 1024, get(after, "pooledBufferBytes") / 1024,
                    buffers.allocationsPerSecond(), cost);
            assertTrue(perEnd <= MAX_BYTES_PER_IDLE_END, "an idle connection end costs " + perEnd
                    + " bytes of heap and direct memory, more than " + MAX_BYTES_PER_IDLE_END);
            assertEquals(0, idle.closedByNode(), "idle connections closed by the node: " + idle);
        }
        assertTrue(target.isAlive(), "the node is running");
        assertBuffersGrowWithLoadAndGoBack(target, echo);
    }

    /**
     * The node's connections over {@link #IDLE_SAMPLING}: the buffers they hold, averaged, and how many buffers
     * the node allocated (pool misses) per second.
     */
    private record IdleBuffers(long averageHeld, long allocationsPerSecond) {

        static IdleBuffers sample(ProbedNode target) {
            long start = System.nanoTime();
            long end = start + IDLE_SAMPLING.toNanos();
            Map<String, Long> first = target.stats();
            Map<String, Long> last = first;
            long total = 0;
            int samples = 0;
            while (System.nanoTime() - end < 0) {
                last = target.stats();
                total += get(last, "connectionBufferBytes");
                samples++;
            }
            long allocations = get(last, "bufferAllocations") - get(first, "bufferAllocations");
            return new IdleBuffers(total / Math.max(1, samples),
                    allocations * 1_000_000_000L / (System.nanoTime() - start));
        }
    }

    /**
     * Rounds of 64 concurrent calls of 256 KiB: the node's connection takes buffers while they run (and the calls
     * succeed), and gives every one back once the load is over.
     */
    private static void assertBuffersGrowWithLoadAndGoBack(ProbedNode target, Client echo) throws Exception {
        byte[] request = new byte[256 * 1024];
        long peakBuffers = 0;
        for (int round = 0; round < 4; round++) {
            List<CompletableFuture<?>> calls = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                calls.add(echo.callAsync(EchoServerMain.ECHO, request).thenAccept(Message::close));
            }
            CompletableFuture<?> all = CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new));
            long deadline = System.nanoTime() + CALL_TIMEOUT.toNanos();
            while (!all.isDone() && System.nanoTime() - deadline < 0) {
                Map<String, Long> now = target.stats();
                peakBuffers = Math.max(peakBuffers,
                        get(now, "connectionBufferBytes") + get(now, "receiveBytesReserved"));
            }
            all.get(CALL_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        }
        Duration back = Wait.until(() -> get(target.stats(), "connectionBufferBytes") == 0, Duration.ofSeconds(5),
                () -> "the node still holds connection buffers after the load: " + target.stats());
        log("under load the node's connection held up to %d KiB of buffers and large frames; all back %d ms after"
                + " the load", peakBuffers / 1024, back.toMillis());
        assertTrue(peakBuffers > 0, "the connection held no buffer under load: buffers are not counted");
    }

    @Test
    void thirtyNodesFullyMeshedInOneJvmFitA512MiBHeapWithDefaultOptions() throws Exception {
        long start = System.nanoTime();
        try (ChildJvm mesh = ChildJvm.start("mesh", List.of(), List.of("-Xmx512m"), MeshMain.class,
                Integer.toString(MESH_NODES), Integer.toString(MESH_PAYLOAD))) {
            Map<String, Long> joined = MemoryProbe.parse(mesh.awaitLine(l -> l.startsWith("JOINED "), MESH_WAIT));
            Map<String, Long> meshed = MemoryProbe.parse(mesh.awaitLine(l -> l.startsWith("MESH "), MESH_WAIT));
            long meshMs = SystemTests.msSince(start);
            Map<String, Long> idle = MemoryProbe.parse(mesh.awaitLine(l -> l.startsWith("IDLE "), MESH_WAIT));
            int exit = mesh.awaitExit(MESH_WAIT);
            long ends = get(idle, "connectionEnds") - get(joined, "connectionEnds");
            MemoryProbe.Cost cost = MemoryProbe.Cost.between(joined, idle, get(idle, "avgConnectionBufferBytes"),
                    (int) Math.max(1, ends));
            long perEnd = cost.perConnection();
            log("%d-node mesh in -Xmx512m: %d of %d calls succeeded, %d ms from start; %d connection ends. Heap %d MiB"
                            + " joined, %d MiB meshed, %d MiB idle; direct %d, %d, %d MiB (idle in the pools: %d MiB);"
                            + " RSS %d, %d, %d MiB. Idle: %d buffers allocated a second; %s", MESH_NODES,
                    get(meshed, "ok"), get(meshed, "calls"), meshMs, ends,
                    get(joined, "heapUsed") >> 20, get(meshed, "heapUsed") >> 20, get(idle, "heapUsed") >> 20,
                    get(joined, "direct") >> 20, get(meshed, "direct") >> 20, get(idle, "direct") >> 20,
                    get(idle, "pooledBufferBytes") >> 20,
                    get(joined, "rss") >> 20, get(meshed, "rss") >> 20, get(idle, "rss") >> 20,
                    get(idle, "idleAllocationsPerSecond"), cost);
            long pairs = (long) MESH_NODES * (MESH_NODES - 1);
            assertEquals(pairs, get(meshed, "ok"), "calls that succeeded, of every node to every other node");
            assertEquals(0, exit, "exit code of the mesh JVM");
            assertTrue(ends >= pairs, "connection ends: " + ends + ", expected one per ordered pair at least");
            assertTrue(perEnd <= MAX_BYTES_PER_IDLE_END, "an idle mesh connection end costs " + perEnd
                    + " bytes of heap and direct memory, more than " + MAX_BYTES_PER_IDLE_END);
        }
    }
}
