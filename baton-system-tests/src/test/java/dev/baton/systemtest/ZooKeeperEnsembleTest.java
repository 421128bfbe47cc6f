package dev.baton.systemtest;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Coordination;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.testkit.ChildJvm;
import dev.baton.zookeeper.LocalZooKeeper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static dev.baton.systemtest.SystemTests.STARTUP;
import static dev.baton.systemtest.SystemTests.awaitRank;
import static dev.baton.systemtest.SystemTests.echoClient;
import static dev.baton.systemtest.SystemTests.joinOptions;
import static dev.baton.systemtest.SystemTests.log;
import static dev.baton.systemtest.SystemTests.msSince;
import static dev.baton.systemtest.SystemTests.startServer;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Five Baton node processes (four echo servers and this JVM's node) join through a three-member ZooKeeper
 * ensemble of child JVMs and call each other continuously. The ensemble's leader is killed with SIGKILL, then
 * (once it is back) a follower: no call between the nodes fails, registering servers and coordination work
 * again once a quorum exists, and the test node's membership events stay in version order and end in the same
 * view a newcomer reads.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ZooKeeperEnsembleTest {

    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration DEADLINE_SLACK = Duration.ofSeconds(1);
    /** Sessions of up to 10 s (20 ticks): a client moves to another member well within it. */
    private static final Duration TICK = Duration.ofMillis(500);
    /** A new leader is elected and the ensemble serves again within this. */
    private static final Duration QUORUM_BACK = Duration.ofSeconds(30);
    private static final int CALLS_PER_PHASE = 300;
    private static final int SERVERS = 4;

    @AfterEach
    void leavesNoProcessOrThreadBehind() {
        LeakCheck.assertNothingLeftBehind("echo-load-");
    }

    @Test
    void callsNeverFailAndTheRegistryComesBackWhenTheLeaderThenAFollowerDies() throws Exception {
        try (LocalZooKeeper zk = new LocalZooKeeper(3, TICK);
             SystemTests.ChildGroup children = new SystemTests.ChildGroup()) {
            zk.startAll();
            String where = SystemTests.ZOOKEEPER + zk.connectString() + "/baton/ensemble-test";
            List<ChildJvm> servers = new ArrayList<>();
            for (int i = 0; i < SERVERS; i++) {
                servers.add(children.add(startServer("echo-" + i, where)));
            }
            for (ChildJvm s : servers) {
                awaitRank(s);
            }
            try (Node node = Node.join(joinOptions(where).name("test-node").joinTimeout(Duration.ofSeconds(5))
                    .build())) {
                ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
                AtomicLong lastVersion = new AtomicLong(node.membership().version());
                node.addMembershipListener((event, membership) -> {
                    if (event.version() <= lastVersion.getAndSet(event.version())) {
                        violations.add("out of order: " + event);
                    }
                });
                Client echo = echoClient(node, CALL_TIMEOUT);
                assertEquals(SERVERS, echo.awaitServers(SERVERS, STARTUP).size());
                Coordination co = node.coordination();

                try (EchoLoad load = EchoLoad.start(echo, 2)) {
                    Wait.until(() -> load.succeeded.sum() >= CALLS_PER_PHASE, STARTUP, load::toString);

                    int leader = zk.leader(QUORUM_BACK);
                    survive(zk, leader, "leader", load, node, co);
                    zk.start(leader);
                    int follower = zk.leader(QUORUM_BACK) == (leader + 1) % 3 ? (leader + 2) % 3 : (leader + 1) % 3;
                    survive(zk, follower, "follower", load, node, co);

                    load.stop(CALL_TIMEOUT.plus(DEADLINE_SLACK));
                    log("load: %s", load);
                    assertEquals(0, load.failed(), "calls failed: " + load);
                }
                assertTrue(violations.isEmpty(), "membership events: " + violations);
                try (Node newcomer = Node.join(joinOptions(where).name("newcomer").build())) {
                    Wait.until(() -> sameView(node, newcomer), STARTUP,
                            () -> "test node " + node.membership() + " vs newcomer " + newcomer.membership());
                }
            }
            for (ChildJvm s : servers) {
                s.closeStdin();
                assertEquals(0, s.awaitExit(STARTUP), s.name() + " exit code");
            }
        }
    }

    /** Kills member {@code i} under load; checks that calls go on and the registry serves again. */
    private static void survive(LocalZooKeeper zk, int i, String role, EchoLoad load, Node node, Coordination co)
            throws Exception {
        long before = load.succeeded.sum();
        long killNs = System.nanoTime();
        zk.kill(i);
        Wait.until(() -> load.succeeded.sum() >= before + CALLS_PER_PHASE, STARTUP, load::toString);
        assertEquals(0, load.failed(), "calls failed after the " + role + " died: " + load);

        String service = "after-" + role;
        ServerInfo added = retryWhileUnavailable(() -> {
            var s = node.newServer(service).inline(0, call -> call.reply(call.request().buffer())).start();
            return new ServerInfo(service, s.serviceId(), s.serverId(), node.rank());
        });
        byte[] value = role.getBytes(StandardCharsets.UTF_8);
        retryWhileUnavailable(() -> {
            co.put("ensemble/" + role, value);
            return null;
        });
        Optional<byte[]> read = co.get("ensemble/" + role);
        assertArrayEquals(value, read.orElseThrow());
        assertEquals(List.of(added), node.client(service).awaitServers(1, STARTUP));
        log("%s (member %d) killed: registry and coordination back after %d ms; %s", role, i + 1, msSince(killNs),
                load);
    }

    private interface Step<T> {
        T run() throws Exception;
    }

    private static <T> T retryWhileUnavailable(Step<T> step) throws Exception {
        long deadline = System.nanoTime() + QUORUM_BACK.toNanos();
        while (true) {
            try {
                return step.run();
            } catch (BatonException e) {
                if (e.code() != Status.Code.UNAVAILABLE || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    private static boolean sameView(Node a, Node b) {
        List<Integer> ranksA = a.membership().nodes().stream().map(NodeInfo::rank).toList();
        List<Integer> ranksB = b.membership().nodes().stream().map(NodeInfo::rank).toList();
        // The newcomer is in both views once the test node has heard of it; compare the rest.
        return ranksA.equals(ranksB)
                && a.membership().services().equals(b.membership().services())
                && a.membership().services().stream().allMatch(s ->
                        a.membership().servers(s).equals(b.membership().servers(s)));
    }
}
