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
 * How the shared-memory loops wait (docs/shm.md#a-connection): an idle node's loops sleep, and a loop whose
 * connections are all polled by blocked callers rests instead of spinning beside them. Both are read from the loop
 * threads' CPU time: a loop that spins uses about all of the wall time it spins for, one that sleeps almost none.
 */
@Timeout(60)
class ShmWaitingTest {

    /** Long enough to fail the call-side assertions by far if the loop spun for the whole window. */
    private static final long WINDOW_NS = TimeUnit.MILLISECONDS.toNanos(400);
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final ShmTestDirectory dir = new ShmTestDirectory();

    @AfterEach
    void removeTheDirectory() throws IOException {
        dir.close();
    }

    private Node join(Master master, String name, Duration ioSpin, Duration callerSpin) {
        return Node.join(NodeOptions.builder().name(name).master(master.address())
                .transport(SharedMemoryTransport.builder().directory(dir.path).build())
                .ioSpin(ioSpin).callerSpin(callerSpin).build());
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
             Node a = join(master, "idle-a", Duration.ZERO, Duration.ofMillis(1));
             Node b = join(master, "idle-b", Duration.ZERO, Duration.ofMillis(1))) {
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

    /**
     * A busy-polling client (its loop spins a whole second after its last work): while its only caller spins for each
     * response, polling the connection itself, the loop sleeps instead of spinning on the same ring. Before, the
     * server's doorbell woke the loop on every response and three threads spun for one call on two cores.
     */
    @Test
    void aLoopRestsWhileItsCallerPollsEveryConnection() throws Exception {
        try (Master master = Master.start(MasterOptions.builder().build());
             Node a = join(master, "rest-a", Duration.ZERO, Duration.ofMillis(1));
             Node b = join(master, "rest-b", Duration.ofSeconds(1), Duration.ofSeconds(1))) {
            Cluster.startEcho(a, "echo");
            Client echo = b.client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            byte[] request = new byte[16];
            for (int i = 0; i < 1000; i++) {
                assertArrayEquals(request, echo.call(Cluster.ECHO, request));
            }
            long before = cpuNanos("baton-shm-rest-b-");
            long start = System.nanoTime();
            int calls = 0;
            while (System.nanoTime() - start < WINDOW_NS) {
                request[0] = (byte) calls++;
                assertArrayEquals(request, echo.call(Cluster.ECHO, request));
            }
            long wall = System.nanoTime() - start;
            long used = cpuNanos("baton-shm-rest-b-") - before;
            assertTrue(used < wall / 4, "the client's loop used " + used / 1000 + " µs of CPU in " + wall / 1000
                    + " µs of " + calls + " calls its caller polled for");
        }
    }
}
