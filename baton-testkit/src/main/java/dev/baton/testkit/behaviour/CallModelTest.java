package dev.baton.testkit.behaviour;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.ClientInterceptor;
import dev.baton.Message;
import dev.baton.Metadata;
import dev.baton.Node;
import dev.baton.ServerCall;
import dev.baton.ServerInterceptor;
import dev.baton.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static dev.baton.testkit.behaviour.Cluster.ECHO;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The call model around the payload, over the transport under test: metadata both ways, client and server
 * interceptors with their observers, and deadlines and cancellation that follow a call into the calls its handler
 * makes. Each case runs remotely (caller and server on different nodes) and, where the path differs, in process.
 */
@Timeout(60)
public abstract class CallModelTest extends BehaviourTest {

    private static final int META_ECHO = 1;
    private static final byte[] BLOB = {0, 1, 2, (byte) 0xFF};

    /** Answers with the request, and with response metadata derived from the request's. */
    private static void metaEcho(ServerCall call) {
        Metadata in = call.metadata();
        Metadata out = Metadata.EMPTY.with("seen-keys", String.join(",", in.keys()));
        if (in.containsKey("trace-id")) {
            out = out.with("trace-id", in.get("trace-id") + "-answered");
        }
        if (in.isBinary("blob")) {
            out = out.withBinary("blob", in.getBinary("blob"));
        }
        call.responseMetadata(out);
        call.reply(call.request().buffer());
    }

    @Test
    void metadataTravelsBothWaysRemoteAndInProcess() throws Exception {
        try (Cluster c = cluster(2)) {
            c.node(0).newServer("meta").inline(META_ECHO, CallModelTest::metaEcho).start();
            for (Node caller : List.of(c.node(1), c.node(0))) {       // remote, then the local short-circuit
                Client client = caller.client("meta");
                client.awaitServers(1, Duration.ofSeconds(5));
                CallOptions opts = CallOptions.DEFAULT.withMetadata(
                        Metadata.of("trace-id", "t-42").withBinary("blob", BLOB));

                Message blocking = client.call(META_ECHO, ByteBuffer.wrap(new byte[]{7}), opts);
                assertEquals("t-42-answered", blocking.metadata().get("trace-id"), "rank " + caller.rank());
                assertArrayEquals(BLOB, blocking.metadata().getBinary("blob"));
                assertEquals("blob,trace-id", sortedKeys(blocking.metadata().get("seen-keys")));
                assertEquals(1, blocking.buffer().remaining(), "the body is untouched by the metadata");

                Message async = client.callAsync(META_ECHO, ByteBuffer.wrap(new byte[5000]), opts)
                        .get(10, TimeUnit.SECONDS);
                assertEquals("t-42-answered", async.metadata().get("trace-id"));
                assertEquals(5000, async.buffer().remaining());
            }
        }
    }

    @Test
    void aFailureCarriesTheMetadataItsHandlerSet() throws Exception {
        try (Cluster c = cluster(2)) {
            c.node(0).newServer("picky").inline(ECHO, call -> {
                call.responseMetadata(Metadata.of("retry-after-ms", "250"));
                call.fail(Status.of(Status.Code.RESOURCE_EXHAUSTED, "shard busy"));
            }).start();
            for (Node caller : List.of(c.node(1), c.node(0))) {
                Client client = caller.client("picky");
                client.awaitServers(1, Duration.ofSeconds(5));
                BatonException e = assertThrows(BatonException.class, () -> client.call(ECHO, ByteBuffer.allocate(1)));
                assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.code(), "rank " + caller.rank());
                assertEquals("shard busy", e.status().description());
                assertEquals("250", e.status().metadata().get("retry-after-ms"), "rank " + caller.rank());
            }
        }
    }

    @Test
    void withoutMetadataBothSidesSeeEmpty() throws Exception {
        try (Cluster c = cluster(2)) {
            AtomicReference<Metadata> seen = new AtomicReference<>();
            c.node(0).newServer("plain").inline(ECHO, call -> {
                seen.set(call.metadata());
                call.reply(call.request().buffer());
            }).start();
            for (Node caller : List.of(c.node(1), c.node(0))) {
                Client client = caller.client("plain");
                client.awaitServers(1, Duration.ofSeconds(5));
                Message m = client.call(ECHO, ByteBuffer.wrap(new byte[]{1, 2, 3}));
                assertTrue(m.metadata().isEmpty(), "rank " + caller.rank());
                assertTrue(seen.get().isEmpty());
                assertEquals(3, m.buffer().remaining());
            }
        }
    }

    @Test
    void interceptorsRunInOrderAndTheirObserversInReverse() throws Exception {
        List<String> clientSide = Collections.synchronizedList(new ArrayList<>());
        List<String> serverSide = Collections.synchronizedList(new ArrayList<>());
        AtomicReference<Metadata> observedResponse = new AtomicReference<>();
        CountDownLatch serverEnded = new CountDownLatch(1);
        try (Cluster c = cluster()) {
            Node server = c.join(c.options("server").serverInterceptor(call -> {
                serverSide.add("C:" + call.metadata().get("from-a") + "," + call.metadata().get("from-b"));
                return (status, md) -> {
                    serverSide.add("C-end:" + status.code());
                    serverEnded.countDown();
                };
            }).build());
            Node callerNode = c.join(c.options("caller").clientInterceptor(call -> {
                clientSide.add("A");
                call.putMetadata("from-a", "a");
                return (status, md) -> {
                    clientSide.add("A-end:" + status.code());
                    observedResponse.set(md);
                };
            }).build());
            server.newServer("svc").intercept(call -> {
                serverSide.add("D");
                return (status, md) -> serverSide.add("D-end:" + status.code());
            }).inline(META_ECHO, call -> {
                serverSide.add("handler");
                metaEcho(call);
            }).start();
            ClientInterceptor b = call -> {
                clientSide.add("B:" + call.options().metadata().get("from-a"));
                call.putMetadata("from-b", "b");
                return (status, md) -> clientSide.add("B-end:" + status.code());
            };
            Client client = callerNode.client("svc").withInterceptors(b);
            client.awaitServers(1, Duration.ofSeconds(5));

            Message m = client.call(META_ECHO, ByteBuffer.wrap(new byte[]{1}));
            assertEquals("from-a,from-b", sortedKeys(m.metadata().get("seen-keys")));
            assertEquals(List.of("A", "B:a", "B-end:OK", "A-end:OK"), List.copyOf(clientSide));
            assertEquals("from-a,from-b", sortedKeys(observedResponse.get().get("seen-keys")),
                    "observers see the response's metadata");
            assertTrue(serverEnded.await(10, TimeUnit.SECONDS));
            assertEquals(List.of("C:a,b", "D", "handler", "D-end:OK", "C-end:OK"), List.copyOf(serverSide));
        }
    }

    @Test
    void aServerInterceptorRefusesBeforeTheHandlerRuns() throws Exception {
        AtomicInteger handled = new AtomicInteger();
        ServerInterceptor auth = call -> {
            if (!"let-me-in".equals(call.metadata().get("token"))) {
                throw new BatonException(Status.of(Status.Code.PERMISSION_DENIED, "no valid token"));
            }
            return null;
        };
        try (Cluster c = cluster(2)) {
            c.node(0).newServer("guarded").intercept(auth).inline(ECHO, call -> {
                handled.incrementAndGet();
                call.reply(call.request().buffer());
            }).start();
            for (Node caller : List.of(c.node(1), c.node(0))) {
                Client client = caller.client("guarded");
                client.awaitServers(1, Duration.ofSeconds(5));
                BatonException denied = assertThrows(BatonException.class,
                        () -> client.call(ECHO, ByteBuffer.wrap(new byte[]{1})));
                assertEquals(Status.Code.PERMISSION_DENIED, denied.code(), "rank " + caller.rank());
                assertTrue(denied.getMessage().contains("no valid token"), denied.getMessage());
                assertEquals(0, handled.get(), "the handler never saw the refused call");

                Message ok = client.call(ECHO, ByteBuffer.wrap(new byte[]{1}),
                        CallOptions.DEFAULT.withMetadata(Metadata.of("token", "let-me-in")));
                assertEquals(1, ok.buffer().remaining());
                handled.set(0);
            }
        }
    }

    @Test
    void aClientInterceptorRefusesBeforeAnythingIsSent() throws Exception {
        AtomicInteger handled = new AtomicInteger();
        AtomicReference<Status> firstObserverSaw = new AtomicReference<>();
        try (Cluster c = cluster(2)) {
            c.node(0).newServer("svc").inline(ECHO, call -> {
                handled.incrementAndGet();
                call.reply(call.request().buffer());
            }).start();
            Client client = c.node(1).client("svc").withInterceptors(
                    call -> (status, md) -> firstObserverSaw.set(status),
                    call -> {
                        throw new BatonException(Status.of(Status.Code.UNAUTHENTICATED, "no credentials loaded"));
                    });
            client.awaitServers(1, Duration.ofSeconds(5));
            BatonException e = assertThrows(BatonException.class, () -> client.call(ECHO, ByteBuffer.wrap(new byte[1])));
            assertEquals(Status.Code.UNAUTHENTICATED, e.code());
            assertTrue(e.status().retrySafe(), "nothing was sent: safe to try again");
            assertEquals(Status.Code.UNAUTHENTICATED, firstObserverSaw.get().code(), "earlier observers are told");
            assertEquals(0, handled.get());

            Client broken = c.node(1).client("svc").withInterceptors(call -> {
                throw new IllegalStateException("interceptor bug");
            });
            assertEquals(Status.Code.INTERNAL, assertThrows(BatonException.class,
                    () -> broken.call(ECHO, ByteBuffer.wrap(new byte[1]))).code());
            assertEquals(0, handled.get());
        }
    }

    @Test
    void aDeadlineFollowsTheCallIntoTheCallsItsHandlerMakes() throws Exception {
        for (boolean middleLocal : new boolean[]{false, true}) {
            try (Cluster c = cluster(3)) {
                AtomicLong backBudgetMs = new AtomicLong(-1);
                CountDownLatch backSawEnd = new CountDownLatch(1);
                AtomicReference<Status.Code> middleChildFailed = new AtomicReference<>();
                CountDownLatch middleDone = new CountDownLatch(1);
                c.node(2).newServer("back").blocking(ECHO, call -> {
                    backBudgetMs.set(TimeUnit.NANOSECONDS.toMillis(call.deadlineNanos() - System.nanoTime()));
                    awaitCancelled(call, backSawEnd);
                }).start();
                Node middleNode = middleLocal ? c.node(0) : c.node(1);
                middleNode.newServer("middle").blocking(ECHO, call -> {
                    Client back = middleNode.client("back");
                    try {
                        // Asks for 30 s; the served call's 400 ms bound it.
                        back.call(ECHO, ByteBuffer.wrap(new byte[1]),
                                call.childOptions().withTimeout(Duration.ofSeconds(30)));
                    } catch (BatonException e) {
                        middleChildFailed.set(e.code());
                    } finally {
                        middleDone.countDown();
                    }
                }).start();
                Client front = c.node(0).client("middle");
                front.awaitServers(1, Duration.ofSeconds(5));
                middleNode.client("back").awaitServers(1, Duration.ofSeconds(5));

                long start = System.nanoTime();
                BatonException e = assertThrows(BatonException.class, () -> front.call(ECHO,
                        ByteBuffer.wrap(new byte[1]), CallOptions.DEFAULT.withTimeout(Duration.ofMillis(400))));
                assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
                assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) < 5_000);
                assertTrue(middleDone.await(10, TimeUnit.SECONDS), "the middle's child call ended");
                assertEquals(Status.Code.DEADLINE_EXCEEDED, middleChildFailed.get(), "local middle: " + middleLocal);
                assertTrue(backBudgetMs.get() >= 0 && backBudgetMs.get() <= 400,
                        "the back's budget is the front's, not 30 s: " + backBudgetMs.get() + " ms");
                assertTrue(backSawEnd.await(10, TimeUnit.SECONDS), "the back saw its deadline pass");
            }
        }
    }

    @Test
    void cancellingACallCancelsTheCallsItsHandlerMade() throws Exception {
        for (boolean middleLocal : new boolean[]{false, true}) {
            try (Cluster c = cluster(3)) {
                CountDownLatch backStarted = new CountDownLatch(1);
                CountDownLatch backCancelled = new CountDownLatch(1);
                AtomicReference<Status.Code> childOutcome = new AtomicReference<>();
                AtomicReference<Status.Code> laterChildOutcome = new AtomicReference<>();
                CountDownLatch middleDone = new CountDownLatch(1);
                c.node(2).newServer("back").blocking(ECHO, call -> {
                    backStarted.countDown();
                    awaitCancelled(call, backCancelled);
                }).start();
                Node middleNode = middleLocal ? c.node(0) : c.node(1);
                middleNode.newServer("middle").blocking(ECHO, call -> {
                    Client back = middleNode.client("back");
                    try {
                        back.call(ECHO, ByteBuffer.wrap(new byte[1]), call.childOptions());
                    } catch (BatonException e) {
                        childOutcome.set(e.code());
                    }
                    try {
                        back.call(ECHO, ByteBuffer.wrap(new byte[1]), call.childOptions());
                    } catch (BatonException e) {
                        laterChildOutcome.set(e.code());      // the served call is over: fails at once
                    } finally {
                        middleDone.countDown();
                    }
                }).start();
                Client front = c.node(0).client("middle");
                front.awaitServers(1, Duration.ofSeconds(5));
                middleNode.client("back").awaitServers(1, Duration.ofSeconds(5));

                CompletableFuture<Message> f = front.callAsync(ECHO, ByteBuffer.wrap(new byte[1]));
                assertTrue(backStarted.await(10, TimeUnit.SECONDS), "the call reached the back");
                assertTrue(f.cancel(true));
                assertTrue(backCancelled.await(10, TimeUnit.SECONDS),
                        "the back saw the cancel (local middle: " + middleLocal + ")");
                assertTrue(middleDone.await(10, TimeUnit.SECONDS));
                assertEquals(Status.Code.CANCELLED, childOutcome.get());
                assertEquals(Status.Code.CANCELLED, laterChildOutcome.get());
            }
        }
    }

    @Test
    void optionsWithoutAScopeAreUnbounded() {
        CallOptions o = CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(1));
        assertNull(o.scope());
        assertTrue(o.metadata().isEmpty());
    }

    /** A handler's work until its call is cancelled or expires; bounded at 20 s. */
    private static void awaitCancelled(ServerCall call, CountDownLatch seen) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < until) {
            if (call.isCancelled()) {
                seen.countDown();
                return;
            }
            Thread.sleep(2);
        }
    }

    private static String sortedKeys(String commaSeparated) {
        List<String> keys = new ArrayList<>(List.of(commaSeparated.split(",")));
        Collections.sort(keys);
        return String.join(",", keys);
    }
}
