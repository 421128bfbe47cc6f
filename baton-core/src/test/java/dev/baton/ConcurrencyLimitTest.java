package dev.baton;

import dev.baton.spi.FrameType;
import dev.baton.spi.PeerIdentity;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code maxConcurrentRequestsPerConnection}: a caller that sends more than a server admits never loses its
 * connection or the calls the server admitted; a Baton caller knows the limit from the handshake and keeps the
 * rest waiting locally; a request's slot goes when its deadline passes or it is cancelled, even when its
 * handler never answers.
 */
@Timeout(60)
class ConcurrencyLimitTest {

    private static NodeOptions.Builder limited(Cluster c, String name, int limit) {
        return c.options(name).maxConcurrentRequestsPerConnection(limit);
    }

    @Test
    void aBurstBeyondTheLimitWaitsAtTheCallerAndEveryCallSucceedsOnOneConnection() throws Exception {
        try (Cluster c = new Cluster()) {
            Node server = c.join(limited(c, "server", 4).build());
            Node caller = c.join("caller");
            AtomicInteger running = new AtomicInteger();
            AtomicInteger mostAtOnce = new AtomicInteger();
            server.newServer("slow").blocking(0, call -> {
                mostAtOnce.accumulateAndGet(running.incrementAndGet(), Math::max);
                try {
                    Thread.sleep(400);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                running.decrementAndGet();
                call.reply(call.request());
            }).start();
            Client client = caller.client("slow");
            client.awaitServers(1, Duration.ofSeconds(5));
            List<CompletableFuture<Message>> calls = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                calls.add(client.callAsync(0, new byte[]{(byte) i}));
            }
            for (int i = 0; i < 10; i++) {
                try (Message m = calls.get(i).get(10, TimeUnit.SECONDS)) {
                    assertEquals(i, m.getByte(0));
                }
            }
            assertTrue(mostAtOnce.get() <= 4, "the server ran " + mostAtOnce.get() + " at once");
            assertEquals(0, server.stats().requestsRefused(), "the caller kept within the limit it was told");
            assertEquals(1, caller.stats().connectionsOpened(), "one connection, never lost");
            assertEquals(0, server.stats().protocolErrors());
        }
    }

    @Test
    void aPeerThatIgnoresTheLimitGetsRetrySafeRefusalsAndKeepsItsConnection() throws Exception {
        try (Cluster c = new Cluster()) {
            Node server = c.join(limited(c, "server", 4).build());
            CountDownLatch release = new CountDownLatch(1);
            Server slow = server.newServer("slow").blocking(0, call -> {
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                call.reply(call.request());
            }).start();
            try (RawPeer peer = new RawPeer(server.address())) {
                PeerIdentity node = peer.handshake();
                assertEquals(4, node.maxConcurrentRequests(), "the handshake tells the limit");
                int burst = 1000;
                for (int i = 1; i <= burst; i++) {
                    peer.send(RawPeer.request(i, slow.serviceId(), slow.serverId(), 0, 10_000_000_000L, new byte[]{1}));
                }
                peer.flush();
                int refused = 0;
                for (int i = 0; i < burst - 4; i++) {
                    RawPeer.Frame f = peer.read();
                    assertEquals(FrameType.RESPONSE, f.type());
                    assertEquals(Status.Code.RESOURCE_EXHAUSTED.value(), f.status(), new String(f.payload(), StandardCharsets.UTF_8));
                    assertEquals(FrameType.FLAG_REFUSED, f.flags() & FrameType.FLAG_REFUSED, "marked as never run");
                    refused++;
                }
                release.countDown();
                for (int i = 0; i < 4; i++) {
                    RawPeer.Frame f = peer.read();
                    assertEquals(0, f.status(), "the admitted requests are answered");
                }
                assertEquals(burst - 4, refused);
                peer.send(RawPeer.request(burst + 1, slow.serviceId(), slow.serverId(), 0, 10_000_000_000L, new byte[]{2}));
                peer.flush();
                assertEquals(0, peer.read().status(), "the connection still serves");
            }
            assertEquals(0, server.stats().protocolErrors());
        }
    }

    @Test
    void aPeerThatKeepsSendingButNeverReadsIsDisconnected() throws Exception {
        try (Cluster c = new Cluster()) {
            Node server = c.join(limited(c, "server", 1).build());
            CountDownLatch never = new CountDownLatch(1);
            Server stuck = server.newServer("stuck").blocking(0, call -> {
                try {
                    never.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }).start();
            try (RawPeer peer = new RawPeer(server.address())) {
                peer.handshake();
                byte[] batch = new byte[0];
                for (int i = 0; i < 1000; i++) {
                    batch = concat(batch, RawPeer.request(i + 1, stuck.serviceId(), stuck.serverId(), 0, 0, new byte[0]));
                }
                long deadline = System.nanoTime() + 30_000_000_000L;
                try {
                    // Every request but the first is refused; the refusals pile up unread until the node hangs up.
                    while (server.stats().protocolErrors() == 0 && System.nanoTime() < deadline) {
                        peer.send(batch);
                    }
                } catch (IOException expected) {
                    // the node reset the connection
                }
            } finally {
                never.countDown();
            }
            Wait.until(() -> server.stats().protocolErrors() == 1, Duration.ofSeconds(10));
            Cluster.startEcho(server, "echo");
            Client echo = c.join("caller").client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            assertEquals("still serves", new String(echo.call(0, "still serves".getBytes())));
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void handlersThatNeverAnswerLetGoOfTheirSlotsAtTheDeadline() throws Exception {
        try (Cluster c = new Cluster()) {
            Node server = c.join(limited(c, "server", 2).build());
            Node caller = c.join("caller");
            server.newServer("silent")
                    .inline(0, call -> { })                                          // returns without answering
                    .async(1, call -> new CompletableFuture<ByteBuffer>())           // a stage never completed
                    .inline(2, call -> call.reply(call.request()))
                    .start();
            Client client = caller.client("silent").withOptions(CallOptions.DEFAULT.withTimeout(Duration.ofMillis(100)));
            client.awaitServers(1, Duration.ofSeconds(5));
            for (int i = 0; i < 10; i++) {
                int method = i % 2;
                BatonException e = assertThrows(BatonException.class, () -> client.call(method, new byte[1]));
                assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
            }
            // Ten unanswered requests on a limit of two: the slots went with the deadlines.
            Wait.until(() -> answers(client, 2), Duration.ofSeconds(5));
        }
    }

    @Test
    void aCancelLetsGoOfTheSlotOfAHandlerThatNeverAnswers() throws Exception {
        try (Cluster c = new Cluster()) {
            Node server = c.join(limited(c, "server", 1).build());
            Node caller = c.join("caller");
            server.newServer("silent")
                    .inline(0, call -> { })
                    .inline(1, call -> call.reply(call.request()))
                    .start();
            Client client = caller.client("silent");
            client.awaitServers(1, Duration.ofSeconds(5));
            CompletableFuture<Message> stuck = client.callAsync(0, new byte[1]);     // 30 s deadline
            Wait.until(() -> server.stats().requestsHandled() == 1, Duration.ofSeconds(5));
            assertTrue(stuck.cancel(true));
            assertEquals(1, client.call(1, new byte[]{3}).length, "the cancelled call's slot is free");
        }
    }

    @Test
    void aBlockingHandlerThatDoesNotReturnKeepsOnlyItsOwnSlot() throws Exception {
        try (Cluster c = new Cluster()) {
            Node server = c.join(limited(c, "server", 1).build());
            Node caller = c.join("caller");
            CountDownLatch release = new CountDownLatch(1);
            server.newServer("stuck")
                    .blocking(0, call -> {
                        try {
                            release.await(20, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        call.reply(call.request());     // late: dropped
                    })
                    .inline(1, call -> call.reply(call.request()))
                    .start();
            Client client = caller.client("stuck");
            client.awaitServers(1, Duration.ofSeconds(5));
            ExecutionException e = assertThrows(ExecutionException.class, () -> client.callAsync(0, ByteBuffer.wrap(
                    new byte[1]), CallOptions.DEFAULT.withTimeout(Duration.ofMillis(100))).get(5, TimeUnit.SECONDS));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, ((BatonException) e.getCause()).code());
            // Its thread still runs it: the slot stays taken, and the server refuses (retry-safe) rather than queue.
            BatonException busy = assertThrows(BatonException.class, () -> client.call(1, new byte[1]));
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, busy.code());
            assertTrue(busy.status().retrySafe());
            release.countDown();
            Wait.until(() -> answers(client, 1), Duration.ofSeconds(5));
        }
    }

    /** True when a call to {@code method} succeeds now (a slot is free). */
    private static boolean answers(Client client, int method) {
        try {
            return client.call(method, new byte[]{7}).length == 1;
        } catch (BatonException e) {
            return false;
        }
    }
}
