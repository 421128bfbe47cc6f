package dev.baton.accumulator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.management.ManagementFactory;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The write path allocates nothing once a thread has its cell, also while the flusher runs. */
@Timeout(60)
class WritePathTest {

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    @Test
    void writesAllocateNothing() {
        // Flush every 1024 writes: the flusher runs (on its own thread) all along.
        AccumulatorOptions opts = TestCluster.OPTIONS.toBuilder().flushEvery(1024).build();
        try (TestCluster c = TestCluster.withNodes(1, opts)) {
            Accumulators acc = c.acc(0);
            LongAccumulator sum = acc.longSum("sum");
            LongAccumulator max = acc.longMax("max");
            DoubleAccumulator dmin = acc.doubleMin("dmin");
            AverageAccumulator avg = acc.average("avg");
            TimerAccumulator timer = acc.timer("timer");
            TimerAccumulator wide = acc.timer("wide");              // every bucket, negative values too
            int n = 2_000_000;
            for (int round = 0; round < 3; round++) {       // the last round runs compiled code
                long before = THREADS.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < n; i++) {
                    sum.write(1);
                    max.write(i);
                    dmin.write(-i);
                    avg.write(i);
                    timer.record(i);
                    wide.record((1L << (i & 63)) + i);
                }
                long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
                if (round == 2) {
                    assertTrue(allocated < 1024, allocated + " bytes allocated by " + 6 * n + " writes");
                }
            }
            acc.awaitFlushed(Duration.ofSeconds(20));
            assertEquals(3L * n, sum.read());
            assertEquals(n - 1, max.read());
            assertEquals(-(n - 1), dmin.read());
            assertEquals(3L * n, avg.read().count());
            assertEquals(3L * n, timer.read().count());
            // Drained while being written, the histogram is never behind and ends exactly on the count.
            assertEquals(3L * n, timer.read().histogram().count());
            assertEquals(3L * n, wide.read().histogram().count());
            assertTrue(wide.read().histogram().countAt(dev.baton.LatencyHistogram.BUCKETS - 1) > 0);
        }
    }
}
