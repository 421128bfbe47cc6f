package dev.baton.accumulator;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.BitSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server moving, with every node in this JVM: hand-over when its node closes normally or a preferred
 * node attaches, rebuild when its node dies (closed under the accumulators, as a crash looks to the others).
 * The multi-process version with SIGKILL is {@link MultiProcessTest}.
 */
@Timeout(60)
class FailoverTest {

    static final Duration T = Duration.ofSeconds(20);

    @BeforeAll
    static void registerTypes() {
        Scenario.registerTypes();
    }

    /** Each rank r writes r + 1 to "sum", its rank to "ranks", and 10 (r + 1) to "max". */
    private static void writeAll(TestCluster c, int... ranks) {
        for (int r : ranks) {
            Accumulators a = c.acc(r);
            a.longSum("sum").write(r + 1);
            a.<BitSet, Integer>custom("ranks", Scenario.RankSet.NAME).write(r);
            a.doubleMax("max").write(10.0 * (r + 1));
            a.timer("t").record(r + 1);
        }
    }

    private static void flushAll(TestCluster c, int... ranks) {
        for (int r : ranks) {
            c.acc(r).awaitFlushed(T);
        }
    }

    @Test
    void serverNodeClosingHandsTheServerOverWithoutLosingAnything() {
        try (TestCluster c = TestCluster.withNodes(3)) {
            c.awaitServerOn(0);
            writeAll(c, 0, 1, 2);
            flushAll(c, 0, 1, 2);
            long acked = c.acc(1).stats().batchesAcked();
            c.leave(0);
            c.awaitServerOn(1);
            writeAll(c, 1, 2);
            flushAll(c, 1, 2);
            // Rank 0's contribution moved with the server's state; nobody had to rebuild.
            assertEquals(1 + 2 + 3 + 2 + 3, c.acc(2).longSum("sum").read());
            assertEquals(BitSet.valueOf(new long[]{0b111}), c.acc(2).<BitSet, Integer>custom("ranks", Scenario.RankSet.NAME).read());
            assertEquals(30.0, c.acc(1).doubleMax("max").read());
            assertEquals(5, c.acc(1).timer("t").read().count());
            assertEquals(5, c.acc(1).timer("t").read().histogram().count());    // moved with the server's state
            assertEquals(3, c.acc(1).timer("t").read().p99());
            assertEquals(0, c.acc(1).stats().rebuilds() + c.acc(2).stats().rebuilds());
            assertTrue(c.acc(1).stats().batchesAcked() > acked);
            assertEquals(1, c.acc(1).stats().elections());
        }
    }

    @Test
    void serverNodeDyingLosesOnlyItsOwnContribution() {
        try (TestCluster c = TestCluster.withNodes(3)) {
            c.awaitServerOn(0);
            writeAll(c, 0, 1, 2);
            flushAll(c, 0, 1, 2);
            c.crash(0);
            // Written while there is no server: never acknowledged by anyone yet.
            writeAll(c, 1, 2);
            flushAll(c, 1, 2);
            int server = c.acc(1).serverRank();
            assertNotEquals(0, server);
            // Everything of the live ranks (acknowledged before the crash, or not), nothing of rank 0.
            assertEquals(2 * (2 + 3), c.acc(1).longSum("sum").read());
            assertEquals(2 * (2 + 3), c.acc(2).longSum("sum").read());
            assertEquals(BitSet.valueOf(new long[]{0b110}), c.acc(2).<BitSet, Integer>custom("ranks", Scenario.RankSet.NAME).read());
            assertEquals(30.0, c.acc(2).doubleMax("max").read());
            AccumulatorValue.Timer t = c.acc(2).timer("t").read();
            assertEquals(4, t.count());
            assertEquals(2, t.min());
            // The histogram too was rebuilt from the live nodes' FULL states: 2, 2, 3, 3.
            assertEquals(4, t.histogram().count());
            assertEquals(2, t.p50());
            assertEquals(3, t.p90());
            // Both live nodes had been acknowledged by the dead server: both rebuilt the new one.
            assertEquals(2, c.acc(1).stats().rebuilds() + c.acc(2).stats().rebuilds());
        }
    }

    @Test
    void aPreferredNodeTakesTheServerOverWithoutLosingAnything() {
        try (TestCluster c = TestCluster.withNodes(2)) {
            c.awaitServerOn(0);
            writeAll(c, 0, 1);
            flushAll(c, 0, 1);
            c.add(TestCluster.OPTIONS.toBuilder().serverPlacement(ServerPlacement.PREFER).build());
            c.awaitServerOn(2);
            writeAll(c, 0, 1, 2);
            flushAll(c, 0, 1, 2);
            assertEquals(1 + 2 + 1 + 2 + 3, c.acc(0).longSum("sum").read());
            assertEquals(1, c.acc(0).stats().handOvers());
            assertTrue(c.acc(2).stats().hostingServer());
        }
    }

    @Test
    void rankZeroTakesTheServerOverFromAnEarlierNode() {
        // Rank 0 attaches last: rank 1 is elected first, then hands over to rank 0.
        try (TestCluster c = new TestCluster()) {
            c.join();
            c.add(TestCluster.OPTIONS);
            c.awaitServerOn(1);
            c.acc(1).longSum("sum").write(5);
            c.acc(1).awaitFlushed(T);
            Accumulators zero = Accumulators.attach(c.node(0), TestCluster.OPTIONS);
            c.accumulators.set(0, zero);
            c.awaitServerOn(0);
            zero.longSum("sum").write(1);
            zero.awaitFlushed(T);
            assertEquals(6, c.acc(1).longSum("sum").read());
        }
    }

    @Test
    void aServerRestartedOnTheSameNodeIsRebuiltByIdleNodes() {
        // Rank 1 cannot host: when rank 0 closes its accumulators there is no successor and the state is lost.
        try (TestCluster c = new TestCluster()) {
            c.add(TestCluster.OPTIONS);
            c.add(TestCluster.OPTIONS.toBuilder().serverPlacement(ServerPlacement.NEVER).build());
            c.awaitServerOn(0);
            c.acc(1).longSum("idle").write(41);
            c.acc(1).awaitFlushed(T);
            c.acc(0).close();
            // A new server on the same node (same rank, same node id): rank 1, idle, must still re-send.
            Accumulators again = Accumulators.attach(c.node(0), TestCluster.OPTIONS);
            c.accumulators.set(0, again);
            c.awaitServerOn(0);
            assertEquals(41, again.longSum("idle").read());
            assertEquals(1, c.acc(1).stats().rebuilds());
        }
    }

    @Test
    void neverPlacementNeverHostsTheServer() {
        AccumulatorOptions never = TestCluster.OPTIONS.toBuilder().serverPlacement(ServerPlacement.NEVER).build();
        try (TestCluster c = TestCluster.withNodes(1, never)) {
            c.acc(0).longSum("x").write(1);
            assertEquals(dev.baton.Status.Code.DEADLINE_EXCEEDED, org.junit.jupiter.api.Assertions.assertThrows(
                    dev.baton.BatonException.class, () -> c.acc(0).awaitFlushed(Duration.ofMillis(500))).code());
            c.add(TestCluster.OPTIONS);
            c.awaitServerOn(1);
            c.acc(0).awaitFlushed(T);
            assertEquals(1, c.acc(1).longSum("x").read());
            c.leave(0);     // before the server's node: its final flush has a server to go to
        }
    }

    /** Starts a thread per rank writing 1 to "stream" {@code writes} times, with pauses, flushing every 10. */
    private static Thread[] stream(TestCluster c, int writes, int... ranks) {
        Thread[] threads = new Thread[ranks.length];
        for (int i = 0; i < ranks.length; i++) {
            LongAccumulator s = c.acc(ranks[i]).longSum("stream");
            threads[i] = Thread.ofPlatform().name("stream-" + ranks[i]).start(() -> {
                for (int w = 1; w <= writes; w++) {
                    s.write(1);
                    if (w % 500 == 0) {
                        java.util.concurrent.locks.LockSupport.parkNanos(200_000);
                    }
                }
            });
        }
        return threads;
    }

    @Test
    void handOverWhileNodesWriteLosesNothingAndCountsNothingTwice() throws Exception {
        try (TestCluster c = TestCluster.withNodes(3)) {
            c.awaitServerOn(0);
            c.acc(0).longSum("stream").write(1000);
            Thread[] writers = stream(c, 200_000, 1, 2);
            Wait.until(() -> c.acc(1).stats().batchesAcked() > 20, T, () -> "no batches yet");
            c.leave(0);
            for (Thread t : writers) {
                t.join();
            }
            flushAll(c, 1, 2);
            assertEquals(1000 + 2 * 200_000, c.acc(1).longSum("stream").read());
        }
    }

    @Test
    void serverDyingWhileNodesWriteLosesNothingOfTheLiveNodes() throws Exception {
        try (TestCluster c = TestCluster.withNodes(3)) {
            c.awaitServerOn(0);
            Thread[] writers = stream(c, 200_000, 1, 2);
            Wait.until(() -> c.acc(1).stats().batchesAcked() > 20, T, () -> "no batches yet");
            c.crash(0);
            for (Thread t : writers) {
                t.join();
            }
            flushAll(c, 1, 2);
            assertEquals(2 * 200_000, c.acc(1).longSum("stream").read());
            assertEquals(2 * 200_000, c.acc(2).longSum("stream").read());
        }
    }

    @Test
    void aResetSurvivesTheServerDying() {
        try (TestCluster c = TestCluster.withNodes(3)) {
            c.awaitServerOn(0);
            c.acc(1).longSum("n").write(100);
            c.acc(2).longSum("n").write(200);
            flushAll(c, 1, 2);
            c.acc(1).reset("n");
            c.acc(2).longSum("n").write(1);
            c.acc(2).awaitFlushed(T);
            c.crash(0);
            flushAll(c, 1, 2);
            // The new server rebuilt from contributions since the reset: rank 1's 100 and rank 2's 200 stay gone.
            assertEquals(1, c.acc(1).longSum("n").read());
        }
    }
}
