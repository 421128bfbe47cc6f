package dev.baton.isolation;

import dev.baton.Status;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static dev.baton.isolation.PoolTesting.assertStatus;
import static dev.baton.isolation.PoolTesting.failure;
import static dev.baton.isolation.PoolTesting.submit;
import static dev.baton.isolation.PoolTesting.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The maximum message size, both ways: a request over it is refused, a response over it fails only its call. */
@Timeout(60)
class IsolatedLimitsTest {

    @Test
    void messagesOverTheLimitFailTheirCallAndTheWorkerServesOn() throws Exception {
        try (WorkerPool pool = PoolTesting.builder("limits").maxMessageSize(1024).start()) {
            assertTrue(pool.awaitReady(PoolTesting.STARTUP), pool.stats().toString());
            Status request = failure(pool.submit(Misbehave.class, ByteBuffer.allocate(1025), Duration.ofSeconds(5)),
                    Duration.ofSeconds(5));
            assertStatus(request, Status.Code.MESSAGE_TOO_LARGE, "request of 1025 bytes");
            assertTrue(request.retrySafe(), "it was not sent");

            String pid = text(submit(pool, "pid", Duration.ofSeconds(10)).get(10, TimeUnit.SECONDS));
            Status response = failure(submit(pool, "big:2000", Duration.ofSeconds(10)), Duration.ofSeconds(10));
            assertStatus(response, Status.Code.MESSAGE_TOO_LARGE, "response of 2000 bytes");
            assertFalse(response.retrySafe(), "the handler ran");
            assertEquals(1024, submit(pool, "big:1024", Duration.ofSeconds(10)).get(10, TimeUnit.SECONDS).remaining());
            assertEquals(pid, text(submit(pool, "pid", Duration.ofSeconds(10)).get(10, TimeUnit.SECONDS)),
                    "the same worker serves on");
            assertEquals(0, pool.stats().restarts());
        }
    }

    @Test
    void aWorkerIsReplacedAfterItsShareOfCalls() throws Exception {
        try (WorkerPool pool = PoolTesting.builder("recycle").maxCallsPerWorker(2).start()) {
            assertTrue(pool.awaitReady(PoolTesting.STARTUP), pool.stats().toString());
            String first = text(submit(pool, "pid", Duration.ofSeconds(10)).get(10, TimeUnit.SECONDS));
            assertEquals(first, text(submit(pool, "pid", Duration.ofSeconds(10)).get(10, TimeUnit.SECONDS)));
            String third = text(submit(pool, "pid", Duration.ofSeconds(10)).get(10, TimeUnit.SECONDS));
            assertNotEquals(first, third, "the worker was replaced after 2 calls");
            assertTrue(pool.awaitReady(PoolTesting.STARTUP), pool.stats().toString());
            assertEquals(1, pool.stats().recycled());
            assertEquals(0, pool.stats().crashCount(), "a recycled worker is not a crash");
            assertEquals(java.util.Set.copyOf(pool.stats().workerPids()),
                    java.util.Set.copyOf(PoolTesting.descendantsExcept(java.util.Set.of()).stream()
                            .map(ProcessHandle::pid).toList()), "only the live workers remain");
        }
    }

    @Test
    void aHandlerThatCannotBeMadeKeepsThePoolUnreadyAndCallsTimeOut() throws Exception {
        try (WorkerPool pool = WorkerPool.builder("unmakeable").jvmOptions(PoolTesting.JVM)
                .handler(ThrowingConstructor.class).start()) {
            assertFalse(pool.awaitReady(Duration.ofSeconds(3)), "no worker can start: " + pool.stats());
            Status s = failure(pool.submit(ThrowingConstructor.class, ByteBuffer.allocate(1), Duration.ofMillis(500)),
                    Duration.ofSeconds(5));
            assertStatus(s, Status.Code.DEADLINE_EXCEEDED, "no worker of pool 'unmakeable' was free");
            assertEquals(0, pool.stats().alive());
        }
        assertEquals(java.util.List.of(), PoolTesting.descendantsExcept(java.util.Set.of()), "left after close");
    }

    /** A handler whose constructor throws in the worker: the worker exits before it is ready. */
    public static class ThrowingConstructor implements IsolatedHandler {
        public ThrowingConstructor() {
            throw new IllegalStateException("no GPU here");
        }

        @Override
        public ByteBuffer handle(IsolatedCall call) {
            return null;
        }
    }
}
