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
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * prpc's MultiThread scenario: 10 server threads, each pulling requests of its own server id with a dealer,
 * and 20 client threads × 1000 calls to server id {@code i % 10}; payloads below 50 B, or below 5 MiB for
 * every third client thread. Every response must be the server's answer to that very request.
 */
@Timeout(300)
class MultiThreadTest {

    static final int SERVERS = 10;
    static final int CLIENTS = 20;
    static final int CALLS = 1000;
    static final int MAX_LARGE = 5 << 20;
    /**
     * Every payload is a slice of these random bytes at a random offset: generating 17 GB of fresh random bytes per
     * run cost most of the test's time, and a slice is as distinct from the others as fresh bytes would be.
     */
    private static final byte[] RANDOM = new byte[2 * MAX_LARGE];

    static {
        new Random(42).nextBytes(RANDOM);
    }

    @Test
    void twentyClientThreadsAgainstTenDealerThreads() throws Exception {
        try (Cluster c = Cluster.withNodes(2);
             ExecutorService threads = Executors.newFixedThreadPool(SERVERS + CLIENTS)) {
            AtomicBoolean stop = new AtomicBoolean();
            List<Future<?>> serverLoops = new ArrayList<>();
            for (int sid = 0; sid < SERVERS; sid++) {
                Server server = c.node(0).newServer("mt").serverId(sid).start();
                Dealer dealer = server.dealer();
                int id = sid;
                serverLoops.add(threads.submit(() -> {
                    while (!stop.get()) {
                        ServerCall call = dealer.recvRequest(Duration.ofMillis(100));
                        if (call != null) {
                            // Answer: the server id, then the request, so the client can check both.
                            ByteBuffer req = call.request().buffer();
                            ByteBuffer resp = ByteBuffer.allocate(4 + req.remaining()).putInt(id).put(req).flip();
                            dealer.sendResponse(call, resp);
                        }
                    }
                    return null;
                }));
            }
            Client client = c.node(1).client("mt");
            client.awaitServers(SERVERS, Duration.ofSeconds(10));
            List<Future<?>> clientLoops = new ArrayList<>();
            for (int t = 0; t < CLIENTS; t++) {
                int thread = t;
                clientLoops.add(threads.submit(() -> {
                    Random r = new Random(thread);
                    CallOptions to = CallOptions.DEFAULT.withServerId(thread % SERVERS);
                    for (int i = 0; i < CALLS; i++) {
                        int length = thread % 3 == 0 ? r.nextInt(MAX_LARGE) : r.nextInt(50);
                        ByteBuffer payload = ByteBuffer.wrap(RANDOM, r.nextInt(RANDOM.length - length + 1), length);
                        try (Message m = client.call(0, payload.duplicate(), to)) {
                            ByteBuffer b = m.buffer();
                            assertEquals(thread % SERVERS, b.getInt());
                            assertEquals(payload, b, "the answer to this very request");
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : clientLoops) {
                f.get();
            }
            stop.set(true);
            for (Future<?> f : serverLoops) {
                f.get();
            }
        }
    }
}
