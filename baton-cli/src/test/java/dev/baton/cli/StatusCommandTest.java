package dev.baton.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.NodeOptions;
import dev.baton.spi.BatonProvider;
import dev.baton.spi.Registry;
import dev.baton.spi.RegistryContext;
import dev.baton.spi.TransportFactory;
import dev.baton.zookeeper.LocalZooKeeper;
import dev.baton.zookeeper.ZooKeeperRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code baton status} and {@code baton health} against a real master and nodes (and ZooKeeper). */
@Timeout(90)
class StatusCommandTest {

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    private static String hostPort(InetSocketAddress a) {
        return BatonCli.hostPort(a);
    }

    /** A master, a node serving echo and a node calling it in the background while the test runs. */
    private static void withBusyCluster(java.util.function.BiConsumer<Master, Node[]> test) throws Exception {
        try (Master master = Master.start(0);
             Node server = Node.join(NodeOptions.builder().master(master.address()).name("server").build());
             Node caller = Node.join(NodeOptions.builder().master(master.address()).name("caller").build())) {
            server.newServer("echo").inline(0, call -> call.reply(call.request().buffer())).start();
            Client echo = caller.client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            AtomicBoolean stop = new AtomicBoolean();
            Thread load = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 5_000_000 && !stop.get(); i++) {
                    echo.call(0, new byte[16]);
                    if (i % 100 == 99) {
                        java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
                    }
                }
            });
            try {
                test.accept(master, new Node[]{server, caller});
            } finally {
                stop.set(true);
                load.join(10_000);
            }
        }
    }

    @Test
    void printsNodesServicesAndRatesAndTakesNoRank() throws Exception {
        withBusyCluster((master, nodes) -> {
            CliRun r = run("status", "--master", hostPort(master.address()), "--interval", "300ms");
            assertEquals(0, r.exitCode(), r.err());
            String out = r.out();
            assertTrue(out.startsWith("cluster: 2 nodes, 1 service"), out);
            assertTrue(out.contains("RANK") && out.contains("CALLS/S") && out.contains("P99"), out);
            assertTrue(out.matches("(?s).*\\bserver\\s+127\\.0\\.0\\.1:\\d+\\s+\\d+s\\s+\\d\\.\\ds\\b.*"),
                    "a lease age from the master: " + out);
            assertTrue(out.contains(hostPort(nodes[0].address())) && out.contains("server"), out);
            assertTrue(out.contains(hostPort(nodes[1].address())) && out.contains("caller"), out);
            assertTrue(out.matches("(?s).*\\becho\\s+\\d+\\s+0@0\\b.*"), out);
            assertTrue(out.contains("rates and latency percentiles over the last"), out);
            assertEquals(2, master.membership().nodes().size(), "status never joined");
        });
    }

    @Test
    void printsJsonWithEachNodesCountersAndInterval() throws Exception {
        withBusyCluster((master, nodes) -> {
            CliRun r = run("status", "--master", hostPort(master.address()), "--json", "--interval", "300ms");
            assertEquals(0, r.exitCode(), r.err());
            JsonObject doc = JsonParser.parseString(r.out()).getAsJsonObject();
            JsonArray ns = doc.getAsJsonArray("nodes");
            assertEquals(2, ns.size());
            JsonObject caller = ns.get(1).getAsJsonObject();
            assertEquals("caller", caller.get("name").getAsString());
            assertEquals(1, caller.get("rank").getAsInt());
            assertTrue(caller.get("principal") == null, caller.toString());     // no TLS: nothing proved
            assertTrue(caller.getAsJsonObject("counters").get("callsStarted").getAsLong() > 0);
            JsonObject interval = caller.getAsJsonObject("interval");
            assertTrue(interval.get("callsPerSecond").getAsDouble() > 0, interval.toString());
            assertTrue(interval.getAsJsonObject("latency").get("p99Us").getAsDouble() > 0, interval.toString());
            JsonObject server = ns.get(0).getAsJsonObject();
            assertTrue(server.getAsJsonObject("interval").get("requestsPerSecond").getAsDouble() > 0);
            JsonObject echo = doc.getAsJsonArray("services").get(0).getAsJsonObject();
            assertEquals("echo", echo.get("name").getAsString());
            assertEquals(0, echo.getAsJsonArray("servers").get(0).getAsJsonObject().get("rank").getAsInt());
        });
    }

    @Test
    void watchRefreshesInPlace() throws Exception {
        withBusyCluster((master, nodes) -> {
            CliRun r = run("status", "--master", hostPort(master.address()), "--watch", "--count", "3",
                    "--interval", "100ms");
            assertEquals(0, r.exitCode(), r.err());
            assertEquals(3, r.out().split("\033\\[H\033\\[2J", -1).length - 1, "three refreshes");
        });
    }

    @Test
    void aNodeThatDoesNotAnswerIsShownNotFatal() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (Master master = Master.start(0);
             Node n = Node.join(NodeOptions.builder().master(master.address()).name("alive").build());
             Registry ghost = BatonProvider.get().masterRegistry(master.address())
                     .create(new RegistryContext("ghost", TransportFactory.tcp()))) {
            // A member whose address nobody listens on (its process froze before it could accept, say).
            ghost.join(new NodeInfo(-1, 7, new InetSocketAddress("127.0.0.1", port), "ghost", ""),
                    new Registry.Listener() {
                        @Override
                        public void onSnapshot(dev.baton.Membership membership) {
                        }

                        @Override
                        public void onEvent(dev.baton.MembershipEvent event) {
                        }
                    }, Duration.ofSeconds(5));
            CliRun r = run("status", "--master", hostPort(master.address()), "--interval", "0s", "--timeout", "1s");
            assertEquals(0, r.exitCode(), r.err());
            assertTrue(r.out().startsWith("cluster: 2 nodes"), r.out());
            assertTrue(r.out().contains("counts and latency percentiles since each node started"), r.out());
            assertTrue(r.out().contains("rank 1 did not answer: "), r.out());
            assertFalse(r.out().contains("rank 0 did not answer"), r.out());
        }
    }

    @Test
    void readsAClusterJoinedThroughZooKeeper() throws Exception {
        try (LocalZooKeeper zk = new LocalZooKeeper(1, Duration.ofMillis(200))) {
            zk.startAll();
            try (Node node = Node.join(NodeOptions.builder().name("zk-node")
                    .registry(ZooKeeperRegistry.of(zk.connectString(), "/baton/status-test")).build())) {
                CliRun r = run("status", "--zookeeper", zk.connectString(), "--cluster", "status-test", "--interval", "0s");
                assertEquals(0, r.exitCode(), r.err());
                assertTrue(r.out().startsWith("cluster: 1 node, 0 services"), r.out());
                assertTrue(r.out().contains("zk-node") && r.out().contains(hostPort(node.address())), r.out());
            }
        }
    }

    @Test
    void usageErrorsExitWithTwo() {
        assertEquals(2, run("status").exitCode(), "a registry is required");
        assertEquals(2, run("status", "--master", "127.0.0.1:1", "--interval", "soon").exitCode(), "not a duration");
        assertEquals(2, run("status", "--master", "127.0.0.1:1", "--watch", "--interval", "0s").exitCode());
        assertEquals(2, run("health").exitCode());
        assertEquals(2, run("health", "--node", "127.0.0.1:1", "--timeout", "-3s").exitCode());
    }

    @Test
    void healthSaysServingWithExitCodeZeroAndUnreachableWithOne() throws Exception {
        try (Master master = Master.start(0);
             Node n = Node.join(NodeOptions.builder().master(master.address()).build())) {
            CliRun node = run("health", "--node", hostPort(n.address()));
            assertEquals(0, node.exitCode(), node.err());
            assertEquals("serving: node at " + hostPort(n.address()) + "\n", node.out());
            CliRun m = run("health", "--master", hostPort(master.address()), "--timeout", "2s");
            assertEquals(0, m.exitCode(), m.err());
            assertEquals("serving: master at " + hostPort(master.address()) + "\n", m.out());
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        CliRun gone = run("health", "--node", "127.0.0.1:" + port, "--timeout", "1s");
        assertEquals(1, gone.exitCode());
        assertTrue(gone.err().startsWith("unreachable: "), gone.err());
    }
}
