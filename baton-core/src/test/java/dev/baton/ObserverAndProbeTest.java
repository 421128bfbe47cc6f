package dev.baton;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tools take no rank: an observer node follows the membership, calls and coordinates, but never appears in the
 * membership nor moves anyone's rank; a {@link Probe} asks masters and nodes for their health, the membership and
 * a node's status over a tool connection of its own.
 */
@Timeout(60)
class ObserverAndProbeTest {

    private static final Duration T = Duration.ofSeconds(5);

    @Test
    void anObserverTakesNoRankAndIsNeverSeen() throws Exception {
        try (Cluster c = Cluster.withNodes(1)) {
            Cluster.startEcho(c.node(0), "echo");
            List<MembershipEvent> seenByNode = new CopyOnWriteArrayList<>();
            c.node(0).addMembershipListener((e, m) -> seenByNode.add(e));
            for (int round = 0; round < 3; round++) {
                try (Node tool = Node.observe(c.options("tool").build())) {
                    assertEquals(-1, tool.rank());
                    assertNull(tool.address());
                    assertEquals(1, tool.membership().nodes().size(), "the observer sees the cluster, not itself");
                    Client echo = tool.client("echo");
                    echo.awaitServers(1, T);
                    assertEquals("hi", new String(echo.call(Cluster.ECHO, "hi".getBytes(StandardCharsets.UTF_8)),
                            StandardCharsets.UTF_8));
                    assertEquals(0, tool.coordination().nextId("ids-" + round), "coordination works for observers");
                    IllegalStateException e = assertThrows(IllegalStateException.class, () -> tool.newServer("x"));
                    assertTrue(e.getMessage().contains("observer"), e.getMessage());
                }
            }
            Node next = c.join("after-tools");
            assertEquals(1, next.rank(), "three observers came and went; the next node is rank 1");
            Wait.until(() -> seenByNode.stream().anyMatch(e -> e instanceof MembershipEvent.NodeJoined), T);
            // (The echo server's own ServerAdded may reach the listener too, if it was added before that ran.)
            assertEquals(List.of("after-tools"), seenByNode.stream()
                    .filter(e -> e instanceof MembershipEvent.NodeJoined || e instanceof MembershipEvent.NodeLeft)
                    .map(e -> e instanceof MembershipEvent.NodeJoined j ? j.node().name() : "left").toList(),
                    "observers caused no event");
        }
    }

    @Test
    void anObserverFollowsChangesAfterItStarted() throws Exception {
        try (Cluster c = Cluster.withNodes(1); Node tool = Node.observe(c.options("tool").build())) {
            List<MembershipEvent> events = new CopyOnWriteArrayList<>();
            tool.addMembershipListener((e, m) -> events.add(e));
            Node late = c.join("late");
            Cluster.startEcho(late, "later");
            tool.client("later").awaitServers(1, T);
            late.close();
            Wait.until(() -> tool.membership().nodes().size() == 1 && tool.membership().servers("later").isEmpty(), T);
            Wait.until(() -> events.stream().anyMatch(e -> e instanceof MembershipEvent.NodeLeft l
                    && l.node().name().equals("late")), T);     // listeners run after the view changed
        }
    }

    @Test
    void probesAnswerHealthMembershipAndNodeStatus() throws Exception {
        try (Cluster c = Cluster.withNodes(2); Probe probe = Probe.tcp()) {
            Cluster.startEcho(c.node(1), "echo");
            Client echo = c.node(0).client("echo");
            echo.awaitServers(1, T);
            for (int i = 0; i < 64; i++) {
                echo.call(Cluster.ECHO, new byte[8]);
            }
            assertThrows(BatonException.class, () -> echo.call(7, new byte[1]));     // NO_SUCH_METHOD on the server

            assertEquals(new Health(true, "master", ""), probe.health(c.master.address(), T));
            assertEquals(new Health(true, "node", ""), probe.health(c.node(0).address(), T));
            assertEquals(c.master.membership().nodes(), probe.membership(c.master.address(), T).nodes());
            java.util.SortedMap<Integer, Duration> leases = probe.leaseAges(c.master.address(), T);
            assertEquals(java.util.Set.of(0, 1), leases.keySet());
            assertTrue(leases.values().stream().allMatch(d -> d.compareTo(Master.DEFAULT_LEASE_TIMEOUT) < 0), leases::toString);
            assertEquals(Status.Code.NO_SUCH_METHOD, assertThrows(BatonException.class,
                    () -> probe.leaseAges(c.node(0).address(), T)).status().code(), "a node has no leases to tell");

            long opened = c.node(0).stats().connectionsOpened();
            NodeStatus s = probe.nodeStatus(c.node(0).address(), T);
            probe.nodeStatus(c.node(0).address(), T);
            assertEquals(opened, c.node(0).stats().connectionsOpened(), "the probe kept its connection to node 0 open");
            assertEquals(c.node(0).rank(), s.node().rank());
            assertEquals(c.node(0).nodeId(), s.node().nodeId());
            assertEquals("node-0", s.node().name());
            assertTrue(s.uptime().toMillis() >= 0);
            NodeStats local = c.node(0).stats();
            assertEquals(65, s.stats().callsStarted());
            assertEquals(64, s.stats().callsSucceeded());
            assertEquals(java.util.Map.of(Status.Code.NO_SUCH_METHOD, 1L), s.stats().failuresByCode());
            assertEquals(local.failuresByCode(), s.stats().failuresByCode());
            assertEquals(local.callLatency(), s.stats().callLatency());
            assertEquals(4, s.stats().callLatency().count(), "one call in 16 (ids 16, 32, 48, 64) is timed");
            assertTrue(s.stats().callLatency().percentile(50).toNanos() > 0);
            assertEquals(local.pathsByRank(), s.stats().pathsByRank());

            // The probes took no rank and left no member behind.
            assertEquals(2, c.master.membership().nodes().size());
            BatonException wrongKind = assertThrows(BatonException.class, () -> probe.nodeStatus(c.master.address(), T));
            assertEquals(Status.Code.NO_SUCH_METHOD, wrongKind.status().code());
            Membership view = probe.membership(c.node(1).address(), T);
            assertEquals(c.master.membership().version(), view.version(), "a node tells its view");
            assertEquals(c.master.membership().nodes(), view.nodes());
            assertEquals(c.master.membership().servers("echo"), view.servers("echo"));
        }
    }

    @Test
    void theMasterShowsItsCoordinationState() throws Exception {
        try (Cluster c = Cluster.withNodes(2)) {
            Coordination a = c.node(0).coordination();
            Coordination b = c.node(1).coordination();
            assertTrue(a.lock("model").tryLock());
            a.nextId("steps");
            a.nextId("steps");
            a.put("k1", new byte[1]);
            a.put("k2", new byte[1]);
            Thread waiter = Thread.ofPlatform().start(() -> {
                try {
                    b.barrier("epoch", 2, Duration.ofSeconds(20));
                } catch (InterruptedException | BatonException ignored) {
                    // the test ends the wait
                }
            });
            try {
                Wait.until(() -> !c.master.coordinationState().barriers().isEmpty(), T);
                CoordinationState s = c.master.coordinationState();
                assertEquals(List.of(new CoordinationState.Lock("model", 0, "rank 0",
                        s.locks().getFirst().fencingToken(), 0)), s.locks());
                assertTrue(s.locks().getFirst().fencingToken() > 0);
                assertEquals(List.of(new CoordinationState.Barrier("epoch", 2, List.of(1))), s.barriers());
                assertEquals(java.util.Map.of("steps", 2L), s.idCounters());
                assertEquals(1, s.idKeys());
                assertEquals(2, s.keys());
            } finally {
                a.barrier("epoch", 2, Duration.ofSeconds(5));     // opens the round
                waiter.join(5_000);
            }
            Wait.until(() -> c.master.coordinationState().barriers().isEmpty(), T);
        }
    }

    @Test
    void aClosingNodeSaysItIsNotServing() throws Exception {
        try (Cluster c = new Cluster(); Probe probe = Probe.tcp()) {
            // A drain longer than the test's waits: a loaded machine must not end it before the handler answers.
            Node n = c.join(c.options("node-0").drainTimeout(Duration.ofSeconds(60)).build());
            InetSocketAddress at = n.address();
            // Hold the close in its drain (a call in flight on the node's own server) and ask meanwhile.
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            n.newServer("slow").blocking(0, call -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                call.reply(new byte[0]);
            }).start();
            Node caller = c.join("caller");
            Client slow = caller.client("slow");
            slow.awaitServers(1, T);
            var pending = slow.callAsync(0, java.nio.ByteBuffer.allocate(1));
            Wait.until(() -> n.stats().requestsHandled() == 1, T);
            assertTrue(probe.health(at, T).serving());
            Thread closer = Thread.ofPlatform().start(n::close);
            try {
                Wait.until(() -> !probe.health(at, T).serving(), T);
                assertEquals("closing", probe.health(at, T).detail());
            } finally {
                release.countDown();
                closer.join(10_000);
            }
            pending.join().close();
        }
    }

    @Test
    void probingNothingFailsWithUnavailableWithinTheTimeout() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        long start = System.nanoTime();
        try (Probe probe = Probe.tcp()) {
            BatonException e = assertThrows(BatonException.class,
                    () -> probe.health(new InetSocketAddress("127.0.0.1", port), Duration.ofSeconds(2)));
            assertEquals(Status.Code.UNAVAILABLE, e.status().code(), e.getMessage());
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(3).toNanos());
            assertFalse(e.getMessage().isEmpty());
        }
        Probe closed = Probe.tcp();
        closed.close();
        assertEquals(Status.Code.CLOSED, assertThrows(BatonException.class,
                () -> closed.health(new InetSocketAddress("127.0.0.1", port), Duration.ofSeconds(1))).status().code());
    }
}
