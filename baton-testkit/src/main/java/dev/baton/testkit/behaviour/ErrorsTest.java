package dev.baton.testkit.behaviour;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.Status;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static dev.baton.testkit.behaviour.Cluster.ECHO;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every error a caller can cause comes back typed, over the transport under test. One cluster serves the whole
 * class (a server node, and a client node whose maximum message size is 1 MiB).
 */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class ErrorsTest extends BehaviourTest {

    static final int SLEEPY = 1;
    static final int THROWS = 2;
    static final int BIG_ANSWER = 3;
    private Cluster cluster;
    private Client client;
    private final CountDownLatch cancelled = new CountDownLatch(1);

    @BeforeAll
    protected final void startCluster() throws Exception {
        cluster = cluster();
        cluster.join("server");
        cluster.join(cluster.options("client").maxMessageSize(1 << 20).build());
        cluster.node(0).newServer("svc")
                .inline(ECHO, call -> call.reply(call.request().buffer()))
                .blocking(SLEEPY, call -> {
                    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(call.request().buffer().getInt());
                    while (System.nanoTime() < until) {
                        if (call.isCancelled()) {
                            cancelled.countDown();
                        }
                        Thread.sleep(5);        // the handler's work, not a wait for a condition
                    }
                    call.reply(call.request().buffer());
                })
                .inline(THROWS, call -> {
                    throw new IllegalStateException("bad state in handler");
                })
                .inline(BIG_ANSWER, call -> call.reply(new byte[2 << 20]))
                .start();
        client = cluster.node(1).client("svc");
        client.awaitServers(1, Duration.ofSeconds(5));
    }

    @AfterAll
    protected final void closeCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    static Status.Code codeOf(Runnable r) {
        return assertThrows(BatonException.class, r::run).code();
    }

    @Test
    public void unknownServiceIsNoSuchService() {
        Client nobody = cluster.node(1).client("nobody");
        BatonException e = assertThrows(BatonException.class, () -> nobody.call(0, new byte[1]));
        assertEquals(Status.Code.NO_SUCH_SERVICE, e.code());
        assertTrue(e.status().retrySafe());
    }

    @Test
    public void unknownServerIdIsNoSuchServer() {
        assertEquals(Status.Code.NO_SUCH_SERVER,
                codeOf(() -> client.call(0, ByteBuffer.allocate(1), CallOptions.DEFAULT.withServerId(7))));
    }

    @Test
    public void unknownRankIsNoSuchRank() {
        assertEquals(Status.Code.NO_SUCH_RANK,
                codeOf(() -> client.call(0, ByteBuffer.allocate(1), CallOptions.DEFAULT.withRank(42))));
    }

    @Test
    public void unknownMethodIsNoSuchMethod() {
        assertEquals(Status.Code.NO_SUCH_METHOD, codeOf(() -> client.call(99, new byte[1])));
    }

    @Test
    public void oversizedRequestFailsOnTheSenderBeforeSending() {
        long before = cluster.node(0).stats().requestsHandled();
        BatonException e = assertThrows(BatonException.class, () -> client.call(0, new byte[(1 << 20) + 1]));
        assertEquals(Status.Code.MESSAGE_TOO_LARGE, e.code());
        assertTrue(e.getMessage().contains("1048577"), e.getMessage());
        assertEquals(before, cluster.node(0).stats().requestsHandled());
        // The connection is unharmed.
        assertEquals(3, client.call(0, new byte[3]).length);
    }

    @Test
    public void responseLargerThanTheCallersMaximumIsMessageTooLarge() {
        BatonException e = assertThrows(BatonException.class, () -> client.call(BIG_ANSWER, new byte[1]));
        assertEquals(Status.Code.MESSAGE_TOO_LARGE, e.code());
        assertEquals(3, client.call(0, new byte[3]).length);
    }

    @Test
    public void aTooLargeFirstCallFailsAloneWhileTheConnectionStillShakesHands() throws Exception {
        Node small = cluster.join(cluster.options("small-first").maxMessageSize(1 << 20).build());
        small.newServer("small-first").inline(0, call -> call.reply(call.request())).start();
        Client toSmall = cluster.node(0).client("small-first");
        toSmall.awaitServers(1, Duration.ofSeconds(5));
        // Both offered at once on a connection that is only starting: the peer's limit is not known yet.
        CompletableFuture<Message> big = toSmall.callAsync(0, ByteBuffer.allocate(2 << 20));
        CompletableFuture<Message> tiny = toSmall.callAsync(0, ByteBuffer.allocate(10));
        ExecutionException e = assertThrows(ExecutionException.class, () -> big.get(10, TimeUnit.SECONDS));
        BatonException cause = (BatonException) e.getCause();
        assertEquals(Status.Code.MESSAGE_TOO_LARGE, cause.code());
        assertTrue(cause.status().retrySafe());
        try (Message m = tiny.get(10, TimeUnit.SECONDS)) {
            assertEquals(10, m.size());
        }
        assertEquals(0, small.stats().protocolErrors(), "the small node never saw the oversized frame");
    }

    @Test
    public void requestLargerThanTheServersMaximumFailsOnTheSender() throws Exception {
        cluster.node(1).newServer("small").inline(0, call -> call.reply(call.request().buffer())).start();
        Client toSmall = cluster.node(0).client("small");
        toSmall.awaitServers(1, Duration.ofSeconds(5));
        assertEquals(10, toSmall.call(0, new byte[10]).length);      // connects; learns the peer's limit
        BatonException e = assertThrows(BatonException.class, () -> toSmall.call(0, new byte[2 << 20]));
        assertEquals(Status.Code.MESSAGE_TOO_LARGE, e.code());
        assertTrue(e.status().retrySafe());
        assertEquals(10, toSmall.call(0, new byte[10]).length);
    }

    @Test
    public void throwingHandlerIsHandlerFailedWithItsMessage() {
        BatonException e = assertThrows(BatonException.class, () -> client.call(THROWS, new byte[1]));
        assertEquals(Status.Code.HANDLER_FAILED, e.code());
        assertTrue(e.getMessage().contains("bad state in handler"), e.getMessage());
    }

    @Test
    public void handlerSleepingPastTheDeadlineGivesDeadlineExceededAndTheLateResponseIsDropped() throws Exception {
        Client c = client.withOptions(CallOptions.DEFAULT.withTimeout(Duration.ofMillis(200)));
        long late = cluster.node(1).stats().lateResponses();
        long t0 = System.nanoTime();
        BatonException e = assertThrows(BatonException.class,
                () -> c.call(SLEEPY, ByteBuffer.allocate(4).putInt(0, 600)));
        long tookMs = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
        assertTrue(tookMs >= 190 && tookMs < 200 + 150, "took " + tookMs + " ms");
        // The server saw the cancellation (the caller tells it) ...
        assertTrue(cancelled.await(5, TimeUnit.SECONDS));
        // ... and the next call on the same client gets its own response.
        try (Message m = c.call(SLEEPY, ByteBuffer.allocate(4).putInt(0, 1))) {
            assertEquals(1, m.buffer().getInt());
        }
        assertTrue(cluster.node(1).stats().lateResponses() >= late);
    }

    @Test
    public void cancellingTheFutureCompletesItOnceAndTellsTheServer() throws Exception {
        CompletableFuture<Message> f = client.callAsync(SLEEPY, ByteBuffer.allocate(4).putInt(0, 300));
        assertTrue(f.cancel(true));
        assertTrue(f.isCancelled());
        assertThrows(CancellationException.class, f::get);
        assertTrue(f.isDone());
    }

    @Test
    public void asyncCallFailsWithTypedErrorToo() {
        CompletableFuture<Message> f = client.callAsync(THROWS, new byte[1]);
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
        assertEquals(Status.Code.HANDLER_FAILED, ((BatonException) e.getCause()).code());
    }
}
