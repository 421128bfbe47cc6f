package dev.baton.systemtest;

import dev.baton.testkit.ChildJvm;
import dev.baton.Client;
import dev.baton.Node;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static dev.baton.systemtest.SystemTests.STARTUP;
import static dev.baton.systemtest.SystemTests.assertEchoes;
import static dev.baton.systemtest.SystemTests.awaitAddress;
import static dev.baton.systemtest.SystemTests.awaitLatest;
import static dev.baton.systemtest.SystemTests.awaitRank;
import static dev.baton.systemtest.SystemTests.echoClient;
import static dev.baton.systemtest.SystemTests.joinTestNode;
import static dev.baton.systemtest.SystemTests.log;
import static dev.baton.systemtest.SystemTests.msSince;
import static dev.baton.systemtest.SystemTests.nodesLine;
import static dev.baton.systemtest.SystemTests.startServer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * prpc's {@code killclient}: client processes are SIGKILLed at random while they call two servers. The
 * servers must not notice beyond losing those connections: they keep serving, end up with no connection and
 * no thread more than they started with, and shut down cleanly.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KillClientTest {

    private static final int SERVERS = 2;
    private static final int CLIENTS = 20;
    /** Clients running (starting, joining or calling) at the same time. */
    private static final int CLIENTS_AT_ONCE = 4;
    /** One victim in this many is killed as soon as it joined, before it necessarily made a call. */
    private static final int KILL_EARLY_ONE_IN = 4;
    private static final Duration MAX_CALLING_BEFORE_KILL = Duration.ofMillis(500);
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration MEMBERSHIP_CHANGE = Duration.ofSeconds(10);
    private static final int FRESH_CALLS = 100;
    /** The node's membership-event thread, started with the first event, so it may be missing at READY. */
    private static final String LAZY_THREAD_PREFIX = "baton-events-";

    @AfterEach
    void leavesNoProcessOrThreadBehind() {
        LeakCheck.assertNothingLeftBehind();
    }

    @Test
    void serversSurviveClientsKilledWhileCallingAndShutDownWithoutLeaks() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        log("chaos seed %d", seed);
        try (SystemTests.ChildGroup children = new SystemTests.ChildGroup()) {
            ChildJvm master = children.add(ChildJvm.start("master", MasterMain.class));
            String address = awaitAddress(master);
            List<ChildJvm> servers = new ArrayList<>();
            for (int i = 0; i < SERVERS; i++) {
                servers.add(children.add(startServer("echo-" + i, address, "--leak-report")));
            }
            int[] serverRanks = new int[SERVERS];
            List<List<String>> threadsAtStart = new ArrayList<>();
            for (int i = 0; i < SERVERS; i++) {
                serverRanks[i] = awaitRank(servers.get(i));
                threadsAtStart.add(threadNames(servers.get(i).awaitLine(line -> line.startsWith("THREADS "),
                        STARTUP)));
            }

            long chaosStartNs = System.nanoTime();
            List<ChildJvm> running = new ArrayList<>();
            int killedCalling = 0;
            for (int c = 0; c < CLIENTS || !running.isEmpty(); ) {
                if (c < CLIENTS && running.size() < CLIENTS_AT_ONCE) {
                    running.add(children.add(ChildJvm.start("doomed-client-" + c, ChaosClientMain.class, address,
                            String.valueOf(c), "0", "--timeout-ms", String.valueOf(CALL_TIMEOUT.toMillis()))));
                    c++;
                    continue;
                }
                ChildJvm victim = running.remove(random.nextInt(running.size()));
                victim.awaitLine(line -> line.startsWith("STARTED "), STARTUP);
                if (random.nextInt(KILL_EARLY_ONE_IN) != 0) {
                    victim.awaitLine("CALLING"::equals, STARTUP);
                    LockSupport.parkNanos(random.nextLong(MAX_CALLING_BEFORE_KILL.toNanos()));
                    killedCalling++;
                }
                victim.kill();
            }
            log("%d clients killed (%d of them while calling) in %d ms", CLIENTS, killedCalling,
                    msSince(chaosStartNs));

            // Every client is gone from the membership, as the master and the servers see it.
            awaitLatest(master, nodesLine(serverRanks), MEMBERSHIP_CHANGE);
            for (ChildJvm server : servers) {
                awaitLatest(server, nodesLine(serverRanks), MEMBERSHIP_CHANGE);
            }

            // The servers still serve: a fresh client's calls all succeed, on both of them.
            try (Node node = joinTestNode(address)) {
                Client echo = echoClient(node, CALL_TIMEOUT);
                assertEquals(SERVERS, echo.awaitServers(SERVERS, STARTUP).size(), "servers of " + echo.service());
                assertEchoes(echo, FRESH_CALLS);
                assertEquals(FRESH_CALLS, node.stats().callsSucceeded(), "calls of the fresh client: " + node.stats());
            }

            // Once every client is gone, the servers hold no connection and no extra thread, and exit cleanly.
            for (int i = 0; i < SERVERS; i++) {
                ChildJvm server = servers.get(i);
                server.closeStdin();
                String served = server.awaitLine(line -> line.startsWith("SERVED "), STARTUP);
                long requests = Long.parseLong(served.substring("SERVED ".length()));
                assertTrue(requests > 0, server.name() + " served no request");
                String idle = server.awaitLine(line -> line.startsWith("IDLE "), STARTUP);
                assertEquals(0, intField(idle, "connections"), server.name() + " kept connections: " + idle);
                List<String> extra = new ArrayList<>(threadNames(idle));
                extra.removeAll(threadsAtStart.get(i));
                extra.removeIf(name -> name.startsWith(LAZY_THREAD_PREFIX));
                assertEquals(List.of(), extra, server.name() + " has threads it did not start with: " + idle
                        + ", at start: " + threadsAtStart.get(i));
                String closed = server.awaitLine(line -> line.startsWith("CLOSED "), STARTUP);
                assertEquals(0, intField(closed, "batonThreads"), server.name() + " threads after close: " + closed);
                assertEquals(0, server.awaitExit(STARTUP), server.name() + " exit code");
            }
        }
    }

    /** The {@code [name, ...]} list that ends a THREADS, IDLE or CLOSED line. */
    private static List<String> threadNames(String line) {
        String list = line.substring(line.indexOf('[') + 1, line.lastIndexOf(']'));
        return list.isEmpty() ? List.of() : List.of(list.split(", "));
    }

    /** The integer value of {@code name=} in a line of {@code name=value} fields. */
    private static int intField(String line, String name) {
        for (String field : line.split(" ")) {
            if (field.startsWith(name + "=")) {
                return Integer.parseInt(field.substring(name.length() + 1));
            }
        }
        throw new AssertionError("no " + name + "= in '" + line + "'");
    }
}
