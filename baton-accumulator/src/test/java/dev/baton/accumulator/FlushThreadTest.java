package dev.baton.accumulator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The threading model: a node's flush rounds, server hosting and peer service share ONE flush thread. */
@Timeout(60)
class FlushThreadTest {

    private static List<String> flushThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith("baton-accumulator-flush-")).sorted().toList();
    }

    @Test
    void eachNodeHasExactlyOneFlushThreadWhichEndsWithItsAccumulators() {
        try (TestCluster c = TestCluster.withNodes(3)) {
            c.awaitServerOn(0);
            for (int i = 0; i < 3; i++) {
                c.acc(i).longSum("n").write(1);
                c.acc(i).awaitFlushed(Duration.ofSeconds(20));
            }
            assertEquals(3L, c.acc(1).longSum("n").read());

            // Rank 0 hosts the server, every node flushes and serves its peer service: still one thread each.
            assertEquals(List.of("baton-accumulator-flush-0", "baton-accumulator-flush-1", "baton-accumulator-flush-2"),
                    flushThreads());

            c.leave(0);
            c.awaitServerOn(1);
            Wait.until(() -> flushThreads().equals(List.of("baton-accumulator-flush-1", "baton-accumulator-flush-2")),
                    Duration.ofSeconds(10), () -> "flush threads: " + flushThreads());
        }
    }
}
