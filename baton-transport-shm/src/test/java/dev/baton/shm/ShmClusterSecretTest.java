package dev.baton.shm;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.NodeOptions;
import dev.baton.Status;
import dev.baton.spi.FrameHandler;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.TransportSettings;
import dev.baton.testkit.behaviour.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cluster secret over shared memory: members talk through the rings; a stranger's ring is refused. */
@Timeout(60)
class ShmClusterSecretTest {

    private static final byte[] SECRET = "correct horse battery staple".getBytes(StandardCharsets.US_ASCII);

    private final ShmTestDirectory dir = new ShmTestDirectory();

    @AfterEach
    void removeTheDirectory() throws IOException {
        dir.close();
    }

    /** Receives nothing worth keeping. */
    private static final class Ignore implements FrameHandler {
        @Override
        public void onOpen(TransportConnection connection) {
        }

        @Override
        public void onFrame(TransportConnection connection, InboundHeader header, Message payload) {
            payload.close();
        }

        @Override
        public void onClose(TransportConnection connection, BatonException cause) {
        }
    }

    @Test
    void sharedMemoryConnectionsProveTheSecretToo() throws Exception {
        TransportFactory shm = SharedMemoryTransport.builder().directory(dir.path).build();
        try (Master master = Master.start(MasterOptions.builder().clusterSecret(SECRET).build());
             Node a = Node.join(NodeOptions.builder().name("a").master(master.address()).transport(shm)
                     .clusterSecret(SECRET).build());
             Node b = Node.join(NodeOptions.builder().name("b").master(master.address()).transport(shm)
                     .clusterSecret(SECRET).build())) {
            Cluster.startEcho(a, "echo");
            Client echo = b.client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            assertEquals(3, echo.call(Cluster.ECHO, new byte[3]).length);
            assertEquals(Map.of(a.rank(), "shm"), b.stats().pathsByRank(), "members talk through the rings");

            NodeInfo target = b.membership().node(a.rank()).orElseThrow();
            try (Transport stranger = shm.create(new TransportContext("stranger", 42, PeerIdentity.ROLE_NODE,
                    () -> -1, new Ignore(), TransportSettings.builder().build()))) {
                TransportConnection c = stranger.connect(target, x -> null);
                assertEquals("shm", stranger.pathOf(c));
                long end = System.nanoTime() + 10_000_000_000L;
                while (c.isOpen() && System.nanoTime() - end < 0) {
                    LockSupport.parkNanos(1_000_000L);
                }
                assertFalse(c.isOpen(), "a ring without the secret is refused");
                assertEquals(Status.Code.UNAUTHENTICATED, c.closeCause().code());
                assertTrue(c.closeCause().getMessage().contains("requires a cluster secret this node does not have"),
                        c.closeCause().getMessage());
            }
        }
    }
}
