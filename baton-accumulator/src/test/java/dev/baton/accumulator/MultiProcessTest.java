package dev.baton.accumulator;

import dev.baton.testkit.ChildJvm;
import dev.baton.Master;
import dev.baton.zookeeper.LocalZooKeeper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * prpc's accumulator_test with every rank in its own JVM ({@link RankMain}), and the server's process killed
 * with SIGKILL. The master runs in this JVM; the test is the barrier between phases.
 */
@Timeout(180)
class MultiProcessTest {

    static final Duration STEP = Duration.ofSeconds(90);

    /** Repeats of the whole scenario, as prpc's test (each repeat uses fresh names). */
    static final int REPEATS = 10;

    private final List<ChildJvm> children = new ArrayList<>();
    private Master master;
    /** Where the ranks join when not the master: {@code zk:CONNECT/ROOT}. */
    private String registry;

    @BeforeAll
    static void registerTypes() {
        Scenario.registerTypes();
    }

    @AfterEach
    void cleanUp() {
        children.forEach(ChildJvm::close);
        children.forEach(c -> assertTrue(!c.isAlive(), c + " still running"));
        if (master != null) {
            master.close();
        }
    }

    @ParameterizedTest(name = "N = {0}")
    @ValueSource(ints = {1, 3, 5, 8})
    void prpcAccumulatorTest(int n) throws Exception {
        if (n == 1) {
            inProcess();
            return;
        }
        master = Master.start(0);
        Map<Integer, ChildJvm> ranks = startRanks(n, "DEFAULT");
        for (int k = 0; k < REPEATS; k++) {
            for (String phase : Scenario.WRITE_PHASES) {
                everyone(ranks, "WRITE " + phase + " " + k);
            }
            Map<String, String> expected = Scenario.expected(n, k);
            Map<Integer, List<String>> read = everyone(ranks, "READ " + k);
            for (Map.Entry<Integer, List<String>> e : read.entrySet()) {
                assertEquals(expected, values(e.getValue()), "values read by rank " + e.getKey() + ", repeat " + k);
            }
        }
        // The same name with another type on another process: a typed error for that writer, nothing merged.
        command(ranks.get(0), "MISMATCH-FIRST");
        for (int r = 1; r < n; r++) {
            List<String> out = command(ranks.get(r), "MISMATCH-SECOND");
            assertTrue(out.stream().anyMatch(l -> l.startsWith("REJECTED ALREADY_EXISTS accumulator 'typed' is a long-sum")),
                    "rank " + r + ": " + out);
        }
        // The server ended on rank 0, the default.
        assertEquals(List.of("SERVER 0"), command(ranks.get(n - 1), "SERVER"));
    }

    private void inProcess() throws Exception {
        try (TestCluster c = TestCluster.withNodes(1)) {
            for (int k = 0; k < REPEATS; k++) {
                for (String phase : Scenario.WRITE_PHASES) {
                    Scenario.write(c.acc(0), phase, 0, k);
                }
                assertEquals(Scenario.expected(1, k), Scenario.read(c.acc(0), k));
            }
            c.acc(0).longSum("typed");
            assertEquals(dev.baton.Status.Code.ALREADY_EXISTS, org.junit.jupiter.api.Assertions.assertThrows(
                    dev.baton.BatonException.class, () -> c.acc(0).doubleMax("typed")).code());
        }
    }

    /**
     * A server process that writes nothing is killed: the writers lose nothing, acknowledged or not. Then the
     * new server (a writer) is killed too: the survivors lose exactly that writer's contribution, as documented.
     */
    @Test
    void serverKilledAndReplacedLosesNoAcknowledgedData() throws Exception {
        master = Master.start(0);
        killServersInTurn();
    }

    /**
     * The same through a ZooKeeper server (a separate process) instead of the master: the accumulator's server
     * is elected by registering its fixed server id, which ZooKeeper grants to one node at a time, and a dead
     * server's registration goes with its session (2 s here).
     */
    @Test
    void serverKilledAndReplacedThroughZooKeeperLosesNoAcknowledgedData() throws Exception {
        try (LocalZooKeeper zk = new LocalZooKeeper(1, Duration.ofMillis(200))) {
            zk.startAll();
            registry = RankMain.ZOOKEEPER + zk.connectString() + "/baton/accumulator-test";
            killServersInTurn();
            children.forEach(ChildJvm::close);
        }
    }

    private void killServersInTurn() throws Exception {
        Map<Integer, ChildJvm> server = startRanks(1, "PREFER");
        int serverRank = server.keySet().iterator().next();
        Map<Integer, ChildJvm> writers = startRanks(3, "DEFAULT");
        for (ChildJvm w : writers.values()) {
            awaitServer(w, serverRank);
        }
        everyone(writers, "KILL-WRITE 0");
        server.get(serverRank).kill();

        // Written while the server is dead; awaitFlushed returns once the new server has everything.
        everyone(writers, "KILL-WRITE 1");
        Map<String, String> expected = killExpected(writers.keySet(), 2);
        for (Map.Entry<Integer, List<String>> e : everyone(writers, "KILL-READ").entrySet()) {
            assertEquals(expected, values(e.getValue()), "rank " + e.getKey() + " after the server died");
        }

        // Now the new server, which wrote too, dies: its own contribution is lost, nothing else.
        int second = Integer.parseInt(command(writers.values().iterator().next(), "SERVER").getFirst().split(" ")[1]);
        assertNotEquals(serverRank, second);
        assertTrue(writers.containsKey(second), "the new server is one of the writers: " + second);
        writers.remove(second).kill();
        everyone(writers, "KILL-WRITE 2");
        expected = killExpected(writers.keySet(), 3);
        for (Map.Entry<Integer, List<String>> e : everyone(writers, "KILL-READ").entrySet()) {
            assertEquals(expected, values(e.getValue()), "rank " + e.getKey() + " after the second server died");
        }
    }

    /** SIGKILL of the server process while two writer processes are in the middle of writing and flushing. */
    @Test
    void serverKilledWhileNodesWriteLosesNothingAndCountsNothingTwice() throws Exception {
        master = Master.start(0);
        Map<Integer, ChildJvm> server = startRanks(1, "PREFER");
        int serverRank = server.keySet().iterator().next();
        Map<Integer, ChildJvm> writers = startRanks(2, "DEFAULT");
        for (ChildJvm w : writers.values()) {
            awaitServer(w, serverRank);
        }
        int n = 100_000;
        writers.values().forEach(w -> w.writeLine("STREAM " + n));
        for (ChildJvm w : writers.values()) {
            w.awaitLine(l -> l.equals("STREAMING"), STEP);
        }
        server.get(serverRank).kill();
        for (ChildJvm w : writers.values()) {
            collect(w, "STREAM " + n);
        }
        for (Map.Entry<Integer, List<String>> e : everyone(writers, "READ-STREAM").entrySet()) {
            assertEquals(List.of("VALUE k-stream " + 2L * n), e.getValue(), "rank " + e.getKey());
        }
    }

    /** What {@code KILL-WRITE 0 .. parts-1} by {@code ranks} adds up to. */
    private static Map<String, String> killExpected(Iterable<Integer> ranks, int parts) {
        long sum = 0;
        double max = Double.NEGATIVE_INFINITY;
        BitSet set = new BitSet();
        long min = Long.MAX_VALUE;
        long maxTimer = Long.MIN_VALUE;
        int count = 0;
        for (int r : ranks) {
            sum += 100L * (r + 1) * parts;
            max = Math.max(max, r * 10 + parts - 1);
            set.set(r);
            min = Math.min(min, r * 10L);
            maxTimer = Math.max(maxTimer, r * 10L + parts - 1);
            count += parts;
        }
        Map<String, String> e = new LinkedHashMap<>();
        e.put("k-sum", "long " + sum);
        e.put("k-max", "double " + max);
        e.put("k-ranks", "custom " + set);
        e.put("k-timer", "timer " + count + " " + min + " " + maxTimer + " n=" + count);
        return e;
    }

    // ------------------------------------------------------------------ driving the ranks

    /** Starts {@code n} rank processes at once; returns them by rank. */
    private Map<Integer, ChildJvm> startRanks(int n, String placement) throws InterruptedException {
        String where = registry;
        if (where == null) {
            InetSocketAddress a = master.address();
            where = a.getHostString() + ":" + a.getPort();
        }
        List<ChildJvm> started = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // Up to 9 JVMs share 2 cores here: a small collector and the C1 compiler start faster and leave
            // the cores to the work (the write path is not what these tests measure).
            ChildJvm c = ChildJvm.start("rank-" + (children.size() + i), List.of(),
                    List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), RankMain.class, where, placement);
            started.add(c);
        }
        children.addAll(started);
        Map<Integer, ChildJvm> byRank = new LinkedHashMap<>();
        for (ChildJvm c : started) {
            String ready = c.awaitLine(l -> l.startsWith("READY "), STEP);
            byRank.put(Integer.parseInt(ready.substring(6)), c);
        }
        return byRank;
    }

    private static void awaitServer(ChildJvm c, int rank) throws InterruptedException {
        long end = System.nanoTime() + STEP.toNanos();
        while (!command(c, "SERVER").equals(List.of("SERVER " + rank))) {
            if (System.nanoTime() - end > 0) {
                throw new AssertionError(c + " does not see the server on rank " + rank);
            }
            Thread.sleep(10);   // polling another process: there is nothing to wait on
        }
    }

    /** Sends {@code cmd} to every rank at once, then collects each one's output lines until DONE. */
    private static Map<Integer, List<String>> everyone(Map<Integer, ChildJvm> ranks, String cmd) throws InterruptedException {
        ranks.values().forEach(c -> c.writeLine(cmd));
        Map<Integer, List<String>> out = new LinkedHashMap<>();
        for (Map.Entry<Integer, ChildJvm> e : ranks.entrySet()) {
            out.put(e.getKey(), collect(e.getValue(), cmd));
        }
        return out;
    }

    private static List<String> command(ChildJvm c, String cmd) throws InterruptedException {
        c.writeLine(cmd);
        return collect(c, cmd);
    }

    private static List<String> collect(ChildJvm c, String cmd) throws InterruptedException {
        List<String> lines = new ArrayList<>();
        while (true) {
            String line = c.awaitLine(l -> true, STEP);
            if (line.equals("DONE " + cmd)) {
                return lines;
            }
            if (line.startsWith("FAILED " + cmd)) {
                throw new AssertionError(c + ": " + line);
            }
            lines.add(line);
        }
    }

    /** {@code VALUE <name> <rendered>} lines as a map. */
    private static Map<String, String> values(List<String> lines) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String l : lines) {
            if (l.startsWith("VALUE ")) {
                String rest = l.substring(6);
                int space = rest.indexOf(' ');
                m.put(rest.substring(0, space), rest.substring(space + 1));
            }
        }
        return m;
    }
}
