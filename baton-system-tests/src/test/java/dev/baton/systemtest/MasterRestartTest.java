package dev.baton.systemtest;

import dev.baton.testkit.ChildJvm;
import dev.baton.Client;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.baton.systemtest.SystemTests.STARTUP;
import static dev.baton.systemtest.SystemTests.awaitAddress;
import static dev.baton.systemtest.SystemTests.awaitLatest;
import static dev.baton.systemtest.SystemTests.awaitRank;
import static dev.baton.systemtest.SystemTests.echoClient;
import static dev.baton.systemtest.SystemTests.freePort;
import static dev.baton.systemtest.SystemTests.joinTestNode;
import static dev.baton.systemtest.SystemTests.log;
import static dev.baton.systemtest.SystemTests.msSince;
import static dev.baton.systemtest.SystemTests.nodesLine;
import static dev.baton.systemtest.SystemTests.startServer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The master is SIGKILLed and restarted on the same port while a node calls two servers: calls go on
 * meanwhile (the last membership stays in use), and every node rejoins the new master with its old rank
 * and its servers' old ids.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class MasterRestartTest {

    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(2);
    /** What a blocked call may take beyond its deadline. */
    private static final Duration DEADLINE_SLACK = Duration.ofSeconds(1);
    /** How long the master stays dead while calls are watched. */
    private static final Duration MASTER_DOWN = Duration.ofMillis(2_500);
    /** Nodes reconnect with backoff up to 2 s, so they are all back well within this. */
    private static final Duration REJOIN = Duration.ofSeconds(5);
    private static final int CALLS_PER_PHASE = 300;

    @AfterEach
    void leavesNoProcessOrThreadBehind() {
        LeakCheck.assertNothingLeftBehind("echo-load-");
    }

    @Test
    void callsContinueWhileTheMasterIsDownAndEveryNodeRejoinsItsSuccessorWithItsRank() throws Exception {
        String address = "127.0.0.1:" + freePort();
        try (SystemTests.ChildGroup children = new SystemTests.ChildGroup()) {
            ChildJvm master = children.add(ChildJvm.start("master", MasterMain.class, address));
            assertEquals(address, awaitAddress(master), "the master listens where it was told");
            ChildJvm server0 = children.add(startServer("echo-0", address));
            ChildJvm server1 = children.add(startServer("echo-1", address));
            int rank0 = awaitRank(server0);
            int rank1 = awaitRank(server1);

            try (Node node = joinTestNode(address)) {
                int testRank = node.rank();
                Client echo = echoClient(node, CALL_TIMEOUT);
                List<ServerInfo> servers = echo.awaitServers(2, STARTUP);
                String nodes = nodesLine(rank0, rank1, testRank);
                String serversLine = MasterMain.serversLine(EchoServerMain.SERVICE, servers);
                awaitLatest(master, nodes, STARTUP);
                awaitLatest(master, serversLine, STARTUP);

                try (EchoLoad load = EchoLoad.start(echo, 2)) {
                    Wait.until(() -> load.succeeded.sum() >= CALLS_PER_PHASE, STARTUP, load::toString);

                    // The master dies: the nodes keep their membership and their connections to each other.
                    long succeededAtKill = load.succeeded.sum();
                    long killNs = System.nanoTime();
                    master.kill();
                    Wait.until(() -> msSince(killNs) >= MASTER_DOWN.toMillis()
                                    && load.succeeded.sum() >= succeededAtKill + CALLS_PER_PHASE,
                            MASTER_DOWN.plus(STARTUP), load::toString);
                    log("master down for %d ms: %s", msSince(killNs), load);
                    assertEquals(0, load.failed(), "calls failed while the master was down: " + load);
                    assertEquals(List.of(rank0, rank1, testRank).stream().sorted().toList(),
                            node.membership().nodes().stream().map(NodeInfo::rank).toList(),
                            "the test node's view while the master is down");

                    // A new master on the same port: every node rejoins with its rank, every server with its id.
                    ChildJvm successor = children.add(ChildJvm.start("master-2", MasterMain.class, address));
                    awaitAddress(successor);
                    long readyNs = System.nanoTime();
                    long succeededAtRestart = load.succeeded.sum();
                    awaitLatest(successor, nodes, REJOIN);
                    awaitLatest(successor, serversLine, REJOIN.minus(Duration.ofNanos(System.nanoTime() - readyNs)));
                    log("all nodes and servers back %d ms after the new master was ready (%d ms after the kill)",
                            msSince(readyNs), msSince(killNs));
                    assertEquals(testRank, node.rank(), "the test node's rank after rejoining");
                    Wait.until(() -> echo.servers().equals(servers), REJOIN,
                            () -> "the test node sees " + echo.servers() + ", expected " + servers);

                    Wait.until(() -> load.succeeded.sum() >= succeededAtRestart + CALLS_PER_PHASE, STARTUP,
                            load::toString);
                    load.stop(CALL_TIMEOUT.plus(DEADLINE_SLACK));
                    log("load: %s", load);
                    assertEquals(0, load.failed(), "calls failed: " + load);
                    assertTrue(load.longestCallNs.get() <= CALL_TIMEOUT.plus(DEADLINE_SLACK).toNanos(),
                            "a call took " + load.longestCallNs.get() / 1_000_000 + " ms");
                }
            }
            for (ChildJvm server : List.of(server0, server1)) {
                server.closeStdin();
                assertEquals(0, server.awaitExit(STARTUP), server.name() + " exit code");
            }
        }
    }
}
