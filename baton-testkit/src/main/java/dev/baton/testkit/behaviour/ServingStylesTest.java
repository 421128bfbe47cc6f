package dev.baton.testkit.behaviour;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Dealer;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.Server;
import dev.baton.ServerCall;
import dev.baton.Status;
import dev.baton.testkit.Wait;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Inline, blocking, async handlers and dealers, over the transport under test and in process. */
@Timeout(60)
public abstract class ServingStylesTest extends BehaviourTest {

    @Test
    public void asyncHandlerAnswersWhenItsStageCompletes() throws Exception {
        try (Cluster c = cluster(2)) {
            c.node(0).newServer("async")
                    .async(0, call -> CompletableFuture.supplyAsync(() -> ByteBuffer.wrap(("async:" + call.request().size()).getBytes())))
                    .async(1, call -> CompletableFuture.failedFuture(new IllegalArgumentException("nope")))
                    .start();
            Client client = c.node(1).client("async");
            client.awaitServers(1, Duration.ofSeconds(5));
            assertEquals("async:7", new String(client.call(0, new byte[7])));
            BatonException e = assertThrows(BatonException.class, () -> client.call(1, new byte[1]));
            assertEquals(Status.Code.HANDLER_FAILED, e.code());
            assertTrue(e.getMessage().contains("nope"));
        }
    }

    @Test
    public void blockingHandlerRunsOffTheIoThreadOnAVirtualThread() throws Exception {
        try (Cluster c = cluster(2)) {
            AtomicReference<Thread> ran = new AtomicReference<>();
            c.node(0).newServer("blocking").blocking(0, call -> {
                ran.set(Thread.currentThread());
                call.reply(new byte[]{1});
            }).start();
            Client client = c.node(1).client("blocking");
            client.awaitServers(1, Duration.ofSeconds(5));
            assertEquals(1, client.call(0, new byte[0])[0]);
            assertTrue(ran.get().isVirtual());
        }
    }

    @Test
    public void dealerPullsRequestsAndAnswersThem() throws Exception {
        try (Cluster c = cluster(2)) {
            Server server = c.node(0).newServer("pull").start();
            Dealer dealer = server.dealer();
            assertNull(dealer.recvRequest(Duration.ofMillis(10)));
            Client client = c.node(1).client("pull");
            client.awaitServers(1, Duration.ofSeconds(5));
            CompletableFuture<Message> f = client.callAsync(3, "pull me".getBytes());
            ServerCall call = dealer.recvRequest(Duration.ofSeconds(5));
            assertNotNull(call);
            assertEquals(3, call.method());
            assertEquals(c.node(1).rank(), call.sourceRank());
            dealer.sendResponse(call, ByteBuffer.wrap("pulled".getBytes()));
            try (Message m = f.get(5, TimeUnit.SECONDS)) {
                assertEquals("pulled", new String(m.toByteArray()));
            }
            assertThrows(IllegalStateException.class, () -> call.reply(new byte[0]));
        }
    }

    @Test
    public void aBlockingCallFromAnInlineHandlerFailsFastInsteadOfDeadlocking() throws Exception {
        try (Cluster c = cluster(2)) {
            Cluster.startEcho(c.node(1), "echo");
            Client echo = c.node(0).client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            // An inline handler runs on the I/O thread that would have to read the nested call's response.
            c.node(0).newServer("nested").inline(0, call -> {
                try {
                    echo.call(0, new byte[1]);
                    call.reply("no error".getBytes());
                } catch (BatonException e) {
                    call.reply(e.code().name().getBytes());
                }
            }).start();
            Client nested = c.node(1).client("nested");
            nested.awaitServers(1, Duration.ofSeconds(5));
            long t0 = System.nanoTime();
            assertEquals("INVALID_ARGUMENT", new String(nested.call(0, new byte[0])));
            assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "failed fast, not at the deadline");
        }
    }

    @Test
    public void dealersStillTakeWhatWasQueuedWhenTheServerClosesThenGetNull() throws Exception {
        try (Cluster c = cluster(2)) {
            Server server = c.node(0).newServer("pull").start();
            c.node(0).newServer("ping").inline(0, call -> call.reply(call.request())).start();
            Client client = c.node(1).client("pull");
            Client ping = c.node(1).client("ping");
            client.awaitServers(1, Duration.ofSeconds(5));
            ping.awaitServers(1, Duration.ofSeconds(5));
            List<CompletableFuture<Message>> calls = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                calls.add(client.callAsync(0, new byte[]{(byte) i}));
            }
            // Queued for certain: node 0 reads this thread's requests in order, and queues each as it reads it, so
            // the ping's answer comes after all three are in the queue (its request counter alone counts a request
            // a moment before that).
            ping.call(0, new byte[1]);
            assertEquals(3, c.node(0).stats().requestsReceived() - 1);
            server.close();
            Dealer dealer = server.dealer();
            for (int i = 0; i < 3; i++) {
                ServerCall call = dealer.recvRequest(Duration.ofSeconds(5));
                assertNotNull(call, "request " + i + " queued before the close is still handed out");
                call.reply(call.request());
            }
            long t0 = System.nanoTime();
            assertNull(dealer.recvRequest(Duration.ofSeconds(5)), "closed and drained");
            assertTrue(System.nanoTime() - t0 < 1_000_000_000L, "null at once once closed and drained");
            for (int i = 0; i < 3; i++) {
                try (Message m = calls.get(i).get(5, TimeUnit.SECONDS)) {
                    assertEquals(i, m.getByte(0));
                }
            }
        }
    }

    @Test
    public void requestsNoDealerTookByTheDrainTimeoutAreRefusedRetrySafe() throws Exception {
        try (Cluster c = cluster()) {
            Node serverNode = c.join(c.options("server").drainTimeout(Duration.ofMillis(300)).build());
            Node callerNode = c.join("caller");
            Server server = serverNode.newServer("pull").start();
            serverNode.newServer("ping").inline(0, call -> call.reply(call.request())).start();
            Client client = callerNode.client("pull");
            Client ping = callerNode.client("ping");
            client.awaitServers(1, Duration.ofSeconds(5));
            ping.awaitServers(1, Duration.ofSeconds(5));
            CompletableFuture<Message> f = client.callAsync(0, new byte[1]);
            // Queued for certain once the ping is answered: the server node reads this thread's requests in order.
            // (Its request counter counts a request a moment before it is queued: a close in that moment finds no
            // server and refuses it NO_SUCH_SERVER, which is right, but not what this test is about.)
            ping.call(0, new byte[1]);
            server.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
            BatonException b = (BatonException) e.getCause();
            assertEquals(Status.Code.UNAVAILABLE, b.code());
            assertTrue(b.status().retrySafe(), "no dealer took it: it never ran");
        }
    }

    /**
     * Two nodes close while one serves the other's call: each says GOAWAY to the other, and the serving node must
     * still answer before it hangs up (it once closed a connection that a GOAWAY reached while it was closing, at its
     * next idle check, with the request still in its handler), while the caller's drain waits for the answer.
     */
    @Test
    public void aClosingNodeAnswersACallerThatIsClosingToo() throws Exception {
        try (Cluster c = cluster()) {
            Node serverNode = c.join(c.options("server").drainTimeout(Duration.ofSeconds(30)).build());
            Node callerNode = c.join(c.options("caller").drainTimeout(Duration.ofSeconds(30)).build());
            CountDownLatch release = new CountDownLatch(1);
            serverNode.newServer("slow").blocking(0, call -> {
                try {
                    release.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                call.reply(new byte[] {7});
            }).start();
            Client client = callerNode.client("slow");
            client.awaitServers(1, Duration.ofSeconds(5));
            CompletableFuture<Message> f = client.callAsync(0, new byte[1]);
            Wait.until(() -> serverNode.stats().requestsHandled() == 1, Duration.ofSeconds(5));
            Thread serverCloser = Thread.ofPlatform().start(serverNode::close);
            Thread callerCloser = Thread.ofPlatform().start(callerNode::close);
            try {
                Thread.sleep(200);      // both GOAWAYs arrive, and each node looks at its connection (every 5 ms)
                assertFalse(f.isDone(), "the call is still being served: " + f);
            } finally {
                release.countDown();
                serverCloser.join(20_000);
                callerCloser.join(20_000);
            }
            try (Message m = f.get(10, TimeUnit.SECONDS)) {
                assertEquals(7, m.getByte(0));
            }
        }
    }

    @Test
    public void oneWayCallsRunTheHandlerAndExpectNoAnswer() throws Exception {
        try (Cluster c = cluster(2)) {
            CountDownLatch got = new CountDownLatch(100);
            AtomicInteger oneWayFlags = new AtomicInteger();
            c.node(0).newServer("sink").inline(0, call -> {
                if (call.isOneWay()) {
                    oneWayFlags.incrementAndGet();
                }
                got.countDown();
                call.reply(new byte[0]);
            }).start();
            Client client = c.node(1).client("sink");
            client.awaitServers(1, Duration.ofSeconds(5));
            for (int i = 0; i < 100; i++) {
                client.oneWay(0, ByteBuffer.wrap(new byte[]{(byte) i}));
            }
            assertTrue(got.await(5, TimeUnit.SECONDS));
            assertEquals(100, oneWayFlags.get());
        }
    }

    @Test
    public void inProcessCallsHandTheBufferOverWithoutACopy() throws Exception {
        try (Cluster c = cluster(1)) {
            Node node = c.node(0);
            AtomicReference<ByteBuffer> seen = new AtomicReference<>();
            node.newServer("local").inline(0, call -> {
                seen.set(call.request().buffer());
                call.reply(call.request().buffer());
            }).blocking(1, call -> call.reply(new byte[]{42})).start();
            Client client = node.client("local");
            client.awaitServers(1, Duration.ofSeconds(5));
            ByteBuffer direct = ByteBuffer.allocateDirect(1 << 20);
            direct.put(0, (byte) 7);
            try (Message m = client.call(0, direct)) {
                assertEquals(7, m.buffer().get(0));
                // Same memory: a write through the caller's buffer shows in the handler's view.
                direct.put(1, (byte) 9);
                assertEquals(9, seen.get().get(1));
            }
            assertEquals(42, client.call(1, new byte[0])[0]);
            assertEquals(0, node.stats().connectionsOpened());
        }
    }

    @Test
    public void failFastCallsGetResourceExhaustedWhenThePeerStopsReading() throws Exception {
        try (Cluster c = cluster()) {
            Node server = c.join("server");
            Node caller = c.join(c.options("caller").maxQueuedBytesPerPeer(1 << 20).build());
            CountDownLatch release = new CountDownLatch(1);
            // An inline handler that blocks holds the server's only I/O thread: it stops reading.
            server.newServer("stuck").inline(0, call -> {
                release.await(20, TimeUnit.SECONDS);
                call.reply(new byte[0]);
            }).start();
            Client client = caller.client("stuck").withOptions(CallOptions.DEFAULT.withFailFast(true)
                    .withTimeout(Duration.ofSeconds(20)));
            client.awaitServers(1, Duration.ofSeconds(5));
            BatonException rejected = null;
            ByteBuffer chunk = ByteBuffer.allocate(256 << 10);
            for (int i = 0; i < 10_000 && rejected == null; i++) {
                try {
                    client.callAsync(0, chunk.duplicate());
                } catch (BatonException e) {
                    rejected = e;
                }
                CompletableFuture<Message> f = client.callAsync(0, chunk.duplicate());
                if (f.isCompletedExceptionally()) {
                    rejected = (BatonException) f.exceptionNow();
                }
            }
            release.countDown();
            assertNotNull(rejected, "the send queue never filled");
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, rejected.code());
            assertTrue(rejected.status().retrySafe());
        }
    }
}
