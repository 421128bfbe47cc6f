package dev.baton;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** prpc's rpc_service_test: two nodes in one JVM, server on one, client on the other, 100 iterations each. */
@Timeout(120)
class RpcServiceTest {

    static Cluster cluster;
    static Client client;

    @BeforeAll
    static void start() throws Exception {
        cluster = Cluster.withNodes(2);
        Cluster.startEcho(cluster.node(0), "echo");
        client = cluster.node(1).client("echo");
        client.awaitServers(1, Duration.ofSeconds(5));
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    static void echoRoundTrip(byte[] payload) {
        try (Message m = client.call(Cluster.ECHO, ByteBuffer.wrap(payload))) {
            assertArrayEquals(payload, m.toByteArray());
        }
    }

    @Test
    void smallMessage128Bytes() {
        Random r = new Random(1);
        for (int i = 0; i < 100; i++) {
            byte[] b = new byte[128];
            r.nextBytes(b);
            echoRoundTrip(b);
        }
    }

    @Test
    void bigMessage5MiB() {
        Random r = new Random(2);
        byte[] b = new byte[5 << 20];
        for (int i = 0; i < 100; i++) {
            b[r.nextInt(b.length)] = (byte) i;
            echoRoundTrip(b);
        }
    }

    @Test
    void randomSizesBelow5MiB() {
        Random r = new Random(3);
        for (int i = 0; i < 100; i++) {
            byte[] b = new byte[r.nextInt(5 << 20)];
            r.nextBytes(b);
            echoRoundTrip(b);
        }
    }

    @Test
    void directBuffersAndMemorySegmentsAreSentWithoutCopy() {
        ByteBuffer direct = ByteBuffer.allocateDirect(3 << 20);
        for (int i = 0; i < direct.capacity(); i++) {
            direct.put(i, (byte) (i * 31));
        }
        try (Message m = client.call(Cluster.ECHO, direct)) {
            assertEquals(direct.capacity(), m.size());
            assertEquals(0, m.buffer().compareTo(direct.duplicate().clear()));
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(1 << 20);
            for (long i = 0; i < seg.byteSize(); i++) {
                seg.set(ValueLayout.JAVA_BYTE, i, (byte) i);
            }
            try (Message m = client.call(Cluster.ECHO, seg)) {
                assertEquals(-1, m.segment().mismatch(seg));
            }
        }
    }
}
