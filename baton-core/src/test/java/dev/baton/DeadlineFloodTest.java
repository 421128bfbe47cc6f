package dev.baton;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 65,536 calls whose deadlines pass within about half a second (their server never answers): every one fails
 * with DEADLINE_EXCEEDED, and none waits for its completion behind the others. The bound asserted here is loose
 * (a behaviour, not a benchmark): a completion is never a second late. The measured lateness is printed.
 */
@Timeout(120)
class DeadlineFloodTest {

    private static final int CALLS = 65_536;
    private static final long TIMEOUT_NS = 500_000_000L;

    @Test
    void aFloodOfExpiringCallsCompletesEachAtItsDeadline() throws Exception {
        try (Cluster c = Cluster.withNodes(2)) {
            c.node(0).newServer("silent").inline(0, call -> { }).start();
            Client client = c.node(1).client("silent")
                    .withOptions(CallOptions.DEFAULT.withTimeout(Duration.ofNanos(TIMEOUT_NS)));
            client.awaitServers(1, Duration.ofSeconds(5));
            long[] lateNs = new long[CALLS];
            CountDownLatch done = new CountDownLatch(CALLS);
            AtomicInteger deadlineExceeded = new AtomicInteger();
            ByteBuffer request = ByteBuffer.allocateDirect(16);
            for (int i = 0; i < CALLS; i++) {
                int index = i;
                long deadline = System.nanoTime() + TIMEOUT_NS;
                client.call(0, request, new ResponseListener() {
                    @Override
                    public void onResponse(Message response) {
                        done.countDown();
                    }

                    @Override
                    public void onFailure(BatonException e) {
                        lateNs[index] = System.nanoTime() - deadline;
                        if (e.code() == Status.Code.DEADLINE_EXCEEDED) {
                            deadlineExceeded.incrementAndGet();
                        }
                        done.countDown();
                    }
                });
            }
            assertTrue(done.await(30, TimeUnit.SECONDS), "every call completed");
            assertEquals(CALLS, deadlineExceeded.get());
            Arrays.sort(lateNs);
            System.out.printf("deadline flood: %d calls late by p50 %.1f ms, p99 %.1f ms, max %.1f ms%n", CALLS,
                    lateNs[CALLS / 2] / 1e6, lateNs[CALLS * 99 / 100] / 1e6, lateNs[CALLS - 1] / 1e6);
            assertTrue(lateNs[CALLS - 1] < 1_000_000_000L, "the latest completion came " + lateNs[CALLS - 1] / 1e6
                    + " ms after its deadline");
        }
    }
}
