package dev.baton.isolation;

import dev.baton.Status;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.baton.isolation.PoolTesting.assertOnlyWorkersLeft;
import static dev.baton.isolation.PoolTesting.assertStatus;
import static dev.baton.isolation.PoolTesting.failure;
import static dev.baton.isolation.PoolTesting.submit;
import static dev.baton.isolation.PoolTesting.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One worker (and a spare), one queued call at most: the queue's bound, its deadlines, and closing with calls. */
@Timeout(60)
class IsolatedQueueTest {

    private WorkerPool pool;

    @BeforeEach
    void start() throws Exception {
        pool = PoolTesting.builder("queue").workers(1).spares(1).maxQueued(1).start();
        assertTrue(pool.awaitReady(PoolTesting.STARTUP), "workers did not start: " + pool.stats());
    }

    @AfterEach
    void close() {
        pool.close();
        assertEquals(Set.of(), Set.copyOf(PoolTesting.descendantsExcept(Set.of())), "processes left after close");
    }

    @Test
    void aFullQueueRefusesRetrySafeAndTheOthersAreServed() throws Exception {
        CompletableFuture<ByteBuffer> running = submit(pool, "sleepecho:1000:a", Duration.ofSeconds(20));
        CompletableFuture<ByteBuffer> queued = submit(pool, "echo:b", Duration.ofSeconds(20));
        Status refused = failure(submit(pool, "echo:c", Duration.ofSeconds(20)), Duration.ofSeconds(1));
        assertStatus(refused, Status.Code.RESOURCE_EXHAUSTED, "did not run");
        assertTrue(refused.retrySafe(), "a refused call did not run: retry-safe");
        assertEquals("a", text(running.get(20, TimeUnit.SECONDS)));
        assertEquals("echo:b", text(queued.get(20, TimeUnit.SECONDS)));
        assertEquals(1, pool.stats().queueFull());
        assertOnlyWorkersLeft(pool);
    }

    @Test
    void aQueuedCallTimesOutWithoutStoppingTheBusyWorker() throws Exception {
        CompletableFuture<ByteBuffer> running = submit(pool, "sleepecho:1000:a", Duration.ofSeconds(20));
        long t0 = System.nanoTime();
        Status s = failure(submit(pool, "echo:q", Duration.ofMillis(300)), Duration.ofSeconds(5));
        assertStatus(s, Status.Code.DEADLINE_EXCEEDED, "no worker of pool 'queue' was free");
        assertTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(1300), "answered at its deadline");
        assertEquals("a", text(running.get(20, TimeUnit.SECONDS)));
        assertEquals(0, pool.stats().deadlineKills(), "the busy worker was left alone");
        assertEquals(0, pool.stats().restarts());
    }

    @Test
    void closingFailsRunningCallsAndRefusesQueuedOnesAndRemovesTheSockets() throws Exception {
        CompletableFuture<ByteBuffer> running = submit(pool, "sleep", Duration.ofSeconds(30));
        CompletableFuture<ByteBuffer> queued = submit(pool, "echo:q", Duration.ofSeconds(30));
        Thread.sleep(200);
        long t0 = System.nanoTime();
        pool.close();
        long took = System.nanoTime() - t0;
        assertStatus(failure(running, Duration.ofSeconds(1)), Status.Code.CLOSED, "was closed while a worker ran");
        Status q = failure(queued, Duration.ofSeconds(1));
        assertStatus(q, Status.Code.UNAVAILABLE, "is closed");
        assertTrue(q.retrySafe(), "a queued call did not run");
        assertFalse(Files.exists(pool.socketDirectory()), "socket directory left: " + pool.socketDirectory());
        assertStatus(failure(submit(pool, "echo:late", Duration.ofSeconds(1)), Duration.ofSeconds(1)),
                Status.Code.UNAVAILABLE, "is closed");
        assertEquals(0, pool.stats().alive());
        System.out.printf("[isolation] close with a call running: %d ms%n", TimeUnit.NANOSECONDS.toMillis(took));
    }

    @Test
    void closingWhileWorkersStartLeavesNothingBehind() throws Exception {
        WorkerPool early = PoolTesting.builder("early").workers(2).spares(1).start();
        CompletableFuture<ByteBuffer> queued = submit(early, "echo:q", Duration.ofSeconds(30));
        Thread.sleep(50);   // their processes being created
        early.close();
        Status s = failure(queued, Duration.ofSeconds(1));
        assertStatus(s, Status.Code.UNAVAILABLE, "is closed");
        assertTrue(s.retrySafe());
        assertFalse(Files.exists(early.socketDirectory()));
        Set<Long> mine = Set.copyOf(pool.stats().workerPids());
        assertEquals(List.of(), PoolTesting.descendantsExcept(mine).stream()
                .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList(),
                "the early pool's workers outlived its close; the other pool: " + pool.stats());
    }

    @Test
    void onlyDeclaredHandlerClassesAreAccepted() {
        assertThrows(IllegalArgumentException.class, () -> pool.submit(Undeclared.class, ByteBuffer.allocate(1),
                Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> WorkerPool.builder("x").handler(NoConstructor.class));
    }

    /** A handler the pool was not built with. */
    public static class Undeclared implements IsolatedHandler {
        @Override
        public ByteBuffer handle(IsolatedCall call) {
            return null;
        }
    }

    /** A handler a worker could not make. */
    public static class NoConstructor implements IsolatedHandler {
        public NoConstructor(int x) {
        }

        @Override
        public ByteBuffer handle(IsolatedCall call) {
            return null;
        }
    }
}
