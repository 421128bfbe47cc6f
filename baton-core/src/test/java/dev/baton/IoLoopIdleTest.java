package dev.baton;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A TCP I/O loop spins {@code ioSpin} after work, and only after work: the 25 ms tick that wakes an idle loop must not
 * start a spin, or a loop with a long spin (busy-poll settings) would spin for ever on an idle node. Read from the
 * loop threads' CPU time.
 */
@Timeout(60)
class IoLoopIdleTest {

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final Duration SPIN = Duration.ofMillis(100);
    private static final long WINDOW_MS = 800;

    private static long cpuNanos(String prefix) {
        List<Thread> loops = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith(prefix)).toList();
        assertFalse(loops.isEmpty(), "no thread named " + prefix + "*");
        long sum = 0;
        for (Thread t : loops) {
            sum += Math.max(0, THREADS.getThreadCpuTime(t.threadId()));
        }
        return sum;
    }

    @Test
    void aLoopWithALongSpinSleepsOnceTheNodeIsIdle() throws Exception {
        try (Master master = Master.start(MasterOptions.builder().build());
             Node a = Node.join(NodeOptions.builder().name("idle-a").master(master.address()).build());
             Node b = Node.join(NodeOptions.builder().name("idle-b").master(master.address()).ioSpin(SPIN).build())) {
            Cluster.startEcho(a, "echo");
            Client echo = b.client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            try (Message m = echo.call(Cluster.ECHO, ByteBuffer.allocate(3), CallOptions.DEFAULT)) {
                assertEquals(3, m.buffer().remaining());
            }
            Thread.sleep(3 * SPIN.toMillis());      // the spin after the last call ends
            long before = cpuNanos("baton-io-idle-b-");
            Thread.sleep(WINDOW_MS);
            long used = cpuNanos("baton-io-idle-b-") - before;
            // Before the fix every tick restarted the spin: about 100 / 125 of the window. Now only the node's own
            // traffic with the master (a keepalive, at most a spin or two of 100 ms) does.
            assertTrue(used < TimeUnit.MILLISECONDS.toNanos(WINDOW_MS) * 4 / 10, "the idle node's loop used "
                    + used / 1_000_000 + " ms of CPU in " + WINDOW_MS + " ms");
        }
    }
}
