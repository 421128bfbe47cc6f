package dev.baton.isolation;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static dev.baton.isolation.PoolTesting.assertOnlyWorkersLeft;
import static dev.baton.isolation.PoolTesting.assertStatus;
import static dev.baton.isolation.PoolTesting.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Through a real Baton cluster: a master, a node whose server runs method 3 in a worker pool (and method 4 inline,
 * for comparison), and a client node calling it over TCP. Also measures what isolation costs per call.
 */
@Timeout(120)
class IsolatedEndToEndTest {

    private static final int ISOLATED = 3;
    private static final int INLINE = 4;

    private static WorkerPool pool;
    private static Master master;
    private static Node server;
    private static Node caller;
    private static Client client;

    @BeforeAll
    static void start() throws Exception {
        pool = PoolTesting.builder("e2e").workers(1).spares(1).maxQueued(0).start();
        // A long lease: on a starved 2-core machine a node's pings can lag; membership is not what is tested here.
        master = Master.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), Duration.ofSeconds(30));
        server = Node.join(NodeOptions.builder().master(master.address()).name("server").build());
        caller = Node.join(NodeOptions.builder().master(master.address()).name("caller")
                .defaultTimeout(Duration.ofSeconds(20)).build());
        server.newServer("iso")
                .async(ISOLATED, pool.handler(Misbehave.class))
                .inline(INLINE, call -> call.reply(call.request().buffer()))
                .start();
        client = caller.client("iso");
        client.awaitServers(1, Duration.ofSeconds(10));
        assertTrue(pool.awaitReady(PoolTesting.STARTUP), "workers did not start: " + pool.stats());
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[]{caller, server, master, pool}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void aCrashReachesTheRemoteCallerTypedAndTheNextCallIsServed() throws Exception {
        // Meanwhile the server's other calls keep going: its listener is not the worker.
        CompletableFuture<Integer> others = CompletableFuture.supplyAsync(() -> {
            int ok = 0;
            for (int i = 0; i < 300; i++) {
                ok += call(INLINE, "inline", Duration.ofSeconds(5)).equals("inline") ? 1 : 0;
            }
            return ok;
        });
        BatonException e = assertThrows(BatonException.class, () -> call(ISOLATED, "exit:3", Duration.ofSeconds(20)));
        assertStatus(e.status(), Status.Code.WORKER_CRASHED, "exited with code 3");
        assertEquals(false, e.status().retrySafe());
        assertEquals("echo:next", call(ISOLATED, "echo:next", Duration.ofSeconds(20)));
        assertEquals(300, others.get(30, TimeUnit.SECONDS), "inline calls served during the crash");
        assertOnlyWorkersLeft(pool);
    }

    @Test
    void theWorkerSeesTheMethodTheMetadataAndTheDeadline() throws Exception {
        try (Message m = client.call(ISOLATED, utf8("whoami"), CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(20))
                .withMetadata(dev.baton.Metadata.of("k", "v")))) {
            assertEquals("3 v true", PoolTesting.text(m.buffer()));
        }
    }

    @Test
    void aDeadlineReachesTheRemoteCallerAndTheWorkerIsReplaced() throws Exception {
        // The server's deadline and the CANCEL the caller sends when its own passes race (the server's is the later by
        // the request's transit): either stops the worker, and either is this deadline's doing.
        long kills = pool.stats().deadlineKills() + pool.stats().cancelKills();
        long t0 = System.nanoTime();
        BatonException e = assertThrows(BatonException.class, () -> call(ISOLATED, "loop", Duration.ofMillis(800)));
        long took = System.nanoTime() - t0;
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.status().code(), e.toString());
        assertTrue(took < TimeUnit.MILLISECONDS.toNanos(800 + 1000), "took " + took / 1_000_000 + " ms");
        // The caller's failure may come first: the kill can follow it by a tick of the server's deadline timer.
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (pool.stats().deadlineKills() + pool.stats().cancelKills() == kills && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        assertEquals(kills + 1, pool.stats().deadlineKills() + pool.stats().cancelKills(), pool.stats().toString());
        assertOnlyWorkersLeft(pool);
        assertEquals("echo:after", call(ISOLATED, "echo:after", Duration.ofSeconds(20)));
    }

    @Test
    void aBusyPoolRefusesRetrySafe() throws Exception {
        CompletableFuture<Message> busy = client.callAsync(ISOLATED, utf8("sleepecho:1000:done"),
                CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(20)));
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (pool.stats().busy() == 0 && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        BatonException e = assertThrows(BatonException.class, () -> call(ISOLATED, "echo:x", Duration.ofSeconds(5)));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.status().code(), e.toString());
        assertTrue(e.status().retrySafe(), "refused before it ran: " + e.status());
        try (Message m = busy.get(20, TimeUnit.SECONDS)) {
            assertEquals("done", PoolTesting.text(m.buffer()));
        }
    }

    @Test
    void overheadPerCallAgainstAnInProcessHandler() throws Exception {
        ByteBuffer small = utf8("echo:0123456789a");    // 16 bytes
        int warm = 2000;
        int n = 5000;
        long[] inline = measure(warm, n, () -> client.call(INLINE, small.duplicate()));
        long[] isolated = measure(warm, n, () -> client.call(ISOLATED, small.duplicate()));
        long[] direct = measure(warm, n, () -> {
            try {
                return pool.submit(Misbehave.class, small.duplicate(), Duration.ofSeconds(20)).get();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        ByteBuffer mib = ByteBuffer.allocateDirect(1 << 20);
        long[] inlineLarge = measure(50, 200, () -> client.call(INLINE, mib.duplicate()));
        long[] isolatedLarge = measure(50, 200, () -> client.call(ISOLATED, mib.duplicate()));
        long[] directLarge = measure(50, 200, () -> {
            try {
                return pool.submit(Misbehave.class, mib.duplicate(), Duration.ofSeconds(20)).get();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        System.out.printf("[isolation] 16 B calls over TCP, inline handler:        %s%n", summary(inline));
        System.out.printf("[isolation] 16 B calls over TCP, isolated handler:      %s%n", summary(isolated));
        System.out.printf("[isolation] 16 B WorkerPool.submit (no RPC):             %s%n", summary(direct));
        System.out.printf("[isolation] isolation overhead per 16 B call: p50 +%.1f us, mean +%.1f us%n",
                (pct(isolated, 50) - pct(inline, 50)) / 1e3, (mean(isolated) - mean(inline)) / 1e3);
        System.out.printf("[isolation] 1 MiB echo over TCP, inline:   %s (%.0f MB/s each way)%n", summary(inlineLarge),
                (1 << 20) / (pct(inlineLarge, 50) / 1e9) / 1e6);
        System.out.printf("[isolation] 1 MiB echo over TCP, isolated: %s (%.0f MB/s each way)%n", summary(isolatedLarge),
                (1 << 20) / (pct(isolatedLarge, 50) / 1e9) / 1e6);
        System.out.printf("[isolation] 1 MiB WorkerPool.submit (no RPC): %s (%.0f MB/s each way)%n", summary(directLarge),
                (1 << 20) / (pct(directLarge, 50) / 1e9) / 1e6);
    }

    private static String call(int method, String request, Duration timeout) {
        try (Message m = client.call(method, utf8(request), CallOptions.DEFAULT.withTimeout(timeout))) {
            return PoolTesting.text(m.buffer());
        }
    }

    private static long[] measure(int warm, int n, Supplier<Object> call) {
        for (int i = 0; i < warm; i++) {
            close(call.get());
        }
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            close(call.get());
            t[i] = System.nanoTime() - t0;
        }
        Arrays.sort(t);
        return t;
    }

    private static void close(Object o) {
        if (o instanceof Message m) {
            m.close();
        }
    }

    private static long pct(long[] sorted, int p) {
        return sorted[Math.min(sorted.length - 1, sorted.length * p / 100)];
    }

    private static double mean(long[] t) {
        return Arrays.stream(t).average().orElse(0);
    }

    private static String summary(long[] t) {
        return String.format("p50 %.1f us, p99 %.1f us, mean %.1f us (%d calls)", pct(t, 50) / 1e3, pct(t, 99) / 1e3,
                mean(t) / 1e3, t.length);
    }
}
