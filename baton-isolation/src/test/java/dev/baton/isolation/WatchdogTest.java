package dev.baton.isolation;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The watchdog in this JVM, with an {@code onOverrun} hook instead of the halt: real nodes over TCP, handlers that
 * hang until released.
 */
@Timeout(60)
class WatchdogTest {

    private final BlockingQueue<Watchdog.Overrun> overruns = new LinkedBlockingQueue<>();
    private final CountDownLatch release = new CountDownLatch(1);
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        release.countDown();
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private <T extends AutoCloseable> T closing(T resource) {
        toClose.add(resource);
        return resource;
    }

    private Watchdog watchdog(Duration limit, Duration grace) {
        return closing(Watchdog.builder().limit(limit).grace(grace).onOverrun(overruns::add).start());
    }

    /** A master, a server node (with {@code options} applied) and a caller node; returns the caller. */
    private Node[] cluster(java.util.function.UnaryOperator<NodeOptions.Builder> options) {
        Master master = closing(Master.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                Duration.ofSeconds(30)));
        Node server = closing(Node.join(options.apply(NodeOptions.builder().master(master.address()).name("server"))
                .build()));
        Node caller = closing(Node.join(NodeOptions.builder().master(master.address()).name("caller").build()));
        return new Node[]{server, caller};
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private void hang() {
        try {
            release.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void anOverrunIsReportedOnceWithTheCallsDetails() throws Exception {
        Watchdog watchdog = watchdog(Duration.ofMillis(300), Duration.ofSeconds(5));
        Node[] nodes = cluster(watchdog::addTo);
        AtomicLong servedId = new AtomicLong(-1);
        nodes[0].newServer("wd").blocking(7, call -> {
            servedId.set(call.requestId());
            hang();
            call.reply(bytes("late"));
        }).start();
        Client client = nodes[1].client("wd");
        client.awaitServers(1, Duration.ofSeconds(10));
        long start = System.nanoTime();
        CompletableFuture<Message> call = client.callAsync(7, java.nio.ByteBuffer.wrap(bytes("x")),
                CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(20)));
        Watchdog.Overrun o = overruns.poll(10, TimeUnit.SECONDS);
        long seen = System.nanoTime() - start;
        assertNotNull(o, "no overrun reported");
        assertEquals("wd", o.service());
        assertEquals(7, o.method());
        assertEquals(servedId.get(), o.requestId());
        assertEquals(nodes[1].rank(), o.sourceRank());
        assertFalse(o.byDeadline());
        assertEquals(Duration.ofMillis(300), o.bound());
        assertTrue(o.ranFor().compareTo(Duration.ofMillis(300)) >= 0, o.toString());
        assertTrue(seen >= 300_000_000L, "reported after " + seen / 1_000_000 + " ms");
        String line = o.message();
        assertTrue(line.startsWith("baton watchdog: the handler of service wd method 7 (request " + servedId.get()),
                line);
        assertTrue(line.contains("past its limit (300 ms)"), line);
        assertNull(overruns.poll(700, TimeUnit.MILLISECONDS), "reported twice");
        assertEquals(0, watchdog.armedCount());
        release.countDown();
        try (Message m = call.get(10, TimeUnit.SECONDS)) {
            assertEquals("late", StandardCharsets.UTF_8.decode(m.buffer()).toString());
        }
    }

    @Test
    void callsAnsweredInTimeNeverFire() throws Exception {
        Watchdog watchdog = watchdog(Duration.ofSeconds(1), Duration.ZERO);
        Node[] nodes = cluster(watchdog::addTo);
        nodes[0].newServer("quick")
                .inline(0, call -> call.reply(call.request()))
                .blocking(1, call -> {
                    Thread.sleep(150);
                    call.reply(bytes("slowish"));
                })
                .blocking(2, call -> call.fail("no"))
                .start();
        Client client = nodes[1].client("quick");
        client.awaitServers(1, Duration.ofSeconds(10));
        for (int i = 0; i < 200; i++) {
            assertEquals("hi", new String(client.call(0, bytes("hi")), StandardCharsets.UTF_8));
        }
        assertEquals("slowish", new String(client.call(1, bytes("")), StandardCharsets.UTF_8));
        assertThrows(BatonException.class, () -> client.call(2, bytes("")));
        assertNull(overruns.poll(800, TimeUnit.MILLISECONDS), "an answered call was reported");
        assertEquals(0, watchdog.armedCount());
    }

    @Test
    void theCallsOwnDeadlinePlusGraceBoundsAGuardedHandler() throws Exception {
        Watchdog watchdog = watchdog(Duration.ofSeconds(30), Duration.ofMillis(300));
        Node[] nodes = cluster(b -> b);
        nodes[0].newServer("guarded")
                .blocking(0, watchdog.guard(call -> {
                    hang();                                   // ignores the cancellation
                    call.reply(bytes("late"));
                }))
                .blocking(1, watchdog.guard(call -> {
                    while (!call.isCancelled()) {             // notices it, and returns within the grace
                        Thread.sleep(10);
                    }
                }))
                .start();
        Client client = nodes[1].client("guarded");
        client.awaitServers(1, Duration.ofSeconds(10));

        BatonException polite = assertThrows(BatonException.class, () -> client.call(1, java.nio.ByteBuffer.wrap(
                bytes("")), CallOptions.DEFAULT.withTimeout(Duration.ofMillis(200))).close());
        assertEquals(Status.Code.DEADLINE_EXCEEDED, polite.status().code());
        assertNull(overruns.poll(800, TimeUnit.MILLISECONDS), "a handler that returned within the grace was reported");

        long start = System.nanoTime();
        CompletableFuture<Message> call = client.callAsync(0, java.nio.ByteBuffer.wrap(bytes("")),
                CallOptions.DEFAULT.withTimeout(Duration.ofMillis(200)));
        ExecutionException e = assertThrows(ExecutionException.class, () -> call.get(10, TimeUnit.SECONDS));
        assertEquals(Status.Code.DEADLINE_EXCEEDED,
                assertInstanceOf(BatonException.class, e.getCause()).status().code());
        Watchdog.Overrun o = overruns.poll(10, TimeUnit.SECONDS);
        long seen = (System.nanoTime() - start) / 1_000_000;
        assertNotNull(o, "no overrun reported");
        assertTrue(o.byDeadline(), o.toString());
        assertEquals("guarded", o.service());
        assertEquals(0, o.method());
        assertTrue(o.bound().compareTo(Duration.ofMillis(500)) <= 0, o.toString());
        assertTrue(seen >= 400 && seen < 5_000, "reported " + seen + " ms after the call, not at deadline + grace");
        assertTrue(o.message().contains("past its deadline plus grace"), o.message());
        assertNull(overruns.poll(500, TimeUnit.MILLISECONDS), "reported twice");
    }

    @Test
    void closeStopsTheThreadAndLaterRequestsAreNotWatched() throws Exception {
        Watchdog watchdog = watchdog(Duration.ofMillis(100), Duration.ZERO);
        assertTrue(watchdog.isRunning());
        assertTrue(Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals("baton-watchdog") && t.isDaemon()));
        watchdog.close();
        assertFalse(watchdog.isRunning());
        watchdog.close();   // idempotent
        Node[] nodes = cluster(watchdog::addTo);
        nodes[0].newServer("after").blocking(0, call -> {
            Thread.sleep(400);
            call.reply(bytes("ok"));
        }).start();
        Client client = nodes[1].client("after");
        client.awaitServers(1, Duration.ofSeconds(10));
        assertEquals("ok", new String(client.call(0, bytes("")), StandardCharsets.UTF_8));
        assertNull(overruns.poll(200, TimeUnit.MILLISECONDS));
        assertEquals(0, watchdog.armedCount());
    }

    @Test
    void theBuilderRefusesNonsense() {
        assertThrows(IllegalArgumentException.class, () -> Watchdog.builder().limit(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> Watchdog.builder().grace(Duration.ofMillis(-1)));
        assertThrows(IllegalArgumentException.class, () -> Watchdog.builder().exitCode(0));
        assertThrows(IllegalArgumentException.class, () -> Watchdog.builder().exitCode(256));
        assertEquals(86, Watchdog.EXIT_CODE);
    }
}
