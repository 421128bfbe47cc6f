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
