package dev.baton.shm;

import dev.baton.Client;
import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.testkit.behaviour.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How the shared-memory loops wait (docs/shm.md#a-connection): an idle node's loops sleep. Read from the loop threads'
 * CPU time: a loop that spins uses about all of the wall time it spins for, one that sleeps almost none.
 *
 * <p>That a loop rests while blocked callers poll its connections is measured by `bin/baton bench` (docs/shm.md), not
 * asserted here: a test of the client loop's CPU time during 400 ms of sequential calls in one JVM read from 1 % to
 * 45 % from run to run on a quiet machine, so it could not tell the loop resting from the loop spinning.
 */
@Timeout(60)
class ShmWaitingTest {

    /** Long enough to fail the assertion by far if the loops spun for the whole window. */
    private static final long WINDOW_NS = TimeUnit.MILLISECONDS.toNanos(400);
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final ShmTestDirectory dir = new ShmTestDirectory();

    @AfterEach
    void removeTheDirectory() throws IOException {
        dir.close();
    }

    private Node join(Master master, String name) {
        return Node.join(NodeOptions.builder().name(name).master(master.address())
                .transport(SharedMemoryTransport.builder().directory(dir.path).build())
                .ioSpin(Duration.ZERO).callerSpin(Duration.ofMillis(1)).build());
    }

    /** The summed CPU time of the threads whose names start with {@code prefix}; fails if there are none. */
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
    void anIdleNodesLoopsSleep() throws Exception {
        try (Master master = Master.start(MasterOptions.builder().build());
             Node a = join(master, "idle-a");
             Node b = join(master, "idle-b")) {
            Cluster.startEcho(a, "echo");
            Client echo = b.client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            assertArrayEquals(new byte[8], echo.call(Cluster.ECHO, new byte[8]));
            Thread.sleep(100);      // the spin after the last call ends
            long before = cpuNanos("baton-shm-idle-");
            Thread.sleep(TimeUnit.NANOSECONDS.toMillis(WINDOW_NS));
            long used = cpuNanos("baton-shm-idle-") - before;
            // Two loops, each waking on its 25 ms tick: about 1 ms of CPU a second each when measured alone.
            assertTrue(used < WINDOW_NS / 10, "two idle loops used " + used / 1000 + " µs of CPU in "
                    + WINDOW_NS / 1000 + " µs");
        }
    }
}
