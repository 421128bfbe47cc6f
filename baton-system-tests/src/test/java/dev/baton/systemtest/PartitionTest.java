package dev.baton.systemtest;

import dev.baton.testkit.ChildJvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static dev.baton.systemtest.SystemTests.STARTUP;
import static dev.baton.systemtest.SystemTests.awaitAddress;
import static dev.baton.systemtest.SystemTests.awaitLatest;
import static dev.baton.systemtest.SystemTests.awaitRank;
import static dev.baton.systemtest.SystemTests.log;
import static dev.baton.systemtest.SystemTests.msSince;
import static dev.baton.systemtest.SystemTests.nodesLine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A network partition between a client and its server: the two run in separate network namespaces joined by
 * a veth pair ({@link VethPair}), and the test cuts the link. Calls across it must fail in time with a typed
 * error, and succeed again soon after the link is back; meanwhile the master, on the server's side, drops the
 * client when its lease runs out, and takes it back with its rank once it can reach the master again.
 *
 * <pre>
 *   namespace a: master, echo server     ==== veth ====     namespace b: client (a call every 50 ms)
 * </pre>
 *
 * Needs root for the namespaces; skipped otherwise.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class PartitionTest {

    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(1);
    /** What a call may take beyond its deadline. */
    private static final Duration DEADLINE_SLACK = Duration.ofSeconds(1);
    private static final Duration CALL_INTERVAL = Duration.ofMillis(50);
    /**
     * How long the link stays cut: longer than the data connection's keepalive timeout (5 s) and the master's
     * lease (3 s), so the client sees both calls that time out on a silent connection and calls that fail fast
     * once that connection is declared dead.
     */
    private static final Duration PARTITION = Duration.ofSeconds(7);
    /** The client retries its server with backoff of up to 5 s; it must succeed within this once the link is back. */
    private static final Duration RECOVERY = Duration.ofSeconds(10);
    private static final int CALLS_BEFORE = 20;
    private static final int CALLS_AFTER = 40;
    private static final Set<String> PARTITION_FAILURES = Set.of("DEADLINE_EXCEEDED", "UNAVAILABLE");

    @AfterEach
    void leavesNoProcessThreadOrNamespaceBehind() {
        LeakCheck.assertNothingLeftBehind();
        assertEquals(List.of(), VethPair.leftBehind(), "network namespaces left behind");
    }

    @Test
    void callsAcrossACutLinkFailInTimeAndSucceedOnceItIsBack() throws Exception {
        assumeTrue(isRoot(), "network namespaces need root; this test runs as uid " + uid());
        VethPair link;
        try {
            link = VethPair.create();
        } catch (IllegalStateException | UncheckedIOException e) {
            assumeTrue(false, "cannot create network namespaces and a veth pair here: " + e.getMessage());
            return;
        }
        try (link; SystemTests.ChildGroup children = new SystemTests.ChildGroup()) {
            ChildJvm master = children.add(ChildJvm.start("master", link.execIn(link.a()), MasterMain.class,
                    link.hostA() + ":0"));
            String address = awaitAddress(master);
            ChildJvm server = children.add(ChildJvm.start("echo", link.execIn(link.a()), EchoServerMain.class,
                    address, "--bind", link.hostA()));
            int serverRank = awaitRank(server);
            ChildJvm client = children.add(ChildJvm.start("client", link.execIn(link.b()), ChaosClientMain.class,
                    address, "0", "0", "--threads", "1", "--timeout-ms", String.valueOf(CALL_TIMEOUT.toMillis()),
                    "--interval-ms", String.valueOf(CALL_INTERVAL.toMillis()), "--bind", link.hostB(),
                    "--print-calls"));
            int clientRank = Integer.parseInt(client.awaitLine(line -> line.startsWith("STARTED rank="), STARTUP)
                    .substring("STARTED rank=".length()));
            awaitLatest(master, nodesLine(serverRank, clientRank), STARTUP);
            for (int i = 0; i < CALLS_BEFORE; i++) {
                assertEquals("OK", nextCall(client, STARTUP).outcome(), "call before the partition");
            }

            // Cut: once the first call fails, every call fails, each within its deadline, until the link is back.
            long cutNs = System.nanoTime();
            link.cut();
            Call call = nextCall(client, CALL_TIMEOUT.plus(DEADLINE_SLACK).plus(CALL_TIMEOUT));
            while (call.outcome().equals("OK")) {      // calls that completed before the cut took effect
                assertTrue(msSince(cutNs) <= CALL_TIMEOUT.plus(DEADLINE_SLACK).toMillis(),
                        "calls still succeed " + msSince(cutNs) + " ms after the link was cut: " + call);
                call = nextCall(client, CALL_TIMEOUT.plus(DEADLINE_SLACK).plus(CALL_TIMEOUT));
            }
            log("first call failed %d ms after the cut", msSince(cutNs));
            Map<String, Integer> failures = new TreeMap<>();
            while (true) {
                assertFailedInTime(call);
                failures.merge(call.outcome(), 1, Integer::sum);
                if (msSince(cutNs) >= PARTITION.toMillis()) {
                    break;
                }
                call = nextCall(client, CALL_TIMEOUT.plus(DEADLINE_SLACK).plus(CALL_TIMEOUT));
            }
            log("during the %d ms partition: %s", msSince(cutNs), failures);
            // The client's lease ran out meanwhile (it is cut off from the master too).
            awaitLatest(master, nodesLine(serverRank), Duration.ofSeconds(1));

            // Restore: calls may fail a little longer (backoff), then succeed again.
            long restoreNs = System.nanoTime();
            link.restore();
            call = nextCall(client, RECOVERY);
            while (!call.outcome().equals("OK")) {
                assertFailedInTime(call);
                assertTrue(msSince(restoreNs) <= RECOVERY.toMillis(),
                        "no call succeeded within " + RECOVERY.toMillis() + " ms of restoring the link; last: " + call);
                call = nextCall(client, RECOVERY);
            }
            log("first call succeeded %d ms after the link was restored", msSince(restoreNs));
            awaitLatest(master, nodesLine(serverRank, clientRank), RECOVERY);
            log("the client rejoined with its rank %d ms after the link was restored", msSince(restoreNs));
            for (int i = 0; i < CALLS_AFTER; i++) {
                assertEquals("OK", nextCall(client, CALL_TIMEOUT.plus(DEADLINE_SLACK).plus(CALL_INTERVAL)).outcome(),
                        "call after recovery");
            }

            client.closeStdin();
            Map<String, Long> done = ChaosClientMain.doneFields(client.awaitLine(line -> line.startsWith("DONE "),
                    STARTUP));
            assertEquals(0, client.awaitExit(STARTUP), "client exit code");
            assertEquals(0, done.get("late"), "calls past their deadline: " + done);
            server.closeStdin();
            assertEquals(0, server.awaitExit(STARTUP), "server exit code");
        }
    }

    /** One {@code CALL n OUTCOME ms} line. */
    private record Call(int number, String outcome, long ms) {
    }

    private static Call nextCall(ChildJvm client, Duration timeout) throws InterruptedException {
        String[] f = client.awaitLine(line -> line.startsWith("CALL "), timeout).split(" ");
        return new Call(Integer.parseInt(f[1]), f[2], Long.parseLong(f[3]));
    }

    private static void assertFailedInTime(Call call) {
        assertTrue(PARTITION_FAILURES.contains(call.outcome()), "a call across the cut link ended with " + call);
        assertTrue(call.ms() <= CALL_TIMEOUT.plus(DEADLINE_SLACK).toMillis(), "a call took too long: " + call);
    }

    private static boolean isRoot() {
        return "0".equals(uid());
    }

    private static String uid() {
        try {
            return VethPair.run("id", "-u").strip();
        } catch (RuntimeException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }
}
