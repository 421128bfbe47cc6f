package dev.baton;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link NodeOptions#sharedMemory()} without baton-transport-shm on the path (core's tests never have it): the
 * default PREFERRED is plain TCP, and REQUIRED refuses to join rather than quietly use TCP. With the module, see
 * its ShmPathTest.
 */
@Timeout(60)
class SharedMemoryOptionTest {

    @Test
    void withoutTheModulePreferredIsTcpAndRequiredRefusesToJoin() throws Exception {
        try (Master master = Master.start(MasterOptions.builder().build());
             Node a = Node.join(NodeOptions.builder().name("a").master(master.address()).build());
             Node b = Node.join(NodeOptions.builder().name("b").master(master.address()).build())) {
            Cluster.startEcho(a, "echo");
            Client echo = b.client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            assertEquals(3, echo.call(0, new byte[3]).length);
            assertEquals(Map.of(a.rank(), "tcp"), b.stats().pathsByRank());

            NodeOptions required = NodeOptions.builder().name("c").master(master.address())
                    .sharedMemory(SharedMemory.REQUIRED).build();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Node.join(required).close());
            assertTrue(e.getMessage().contains("baton-transport-shm"), e.getMessage());
            assertEquals(2, b.membership().nodes().size(), "the refused node never joined");
        }
    }
}
