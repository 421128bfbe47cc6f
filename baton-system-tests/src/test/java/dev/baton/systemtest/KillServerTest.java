package dev.baton.systemtest;

import dev.baton.testkit.ChildJvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static dev.baton.systemtest.SystemTests.STARTUP;
import static dev.baton.systemtest.SystemTests.awaitAddress;
import static dev.baton.systemtest.SystemTests.awaitRank;
import static dev.baton.systemtest.SystemTests.log;
import static dev.baton.systemtest.SystemTests.msSince;
import static dev.baton.systemtest.SystemTests.startServer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * prpc's {@code killserver}: clients call the echo service while its servers are SIGKILLed at random and
 * replaced. Every call must end (with its response or a typed error) by its deadline, the idempotent ones
 * must almost all succeed (they are retried on another server), and no other call may run twice.
 *
 * <p>Who ran what: each server appends the id of every request it executes to its own file before it
 * answers ({@link EchoServerMain} {@code --executions}); each client writes how each of its calls ended
 * ({@link ChaosClientMain} {@code --outcomes}). The test merges them after the run.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class KillServerTest {

    private static final int CLIENTS = 2;
    private static final int THREADS_PER_CLIENT = 2;
    private static final int CALLS_PER_THREAD = 20_000;
    private static final int CALLS_PER_CLIENT = THREADS_PER_CLIENT * CALLS_PER_THREAD;
    /**
     * The clients spread their calls over at least this long, so that the servers can be killed and replaced
     * {@link #MIN_KILLS} times while they call (a replacement JVM needs about a second to start on 2 cores,
     * while unpaced the calls would be over in a few seconds).
     */
    private static final Duration LOAD_DURATION = Duration.ofSeconds(30);
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(2);
    private static final int MIN_KILLS = 20;
    /** Servers kept registered at all times; a replacement is READY before one of them is killed. */
    private static final int SERVERS_UP = 2;
    private static final Duration MAX_PAUSE_BEFORE_KILL = Duration.ofMillis(300);
    private static final double MIN_IDEMPOTENT_SUCCESS = 0.999;
    private static final Set<String> DONE_COUNTERS = Set.of("calls", "ok", "idempotentOk", "idempotentFailed",
            "otherOk", "otherFailed", "late", "maxMs");
    /**
     * How a call may fail when its server dies: UNAVAILABLE (its connection broke after it was sent; an idempotent
     * call only if no other server could take it in time) or DEADLINE_EXCEEDED (no answer in time).
     */
    private static final Set<String> EXPECTED_FAILURES = Set.of("UNAVAILABLE", "DEADLINE_EXCEEDED");

    @TempDir
    Path records;

    @AfterEach
    void leavesNoProcessOrThreadBehind() {
        LeakCheck.assertNothingLeftBehind();
    }

    @Test
    void idempotentCallsSurviveServersKilledAtRandomAndNoOtherCallRunsTwice() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        log("chaos seed %d", seed);
        List<Path> executionFiles = new ArrayList<>();
        try (SystemTests.ChildGroup children = new SystemTests.ChildGroup()) {
            ChildJvm master = children.add(ChildJvm.start("master", MasterMain.class));
            String address = awaitAddress(master);
            List<ChildJvm> up = new ArrayList<>();
            for (int i = 0; i < SERVERS_UP; i++) {
                up.add(children.add(startRecordingServer(address, executionFiles)));
            }
            for (ChildJvm server : up) {
                awaitRank(server);
            }

            List<ChildJvm> clients = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                clients.add(children.add(ChildJvm.start("client-" + c, ChaosClientMain.class, address,
                        String.valueOf(c), String.valueOf(CALLS_PER_CLIENT),
                        "--threads", String.valueOf(THREADS_PER_CLIENT),
                        "--timeout-ms", String.valueOf(CALL_TIMEOUT.toMillis()),
                        "--min-duration-ms", String.valueOf(LOAD_DURATION.toMillis()),
                        "--outcomes", outcomesFile(c).toString())));
            }
            for (ChildJvm client : clients) {
                client.awaitLine(line -> line.startsWith("STARTED "), STARTUP);
            }
            long loadStartNs = System.nanoTime();

            // Chaos: start a replacement, wait until it serves, kill one of the servers at random.
            int kills = 0;
            int killsWhileCalling = 0;
            while (!allDone(clients) && clients.stream().allMatch(ChildJvm::isAlive)) {
                ChildJvm fresh = children.add(startRecordingServer(address, executionFiles));
                awaitRank(fresh);
                up.add(fresh);
                LockSupport.parkNanos(random.nextLong(MAX_PAUSE_BEFORE_KILL.toNanos()));
                ChildJvm victim = up.remove(random.nextInt(up.size()));
                victim.kill();
                kills++;
                if (!allDone(clients)) {
                    killsWhileCalling++;
                }
            }
            log("%d servers killed, %d of them while the clients were calling, in %d ms", kills, killsWhileCalling,
                    msSince(loadStartNs));

            List<Map<String, Long>> results = new ArrayList<>();
            for (ChildJvm client : clients) {
                String done = client.awaitLine(line -> line.startsWith("DONE "), LOAD_DURATION.plus(STARTUP));
                assertEquals(0, client.awaitExit(STARTUP), client.name() + " exit code");
                results.add(ChaosClientMain.doneFields(done));
            }
            long elapsedMs = msSince(loadStartNs);
            for (ChildJvm server : up) {
                server.closeStdin();
                assertEquals(0, server.awaitExit(STARTUP), server.name() + " exit code");
            }
            log("%d calls in %d ms: %s", CLIENTS * CALLS_PER_CLIENT, elapsedMs, results);

            assertTrue(killsWhileCalling >= MIN_KILLS, "only " + killsWhileCalling + " of " + kills
                    + " kills happened while the clients were calling; the test needs " + MIN_KILLS);
            assertClientResults(results);
            assertExecutions(readExecutions(executionFiles));
        }
    }

    private ChildJvm startRecordingServer(String address, List<Path> executionFiles) {
        Path file = records.resolve("executions-" + executionFiles.size() + ".bin");
        executionFiles.add(file);
        return startServer("echo-" + (executionFiles.size() - 1), address, "--executions", file.toString());
    }

    private Path outcomesFile(int client) {
        return records.resolve("outcomes-" + client + ".bin");
    }

    private static boolean allDone(List<ChildJvm> clients) {
        return clients.stream().allMatch(c -> c.output().stream().anyMatch(line -> line.startsWith("DONE ")));
    }

    /** Every call ended in time, as a success or an expected failure; idempotent calls almost all succeeded. */
    private static void assertClientResults(List<Map<String, Long>> results) {
        for (Map<String, Long> r : results) {
            assertEquals(CALLS_PER_CLIENT, r.get("calls"), "calls made: " + r);
            assertEquals(CALLS_PER_CLIENT, r.get("idempotentOk") + r.get("idempotentFailed") + r.get("otherOk")
                    + r.get("otherFailed"), "calls that ended: " + r);
            assertEquals(0, r.get("late"), "calls that returned more than " + ChaosClientMain.LATE_SLACK_MS
                    + " ms after their deadline: " + r);
            for (String key : r.keySet()) {
                assertTrue(DONE_COUNTERS.contains(key) || EXPECTED_FAILURES.contains(key),
                        "unexpected outcome " + key + ": " + r);
            }
            double idempotentSuccess = (double) r.get("idempotentOk") / (r.get("idempotentOk")
                    + r.get("idempotentFailed"));
            assertTrue(idempotentSuccess >= MIN_IDEMPOTENT_SUCCESS, String.format(
                    "idempotent calls succeeded %.3f %% of the time, less than %.1f %%: %s",
                    100 * idempotentSuccess, 100 * MIN_IDEMPOTENT_SUCCESS, r));
        }
    }

    /** How many times each request id was executed, over every server that ever ran. */
    private static Map<Long, Integer> readExecutions(List<Path> files) throws IOException {
        Map<Long, Integer> executions = new HashMap<>();
        long records = 0;
        for (Path file : files) {
            if (!Files.exists(file)) {
                continue;   // killed before it executed anything
            }
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
            while (b.remaining() >= Long.BYTES) {
                executions.merge(b.getLong(), 1, Integer::sum);
                records++;
            }
        }
        log("%d executions of %d distinct requests recorded by %d servers", records, executions.size(), files.size());
        return executions;
    }

    /** No non-idempotent request ran twice, and every call that got its response was executed. */
    private void assertExecutions(Map<Long, Integer> executions) throws IOException {
        List<String> twice = new ArrayList<>();
        Map<Integer, Integer> idempotentRuns = new TreeMap<>();
        for (Map.Entry<Long, Integer> e : executions.entrySet()) {
            long id = e.getKey();
            if (ChaosClientMain.isIdempotent(id)) {
                idempotentRuns.merge(e.getValue(), 1, Integer::sum);
            } else if (e.getValue() > 1) {
                twice.add("client " + ChaosClientMain.clientOf(id) + " call " + ChaosClientMain.callOf(id) + " ran "
                        + e.getValue() + " times");
            }
        }
        log("idempotent requests by number of executions: %s", idempotentRuns);
        assertEquals(List.of(), twice.stream().limit(20).toList(),
                twice.size() + " non-idempotent requests ran more than once");

        List<String> unexecuted = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            byte[] outcomes = Files.readAllBytes(outcomesFile(c));
            assertEquals(CALLS_PER_CLIENT, outcomes.length, "outcomes of client " + c);
            for (int i = 0; i < outcomes.length; i++) {
                boolean idempotent = i % 2 == 0;
                if (outcomes[i] == 0 && !executions.containsKey(ChaosClientMain.requestId(c, i, idempotent))) {
                    unexecuted.add("client " + c + " call " + i);
                }
            }
        }
        if (!unexecuted.isEmpty()) {
            fail(unexecuted.size() + " calls succeeded but no server recorded running them: "
                    + unexecuted.stream().limit(20).toList());
        }
    }
}
