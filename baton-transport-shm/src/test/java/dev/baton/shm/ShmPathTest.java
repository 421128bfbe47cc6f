package dev.baton.shm;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.SharedMemory;
import dev.baton.Status;
import dev.baton.spi.TransportFactory;
import dev.baton.testkit.behaviour.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which path a peer gets: shared memory when both can, TCP otherwise, never a silent surprise when required. */
@Timeout(60)
class ShmPathTest {

    private final ShmTestDirectory dir = new ShmTestDirectory();

    @AfterEach
    void removeTheDirectory() throws IOException {
        dir.close();
    }

    private static Map<Integer, String> pathsAfterOneEcho(TransportFactory server, TransportFactory caller)
            throws Exception {
        try (Master master = Master.start(MasterOptions.builder().build());
             Node a = Node.join(NodeOptions.builder().name("a").master(master.address()).transport(server).build());
             Node b = Node.join(NodeOptions.builder().name("b").master(master.address()).transport(caller).build())) {
            Cluster.startEcho(a, "echo");
            Client echo = b.client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            assertEquals(3, echo.call(Cluster.ECHO, new byte[3]).length);
            return b.stats().pathsByRank();
        }
    }

    @Test
    void aNodeWithoutSharedMemoryIsReachedByTcp() throws Exception {
        TransportFactory shm = SharedMemoryTransport.builder().directory(dir.path).build();
        assertEquals(Map.of(0, "shm"), pathsAfterOneEcho(shm, shm));
        assertEquals(Map.of(0, "tcp"), pathsAfterOneEcho(TransportFactory.tcp(), shm), "a TCP-only server");
        assertEquals(Map.of(0, "tcp"), pathsAfterOneEcho(shm,
                SharedMemoryTransport.builder().mode(SharedMemory.DISABLED).directory(dir.path).build()),
                "a caller that turned it off");
    }

    /**
     * Every node of a process has a directory object of its own, all naming ring files in the same directory
     * with the same pid: the names must never repeat across them (they were counted per node, so the nodes of a
     * 30-node mesh in one JVM collided on ring-PID-1, and some of their calls failed).
     */
    @Test
    void ringFileNamesAreUniqueAcrossTheNodesOfOneProcess() throws Exception {
        ShmDirectory one = ShmDirectory.open(dir.path);
        ShmDirectory two = ShmDirectory.open(dir.path);
        java.util.Set<java.nio.file.Path> names = new java.util.HashSet<>();
        for (int i = 0; i < 100; i++) {
            assertTrue(names.add(one.newRingFile()));
            assertTrue(names.add(two.newRingFile()));
        }
    }

    /** Many nodes of one process, connecting to each other: every one of them by shared memory. */
    @Test
    void nodesOfOneProcessMeshedAllGetSharedMemory() throws Exception {
        TransportFactory shm = SharedMemoryTransport.builder().mode(SharedMemory.REQUIRED).directory(dir.path).build();
        int n = 8;
        try (Master master = Master.start(MasterOptions.builder().build())) {
            List<Node> nodes = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < n; i++) {
                    Node node = Node.join(NodeOptions.builder().name("m" + i).master(master.address()).transport(shm)
                            .build());
                    nodes.add(node);
                    node.newServer("at-" + i).inline(Cluster.ECHO, call -> call.reply(call.request().buffer())).start();
                }
                List<java.util.concurrent.CompletableFuture<dev.baton.Message>> calls = new java.util.ArrayList<>();
                for (Node from : nodes) {
                    for (int i = 0; i < n; i++) {
                        if (i != from.rank()) {
                            from.client("at-" + i).awaitServers(1, Duration.ofSeconds(5));
                            calls.add(from.client("at-" + i).callAsync(Cluster.ECHO, java.nio.ByteBuffer.wrap(new byte[8])));
                        }
                    }
                }
                for (var call : calls) {
                    call.get(10, java.util.concurrent.TimeUnit.SECONDS).close();
                }
                for (Node node : nodes) {
                    assertEquals(n - 1, node.stats().pathsByRank().size(), node + ": " + node.stats().pathsByRank());
                    assertTrue(node.stats().pathsByRank().values().stream().allMatch("shm"::equals),
                            node + ": " + node.stats().pathsByRank());
                }
            } finally {
                for (Node node : nodes.reversed()) {
                    node.close();
                }
            }
        }
    }

    @Test
    void nodesThatNameNoTransportUseSharedMemoryUnlessTheirOptionTurnsItOff() throws Exception {
        try (Master master = Master.start(MasterOptions.builder().build());
             Node a = Node.join(NodeOptions.builder().name("a").master(master.address()).build());
             Node b = Node.join(NodeOptions.builder().name("b").master(master.address()).build());
             Node c = Node.join(NodeOptions.builder().name("c").master(master.address())
                     .sharedMemory(SharedMemory.DISABLED).build())) {
            Cluster.startEcho(a, "echo");
            for (Node caller : List.of(b, c)) {
                Client echo = caller.client("echo");
                echo.awaitServers(1, Duration.ofSeconds(5));
                assertEquals(3, echo.call(Cluster.ECHO, new byte[3]).length);
            }
            assertEquals(Map.of(a.rank(), "shm"), b.stats().pathsByRank(), "the default: shared memory");
            assertEquals(Map.of(a.rank(), "tcp"), c.stats().pathsByRank(), "sharedMemory(DISABLED)");
        }
        String own = "-" + ProcessHandle.current().pid();
        try (var names = Files.list(ShmDirectory.defaultPath())) {
            assertEquals(List.of(), names.map(p -> p.getFileName().toString()).filter(n -> n.contains(own)).toList(),
                    "nothing of this process left in the default directory");
        }
    }

    @Test
    void aDirectoryOpenToOtherUsersIsNotUsed() throws Exception {
        Files.createDirectory(dir.path);
        Files.setPosixFilePermissions(dir.path, PosixFilePermissions.fromString("rwxrwxrwx"));
        TransportFactory shm = SharedMemoryTransport.builder().directory(dir.path).build();
        assertEquals(Map.of(0, "tcp"), pathsAfterOneEcho(shm, shm));
        assertEquals(0, dir.contents().size(), "nothing was made in it");
    }

    @Test
    void whenSharedMemoryIsRequiredAPeerThatCannotBeReachedSoFailsWithUnavailable() throws Exception {
        TransportFactory required = SharedMemoryTransport.builder().mode(SharedMemory.REQUIRED)
                .directory(dir.path).build();
        BatonException e = assertThrows(BatonException.class, () -> pathsAfterOneEcho(TransportFactory.tcp(),
                required));
        assertEquals(Status.Code.UNAVAILABLE, e.code(), e.toString());
        assertTrue(e.getMessage().contains("shared memory is required"), e.getMessage());
    }
}
