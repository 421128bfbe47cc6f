package dev.baton.systemtest;

import dev.baton.testkit.ChildJvm;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.LongStream;

import static dev.baton.systemtest.SystemTests.STARTUP;
import static dev.baton.systemtest.SystemTests.awaitRank;
import static dev.baton.systemtest.SystemTests.log;
import static dev.baton.systemtest.SystemTests.msSince;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * prpc's {@code tcp_master_client_test} coordination cases (Barrier, MTLock, GenerateID, and a lock whose holder
 * dies), each node a separate JVM ({@link CoordinationMain}), joined through the registry a subclass starts
 * ({@link CoordinationProcessTest}: a master JVM, or a ZooKeeper server JVM).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
abstract class CoordinationScenarios {

    /** Starts the registry (as child JVMs) and returns where nodes join it: {@code host:port} or {@code zk:...}. */
    abstract String startRegistry(SystemTests.ChildGroup children) throws Exception;


    private static final int BARRIER_PROCESSES = 5;
    private static final int LOCK_PROCESSES = 4;
    private static final int LOCK_ACQUISITIONS = 10;
    /** How long a scenario may take once started (they take well under a second when nothing is wrong). */
    private static final Duration SCENARIO = Duration.ofSeconds(30);
    private static final Duration EXIT = Duration.ofSeconds(10);
    /** How long the waiter is watched to not get a lock its live holder has. */
    private static final Duration HELD_ELSEWHERE = Duration.ofSeconds(1);
    /**
     * The master sees the holder's connection close at once (its lease, 3 s, is the fallback); ZooKeeper waits
     * for the holder's session to expire (3 s in these tests).
     */
    private static final Duration RELEASE_AFTER_KILL = Duration.ofSeconds(8);
    private static final Duration WAITER_TIMEOUT = Duration.ofSeconds(20);

    @AfterEach
    void leavesNoProcessOrThreadBehind() {
        LeakCheck.assertNothingLeftBehind();
    }

    @Test
    void noProcessPassesABarrierRoundBeforeAllFiveArrived() throws Exception {
        long seed = System.nanoTime();
        log("jitter seed %d", seed);
        try (SystemTests.ChildGroup children = new SystemTests.ChildGroup()) {
            String address = startRegistry(children);
            List<ChildJvm> nodes = new ArrayList<>();
            for (int i = 0; i < BARRIER_PROCESSES; i++) {
                nodes.add(children.add(ChildJvm.start("barrier-" + i, CoordinationMain.class, address, "barrier",
                        Long.toString(seed + i))));
            }
            awaitReadyThenGo(nodes);
            for (ChildJvm node : nodes) {
                node.awaitLine("DONE"::equals, SCENARIO);
            }

            int rounds = CoordinationMain.ROUNDS.size();
            for (int r = 0; r < rounds; r++) {
                List<Long> arrivals = new ArrayList<>();
                List<Long> passes = new ArrayList<>();
                for (ChildJvm node : nodes) {
                    arrivals.add(timestamp(node, "ARRIVE " + r + " "));
                    passes.add(timestamp(node, "PASS " + r + " "));
                }
                long lastArrival = arrivals.stream().mapToLong(Long::longValue).max().orElseThrow();
                long firstArrival = arrivals.stream().mapToLong(Long::longValue).min().orElseThrow();
                long firstPass = passes.stream().mapToLong(Long::longValue).min().orElseThrow();
                log("round %d %s: arrivals spread over %d us, first pass %d us after the last arrival", r,
                        CoordinationMain.ROUNDS.get(r), lastArrival - firstArrival, firstPass - lastArrival);
                assertTrue(firstPass >= lastArrival, "round " + r + ": a process passed at " + firstPass
                        + " us, before the last arrival at " + lastArrival + " us; arrivals " + arrivals
                        + ", passes " + passes);
            }
            closeAndAwaitCleanExit(nodes);
        }
    }

    @Test
    void fourProcessesTakingANestedLockTenTimesEachIncrementAFileCounterToExactlyForty(@TempDir Path dir)
            throws Exception {
        Path counter = dir.resolve("counter");
        Files.writeString(counter, "0", StandardCharsets.UTF_8);
        try (SystemTests.ChildGroup children = new SystemTests.ChildGroup()) {
            String address = startRegistry(children);
            List<ChildJvm> nodes = new ArrayList<>();
            for (int i = 0; i < LOCK_PROCESSES; i++) {
                nodes.add(children.add(ChildJvm.start("lock-" + i, CoordinationMain.class, address, "lock",
                        counter.toString(), Integer.toString(LOCK_ACQUISITIONS))));
            }
            long startNs = awaitReadyThenGo(nodes);
            for (ChildJvm node : nodes) {
                node.awaitLine("DONE"::equals, SCENARIO);
            }
            log("%d x %d nested acquisitions in %d ms", LOCK_PROCESSES, LOCK_ACQUISITIONS, msSince(startNs));

            int total = LOCK_PROCESSES * LOCK_ACQUISITIONS;
            // Each increment read the value the previous one wrote: every value 0..39 was read exactly once.
            List<Long> read = nodes.stream().flatMap(n -> n.output().stream())
                    .filter(line -> line.startsWith("INC "))
                    .map(line -> Long.parseLong(line.substring("INC ".length()))).sorted().toList();
            assertEquals(LongStream.range(0, total).boxed().toList(), read, "counter values read under the lock");
            assertEquals(Long.toString(total), Files.readString(counter, StandardCharsets.UTF_8).trim(),
                    "final counter");
            closeAndAwaitCleanExit(nodes);
        }
    }

    @Test
    void idsPerKeyCountFromZeroAcrossProcessesInTheOrderAsked() throws Exception {
        try (SystemTests.ChildGroup children = new SystemTests.ChildGroup()) {
            String address = startRegistry(children);
            ChildJvm a = children.add(ChildJvm.start("ids-a", CoordinationMain.class, address, "ids"));
            ChildJvm b = children.add(ChildJvm.start("ids-b", CoordinationMain.class, address, "ids"));
            awaitRank(a);
            awaitRank(b);

            Map<String, List<Long>> ids = new TreeMap<>();
            assertEquals(0, nextId(a, "key1", ids));
            assertEquals(1, nextId(b, "key1", ids));
            assertEquals(0, nextId(a, "key2", ids));
            assertEquals(2, nextId(a, "key1", ids));
            assertEquals(1, nextId(b, "key2", ids));
            assertEquals(Map.of("key1", List.of(0L, 1L, 2L), "key2", List.of(0L, 1L)), ids, "ids per key");
            closeAndAwaitCleanExit(List.of(a, b));
        }
    }

    @Test
    void aLockIsGrantedToTheWaiterOnlyOnceItsHolderIsKilled() throws Exception {
        try (SystemTests.ChildGroup children = new SystemTests.ChildGroup()) {
            String address = startRegistry(children);
            ChildJvm holder = children.add(ChildJvm.start("holder", CoordinationMain.class, address, "hold", "L"));
            holder.awaitLine(line -> line.startsWith("HELD "), STARTUP);
            ChildJvm waiter = children.add(ChildJvm.start("waiter", CoordinationMain.class, address, "wait", "L",
                    Long.toString(WAITER_TIMEOUT.toMillis())));
            assertEquals("TRYLOCK false", waiter.awaitLine(line -> line.startsWith("TRYLOCK "), STARTUP),
                    "tryLock of a lock held by a live process");
            waiter.awaitLine(line -> line.startsWith("WAITING "), STARTUP);

            // While its holder lives, the waiter does not get the lock.
            long watchEndNs = System.nanoTime() + HELD_ELSEWHERE.toNanos();
            while (System.nanoTime() - watchEndNs < 0) {
                assertNull(waiter.lastLine("ACQUIRED "), "the waiter got the lock while its holder was alive");
                LockSupport.parkNanos(1_000_000L);
            }
            assertTrue(holder.isAlive(), "the holder is alive");

            long killMicros = CoordinationMain.nowMicros();
            long killNs = System.nanoTime();
            holder.kill();
            String acquired = waiter.awaitLine(line -> line.startsWith("ACQUIRED "), RELEASE_AFTER_KILL);
            long acquiredMicros = Long.parseLong(acquired.substring("ACQUIRED ".length()));
            log("the waiter got the lock %d ms after SIGKILL of its holder (%d ms as the test saw it)",
                    (acquiredMicros - killMicros) / 1_000, msSince(killNs));
            assertTrue(acquiredMicros >= killMicros, "the waiter got the lock at " + acquiredMicros
                    + " us, before its holder was killed at " + killMicros + " us");
            waiter.awaitLine("RELEASED"::equals, EXIT);
            closeAndAwaitCleanExit(List.of(waiter));
        }
    }

    /** Waits for every node's READY, then tells them all to start; returns when they were told. */
    private static long awaitReadyThenGo(List<ChildJvm> nodes) throws InterruptedException {
        for (ChildJvm node : nodes) {
            awaitRank(node);
        }
        long startNs = System.nanoTime();
        for (ChildJvm node : nodes) {
            node.writeLine("go");
        }
        return startNs;
    }

    /** Asks {@code node} for the next id of {@code key}, records it in {@code ids} and returns it. */
    private static long nextId(ChildJvm node, String key, Map<String, List<Long>> ids) throws InterruptedException {
        node.writeLine("next " + key);
        String line = node.awaitLine(l -> l.startsWith("ID " + key + " "), SCENARIO);
        long id = Long.parseLong(line.substring(("ID " + key + " ").length()));
        ids.computeIfAbsent(key, k -> new ArrayList<>()).add(id);
        return id;
    }

    /** The timestamp of {@code node}'s only line that starts with {@code prefix}. */
    private static long timestamp(ChildJvm node, String prefix) {
        List<String> lines = node.output().stream().filter(line -> line.startsWith(prefix)).toList();
        assertEquals(1, lines.size(), node.name() + " lines starting with '" + prefix + "': " + lines);
        return Long.parseLong(lines.getFirst().substring(prefix.length()));
    }

    /** Closes every node's stdin (it closes its node) and checks each exits 0. */
    private static void closeAndAwaitCleanExit(List<ChildJvm> nodes) throws InterruptedException {
        nodes.forEach(ChildJvm::closeStdin);
        for (ChildJvm node : nodes) {
            assertEquals(0, node.awaitExit(EXIT), node.name() + " exit code");
        }
    }
}
