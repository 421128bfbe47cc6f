package dev.baton.zookeeper;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Server;
import dev.baton.ServerInfo;
import dev.baton.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Nodes joined through a ZooKeeper server that runs as a separate process: they find and call each other; when
 * the server is killed with SIGKILL, calls between nodes already connected keep working and registry
 * operations fail with UNAVAILABLE within their timeout; once it is back (same port and data), registry
 * operations work again and every node's view converges.
 */
@Timeout(120)
class ZooKeeperProcessTest {

    private static final int ECHO = 0;
    private static final int TICK_MS = 200;     // sessions of 0.4 to 4 s
    private static final Duration SESSION = Duration.ofSeconds(4);
    private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(3);

    private LocalZooKeeper zookeeper;
    private final List<Node> nodes = new ArrayList<>();

    @BeforeEach
    void startZooKeeper() throws Exception {
        zookeeper = new LocalZooKeeper(1, Duration.ofMillis(TICK_MS));
        zookeeper.startAll();
    }

    @AfterEach
    void stopEverything() throws Exception {
        nodes.forEach(Node::close);
        zookeeper.close();
    }

    private Node join(String name) {
        Node n = Node.join(NodeOptions.builder().name(name).joinTimeout(JOIN_TIMEOUT)
                .registry(ZooKeeperRegistry.builder(zookeeper.connectString(), "/baton/process-test")
                        .sessionTimeout(SESSION).build())
                .build());
        nodes.add(n);
        return n;
    }

    @Test
    void callsBetweenConnectedNodesSurviveTheDeathOfZooKeeperAndTheRegistryWorksAgainOnceItIsBack()
            throws Exception {
        Node a = join("a");
        Node b = join("b");
        assertEquals(List.of(0, 1), List.of(a.rank(), b.rank()));
        Server echo = a.newServer("echo").inline(ECHO, call -> call.reply(call.request().buffer())).start();
        Client client = b.client("echo");
        assertEquals(List.of(new ServerInfo("echo", echo.serviceId(), echo.serverId(), a.rank())),
                client.awaitServers(1, Duration.ofSeconds(10)));
        byte[] hi = "hi".getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(hi, client.call(ECHO, hi));

        zookeeper.kill(0);
        for (int i = 0; i < 200; i++) {
            assertArrayEquals(hi, client.call(ECHO, hi), "call " + i + " with ZooKeeper dead");
        }
        long t0 = System.nanoTime();
        BatonException refused = assertThrows(BatonException.class,
                () -> b.newServer("later").inline(ECHO, call -> call.reply(call.request().buffer())).start());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(Status.Code.UNAVAILABLE, refused.code(), refused.toString());
        assertTrue(ms < JOIN_TIMEOUT.toMillis() + 2_000, "failed after " + ms + " ms");

        zookeeper.start(0);
        // The sessions may have outlived the outage or not: either way both nodes are members again.
        Server later = startWithin(b, "later", Duration.ofSeconds(20));
        Client toLater = a.client("later");
        assertEquals(1, toLater.awaitServers(1, Duration.ofSeconds(20)).size());
        assertArrayEquals(hi, toLater.call(ECHO, hi));
        assertArrayEquals(hi, client.call(ECHO, hi));
        assertEquals(later.serverId(), toLater.awaitServers(1, Duration.ofSeconds(1)).getFirst().serverId());
    }

    /**
     * An echo server of {@code service} on {@code node}, registering again while the registry is unreachable (it
     * reconnects on its own), within {@code limit}. ZooKeeperTlsTest uses it too.
     */
    static Server startWithin(Node node, String service, Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            try {
                return node.newServer(service).inline(ECHO, call -> call.reply(call.request().buffer())).start();
            } catch (BatonException e) {
                if (e.code() != Status.Code.UNAVAILABLE || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }
}
