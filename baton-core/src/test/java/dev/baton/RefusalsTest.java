package dev.baton;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A request a server turns away before any handler sees it did not run: the caller gets a retry-safe error (the
 * fact travels on the wire with the refusal), and a call that named no server moves to another server of the
 * service. A failure given by a handler is never retry-safe: the handler ran.
 */
@Timeout(60)
class RefusalsTest {

    private static BatonException failure(Runnable call) {
        return assertThrows(BatonException.class, call::run);
    }

    @Test
    void aMissingMethodIsRefusedRetrySafeRemotelyAndInProcess() throws Exception {
        try (Cluster c = Cluster.withNodes(2)) {
            Cluster.startEcho(c.node(0), "svc");
            Client remote = c.node(1).client("svc");
            remote.awaitServers(1, Duration.ofSeconds(5));
            Client local = c.node(0).client("svc");
            for (Client client : new Client[]{remote, local}) {
                BatonException e = failure(() -> client.call(77, new byte[1]));
                assertEquals(Status.Code.NO_SUCH_METHOD, e.code());
                assertTrue(e.status().retrySafe(), "refused before any handler ran: " + e);
            }
            assertEquals(2, c.node(0).stats().requestsRefused());
        }
    }

    @Test
    void aFullDealerQueueRefusesRetrySafe() throws Exception {
        try (Cluster c = Cluster.withNodes(2)) {
            c.node(0).newServer("pull").dealerQueueCapacity(1).start();
            Client client = c.node(1).client("pull");
            client.awaitServers(1, Duration.ofSeconds(5));
            CompletableFuture<Message> queued = client.callAsync(0, new byte[1]);
            Wait.until(() -> c.node(0).stats().requestsReceived() == 1, Duration.ofSeconds(5));
            BatonException e = failure(() -> client.call(0, new byte[1]));
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.code());
            assertTrue(e.status().retrySafe(), e.toString());
            queued.cancel(true);
        }
    }

    @Test
    void aRefusedCallMovesToAnotherServerOfTheServiceWhateverItsIdempotency() throws Exception {
        try (Cluster c = Cluster.withNodes(3)) {
            // rank 0: a pull server whose one-slot queue is full; rank 1: an echo server of the same service.
            Server full = c.node(0).newServer("svc").dealerQueueCapacity(1).start();
            AtomicInteger echoed = new AtomicInteger();
            c.node(1).newServer("svc").inline(0, call -> {
                echoed.incrementAndGet();
                call.reply(call.request());
            }).start();
            Client client = c.node(2).client("svc");
            client.awaitServers(2, Duration.ofSeconds(5));
            CompletableFuture<Message> filler = client.callAsync(0, ByteBuffer.wrap(new byte[1]),
                    CallOptions.DEFAULT.withServerId(full.serverId()));
            Wait.until(() -> c.node(0).stats().requestsReceived() == 1, Duration.ofSeconds(5));
            for (int i = 0; i < 20; i++) {
                assertEquals(1, client.call(0, new byte[]{(byte) i}).length);   // not idempotent, never fails
            }
            assertEquals(20, echoed.get(), "each call ran once, on the server that accepted it");
            assertTrue(c.node(0).stats().requestsRefused() > 0, "round robin did try the full server");
            assertEquals(c.node(0).stats().requestsRefused(), c.node(2).stats().reroutes(),
                    "every refused attempt was counted as a reroute by the caller");
            filler.cancel(true);
        }
    }

    @Test
    void aRefusalFromTheOnlyServerFailsAtOnceRetrySafe() throws Exception {
        try (Cluster c = Cluster.withNodes(2)) {
            Server full = c.node(0).newServer("svc").dealerQueueCapacity(1).start();
            Client client = c.node(1).client("svc");
            client.awaitServers(1, Duration.ofSeconds(5));
            CompletableFuture<Message> filler = client.callAsync(0, new byte[1]);
            Wait.until(() -> c.node(0).stats().requestsReceived() == 1, Duration.ofSeconds(5));
            long refusedBefore = c.node(0).stats().requestsRefused();
            BatonException e = failure(() -> client.call(0, new byte[1]));
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.code());
            assertEquals(refusedBefore + 1, c.node(0).stats().requestsRefused(), "not sent back to the server that refused");
            filler.cancel(true);
            full.close();
        }
    }

    @Test
    void aHandlerFailureIsNeverRetrySafeAndNeverMoves() throws Exception {
        try (Cluster c = Cluster.withNodes(3)) {
            AtomicInteger ran = new AtomicInteger();
            for (int n = 0; n < 2; n++) {
                c.node(n).newServer("svc").inline(0, call -> {
                    ran.incrementAndGet();
                    throw Status.of(Status.Code.RESOURCE_EXHAUSTED, "my own limit").withRetrySafe(true).asException();
                }).start();
            }
            Client client = c.node(2).client("svc");
            client.awaitServers(2, Duration.ofSeconds(5));
            BatonException e = failure(() -> client.call(0, new byte[1]));
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.code());
            assertFalse(e.status().retrySafe(), "the handler ran: " + e);
            assertEquals(1, ran.get(), "never sent to a second server");
        }
    }

    @Test
    void aServerThatClosedRefusesNewRequestsRetrySafe() throws Exception {
        try (Cluster c = Cluster.withNodes(2)) {
            Server s = c.node(0).newServer("svc").inline(0, call -> call.reply(call.request())).start();
            Client client = c.node(1).client("svc").withOptions(CallOptions.DEFAULT.withServerId(s.serverId()));
            client.awaitServers(1, Duration.ofSeconds(5));
            s.close();
            // The caller may still route to it until the removal reaches it; the server refuses meanwhile.
            CompletableFuture<Message> f = client.callAsync(0, new byte[1]);
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
            BatonException b = (BatonException) e.getCause();
            assertTrue(b.code() == Status.Code.NO_SUCH_SERVER || b.code() == Status.Code.NO_SUCH_SERVICE, b.toString());
            assertTrue(b.status().retrySafe(), b.toString());
        }
    }
}
