package dev.baton.systemtest;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.ClientStream;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.Status;
import dev.baton.testkit.ChildJvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.baton.systemtest.SystemTests.STARTUP;
import static dev.baton.systemtest.SystemTests.assertEchoes;
import static dev.baton.systemtest.SystemTests.awaitAddress;
import static dev.baton.systemtest.SystemTests.awaitRank;
import static dev.baton.systemtest.SystemTests.echoClient;
import static dev.baton.systemtest.SystemTests.joinTestNode;
import static dev.baton.systemtest.SystemTests.log;
import static dev.baton.systemtest.SystemTests.msSince;
import static dev.baton.systemtest.SystemTests.nodesExactly;
import static dev.baton.systemtest.SystemTests.startServer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Master, servers and clients as separate JVMs ({@link ChildJvm}), talking over loopback TCP. The test JVM
 * joins as a node itself where a test needs to watch the membership and make calls.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MultiProcessTest {

    private static final Duration MEMBERSHIP_CHANGE = Duration.ofSeconds(10);
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);
    /** What a blocked call may take beyond its deadline (the runtime's timer grace plus scheduling). */
    private static final Duration DEADLINE_SLACK = Duration.ofSeconds(2);

    @AfterEach
    void leavesNoProcessOrThreadBehind() {
        LeakCheck.assertNothingLeftBehind("echo-load-");
    }

    @Test
    void tenThousandCallsBetweenSeparateProcessesAllEchoIntact() throws Exception {
        try (ChildJvm master = ChildJvm.start("master", MasterMain.class)) {
            String address = awaitAddress(master);
            try (ChildJvm server = startServer("echo-server", address)) {
                awaitRank(server);
                try (ChildJvm client = ChildJvm.start("client", ClientMain.class, address, "10000", "20240607")) {
                    assertEquals("DONE ok=10000 failed=0",
                            client.awaitLine(line -> line.startsWith("DONE "), Duration.ofSeconds(150)));
                    assertEquals(0, client.awaitExit(MEMBERSHIP_CHANGE), "client exit code");
                }
                server.closeStdin();
                String served = server.awaitLine(line -> line.startsWith("SERVED "), MEMBERSHIP_CHANGE);
                long requests = Long.parseLong(served.substring("SERVED ".length()));
                assertTrue(requests >= 10_000, "server handled only " + requests + " requests");
                assertEquals(0, server.awaitExit(MEMBERSHIP_CHANGE), "server exit code");
            }
        }
    }

    @Test
    void aNodeThatClosesLeavesTheMembershipOfEveryOtherNode() throws Exception {
        try (ChildJvm master = ChildJvm.start("master", MasterMain.class)) {
            String address = awaitAddress(master);
            try (ChildJvm leaving = startServer("echo-leaving", address);
                 ChildJvm staying = startServer("echo-staying", address)) {
                int leavingRank = awaitRank(leaving);
                int stayingRank = awaitRank(staying);
                try (Node node = joinTestNode(address)) {
                    Client echo = echoClient(node, CALL_TIMEOUT);
                    echo.awaitServers(2, STARTUP);
                    master.awaitLine(nodesExactly(leavingRank, stayingRank, node.rank()), STARTUP);
                    staying.awaitLine(nodesExactly(leavingRank, stayingRank, node.rank()), STARTUP);
                    assertEchoes(echo, 100);

                    // A graceful close loses nothing: calls in flight to the leaving node are answered, and
                    // no new call is sent to it once it said GOAWAY.
                    try (EchoLoad load = EchoLoad.start(echo, 4)) {
                        Wait.until(() -> load.succeeded.sum() >= 300, STARTUP, load::toString);
                        long stopNs = System.nanoTime();
                        leaving.closeStdin();
                        leaving.awaitLine(line -> line.startsWith("SERVED "), MEMBERSHIP_CHANGE);
                        assertEquals(0, leaving.awaitExit(MEMBERSHIP_CHANGE), "exit code of the closed server");

                        Wait.until(() -> node.membership().node(leavingRank).isEmpty() && echo.servers().size() == 1,
                                MEMBERSHIP_CHANGE, () -> "test node still sees " + node.membership());
                        log("test node lost rank %d %d ms after its stdin closed", leavingRank, msSince(stopNs));
                        long succeededAtDrop = load.succeeded.sum();
                        Wait.until(() -> load.succeeded.sum() >= succeededAtDrop + 300, MEMBERSHIP_CHANGE,
                                load::toString);
                        load.stop(CALL_TIMEOUT.plus(DEADLINE_SLACK));
                        log("load: %s", load);
                        assertEquals(0, load.unavailable.sum(), "calls failed during a graceful close: " + load);
                        assertEquals(List.of(), List.copyOf(load.unexpected), "unexpected outcomes");
                    }
                    master.awaitLine(nodesExactly(stayingRank, node.rank()), MEMBERSHIP_CHANGE);
                    staying.awaitLine(nodesExactly(stayingRank, node.rank()), MEMBERSHIP_CHANGE);
                    assertEquals(stayingRank, echo.servers().getFirst().rank());
                    assertEchoes(echo, 200);
                }
            }
        }
    }

    @Test
    void aStreamWhoseServerIsKilledFailsUnavailableAndIsNotSentElsewhere() throws Exception {
        try (ChildJvm master = ChildJvm.start("master", MasterMain.class)) {
            String address = awaitAddress(master);
            try (ChildJvm victim = startServer("echo-stream-victim", address);
                 ChildJvm other = startServer("echo-stream-other", address)) {
                int victimRank = awaitRank(victim);
                awaitRank(other);
                try (Node node = joinTestNode(address)) {
                    Client echo = echoClient(node, Duration.ofSeconds(60));
                    echo.awaitServers(2, STARTUP);
                    try (ClientStream stream = echo.openStream(EchoServerMain.ECHO_STREAM,
                            echo.options().withRank(victimRank))) {
                        for (int i = 0; i < 100; i++) {
                            stream.send(new byte[]{(byte) i});
                            try (Message m = stream.receive()) {
                                assertEquals((byte) i, m.getByte(0));
                            }
                        }
                        long killNs = System.nanoTime();
                        victim.kill();
                        BatonException e = assertThrows(BatonException.class, () -> {
                            for (int i = 0; i < 1_000_000; i++) {       // bounded; the stream fails long before
                                stream.send(new byte[]{1});
                                stream.receive().close();
                            }
                        });
                        log("the stream failed %d ms after SIGKILL: %s", msSince(killNs), e.status());
                        assertEquals(Status.Code.UNAVAILABLE, e.code());
                        assertTrue(!e.status().retrySafe(), "messages were delivered: not known safe to repeat");
                        assertTrue(msSince(killNs) < 10_000, "found within the keepalive timeout");
                    }
                }
            }
        }
    }

    @Test
    void aKilledNodeIsDroppedAndCallsContinueOnTheOtherServer() throws Exception {
        try (ChildJvm master = ChildJvm.start("master", MasterMain.class)) {
            String address = awaitAddress(master);
            try (ChildJvm victim = startServer("echo-victim", address);
                 ChildJvm survivor = startServer("echo-survivor", address)) {
                int victimRank = awaitRank(victim);
                int survivorRank = awaitRank(survivor);
                try (Node node = joinTestNode(address)) {
                    Client echo = echoClient(node, CALL_TIMEOUT);
                    echo.awaitServers(2, STARTUP);
                    master.awaitLine(nodesExactly(victimRank, survivorRank, node.rank()), STARTUP);

                    try (EchoLoad load = EchoLoad.start(echo, 4)) {
                        Wait.until(() -> load.succeeded.sum() >= 500, STARTUP, load::toString);
                        long killNs = System.nanoTime();
                        victim.kill();
                        master.awaitLine(nodesExactly(survivorRank, node.rank()), MEMBERSHIP_CHANGE);
                        log("master dropped rank %d %d ms after SIGKILL", victimRank, msSince(killNs));
                        Wait.until(() -> node.membership().node(victimRank).isEmpty() && echo.servers().size() == 1,
                                MEMBERSHIP_CHANGE, () -> "test node still sees " + node.membership());
                        long droppedNs = System.nanoTime();
                        log("test node dropped rank %d %d ms after SIGKILL", victimRank, msSince(killNs));

                        long succeededAtDrop = load.succeeded.sum();
                        Wait.until(() -> load.succeeded.sum() >= succeededAtDrop + 500, MEMBERSHIP_CHANGE,
                                load::toString);
                        load.stop(CALL_TIMEOUT.plus(DEADLINE_SLACK));
                        log("load: %s", load);

                        assertEquals(List.of(), List.copyOf(load.unexpected),
                                "outcomes other than success or UNAVAILABLE");
                        assertTrue(load.longestCallNs.get() <= CALL_TIMEOUT.plus(DEADLINE_SLACK).toNanos(),
                                "a call took " + load.longestCallNs.get() / 1_000_000 + " ms, past its deadline");
                        assertEquals(0, load.unavailableStartedAfter(droppedNs),
                                "calls started after the membership dropped the dead node failed: " + load);
                    }
                    assertTrue(survivor.isAlive(), "the surviving server is running");
                    assertEquals(survivorRank, echo.servers().getFirst().rank());
                    assertEchoes(echo, 200);
                }
            }
        }
    }
}
