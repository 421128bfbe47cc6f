package dev.baton;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * prpc's rpc_connect_test: 20 nodes in one JVM, each an echo server and a client; each waits for the 20
 * servers, then sends 60 calls to random servers with payloads below 4 MiB. Covers lazy full-mesh connects
 * (and simultaneous connects between the same two nodes).
 */
@Timeout(180)
class ConnectTest {

    @Test
    void twentyNodesFullMesh() throws Exception {
        int n = 20;
        try (Cluster c = Cluster.withNodes(n); ExecutorService threads = Executors.newFixedThreadPool(n)) {
            for (Node node : c.nodes) {
                Cluster.startEcho(node, "echo");
            }
            List<Future<?>> done = new ArrayList<>();
            for (Node node : c.nodes) {
                done.add(threads.submit(() -> {
                    Client client = node.client("echo");
                    client.awaitServers(n, Duration.ofSeconds(30));
                    Random r = new Random(node.rank());
                    for (int i = 0; i < 60; i++) {
                        byte[] payload = new byte[r.nextInt(4 << 20)];
                        r.nextBytes(payload);
                        CallOptions to = CallOptions.DEFAULT.withServerId(r.nextInt(n));
                        try (Message m = client.call(Cluster.ECHO, ByteBuffer.wrap(payload), to)) {
                            assertEquals(0, m.buffer().compareTo(ByteBuffer.wrap(payload)));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        }
    }
}
