package dev.baton.shm;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;
import dev.baton.testkit.ChildJvm;
import dev.baton.testkit.Wait;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two processes on this host: a node in a child JVM and one in this JVM, both with the shared-memory transport in
 * PREFERRED mode (what a user gets), talk through shared memory; a SIGKILLed peer is noticed by its socket long
 * before the keepalive timeout (30 s here), and what it left in the directory is swept away.
 */
@Timeout(120)
class ShmProcessTest {

    private final ShmTestDirectory dir = new ShmTestDirectory();

    @AfterEach
    void removeTheDirectory() throws IOException {
        dir.close();
    }

    /** This directory's payload files that this process maps now. */
    private long payloadMappings() {
        try (java.util.stream.Stream<String> maps = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/self/maps"))) {
            return maps.filter(l -> l.contains(dir.path + "/pay-")).count();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void nodesOnOneHostTalkThroughSharedMemoryAndAKilledPeerIsNoticedAtOnceAndSweptAway() throws Exception {
        try (Master master = Master.start(MasterOptions.builder().build());
             ChildJvm child = ChildJvm.start("shm-echo", ShmEchoMain.class,
                     "127.0.0.1:" + master.address().getPort(), dir.path.toString());
             Node node = Node.join(NodeOptions.builder().name("parent").master(master.address())
                     .transport(SharedMemoryTransport.builder().directory(dir.path).build())
                     .keepaliveInterval(Duration.ofSeconds(10)).keepaliveTimeout(Duration.ofSeconds(30)).build())) {
            int childRank = Integer.parseInt(child.awaitLine(l -> l.startsWith("READY "), Duration.ofSeconds(60))
                    .substring("READY ".length()));
            Client echo = node.client("echo");
            echo.awaitServers(1, Duration.ofSeconds(10));
            for (int i = 0; i < 100; i++) {
                byte[] answer = echo.call(0, ("hello " + i).getBytes(StandardCharsets.UTF_8));
                assertEquals("hello " + i, new String(answer, StandardCharsets.UTF_8));
            }
            byte[] large = new byte[(1 << 20) + 7];
            new java.util.Random(7).nextBytes(large);
            for (int i = 0; i < 4; i++) {      // through payload files, both ways, between the two processes
                assertArrayEquals(large, echo.call(0, large));
            }
            assertTrue(payloadMappings() > 0, "the large bodies went through payload files");
            assertEquals(Map.of(childRank, "shm"), node.stats().pathsByRank(), "the peer is reached by shared memory");
            assertTrue(dir.contents().contains("node-" + Long.toHexString(
                    node.membership().node(childRank).orElseThrow().nodeId()) + "-" + child.pid() + ".sock"),
                    "the child listens in the directory: " + dir.contents());

            long t0 = System.nanoTime();
            child.kill();
            Wait.until(() -> !node.stats().pathsByRank().containsKey(childRank), Duration.ofSeconds(5),
                    () -> "the connection to the killed peer closed");
            long noticedMs = (System.nanoTime() - t0) / 1_000_000L;
            assertTrue(noticedMs < 2_000, "noticed after " + noticedMs + " ms (keepalive timeout 30 s)");
            BatonException e = assertThrows(BatonException.class, () -> echo.call(0, ByteBuffer.wrap(new byte[1]),
                    CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(2))).close());
            assertTrue(Status.Code.UNAVAILABLE == e.code() || Status.Code.NO_SUCH_SERVICE == e.code()
                    || Status.Code.DEADLINE_EXCEEDED == e.code(), e.toString());
            String own = "-" + ProcessHandle.current().pid() + ".sock";
            Wait.until(() -> dir.contents().stream().allMatch(n -> n.endsWith(own)), Duration.ofSeconds(10),
                    () -> "the killed process's files swept: " + dir.contents());
            Wait.until(() -> payloadMappings() == 0, Duration.ofSeconds(10),
                    () -> "the payload files shared with the killed process are unmapped");
        }
        assertEquals(List.of(), dir.contents(), "nothing left after a normal close");
    }
}
