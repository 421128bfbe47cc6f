package dev.baton.isolation;

import dev.baton.Status;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.baton.isolation.PoolTesting.assertOnlyWorkersLeft;
import static dev.baton.isolation.PoolTesting.assertStatus;
import static dev.baton.isolation.PoolTesting.echo;
import static dev.baton.isolation.PoolTesting.failure;
import static dev.baton.isolation.PoolTesting.submit;
import static dev.baton.isolation.PoolTesting.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One real worker pool (2 workers, 1 spare: three JVMs) and every way a handler can go wrong: each call gets its
 * typed status within its deadline plus a bounded grace, the worker's whole process tree is gone afterwards, the
 * pool is whole again, and the next call is served.
 */
@Timeout(60)
class IsolatedHandlersTest {

    /** The caller's deadline plus this is when a deadline's answer must have come (it comes at the deadline). */
    private static final Duration SLACK = Duration.ofMillis(1000);
    private static final Duration DEADLINE = Duration.ofMillis(1000);

    private static WorkerPool pool;

    @BeforeAll
    static void startPool() throws Exception {
        long t0 = System.nanoTime();
        pool = PoolTesting.builder("misbehave").workers(2).spares(1).start();
        assertTrue(pool.awaitReady(PoolTesting.STARTUP), "workers did not start: " + pool.stats());
        System.out.printf("[isolation] 3 workers started in parallel in %d ms%n", ms(System.nanoTime() - t0));
    }

    @AfterAll
    static void closePool() {
        if (pool != null) {
            System.out.println("[isolation] " + pool.stats());
            pool.close();
            assertEquals(0, PoolTesting.descendantsExcept(java.util.Set.of()).size(), "processes left after close");
        }
    }

    @AfterEach
    void poolIsWholeAndServes() throws Exception {
        assertOnlyWorkersLeft(pool);
        assertEquals("after", echo(pool, "after").substring(5));
    }

    @Test
    void aHandlerThatLoopsForeverIsStoppedAtItsDeadline() throws Exception {
        expectDeadline("loop");
    }

    @Test
    void aHandlerThatSleepsIsStoppedAtItsDeadline() throws Exception {
        expectDeadline("sleep");
    }

    @Test
    void aGrandchildThatIgnoresSigtermIsKilledWithItsWorker() throws Exception {
        expectDeadline("grandchild");
    }

    @Test
    void systemExitIsReportedWithItsCode() throws Exception {
        Status s = expectCrash("exit:3");
        assertStatus(s, Status.Code.WORKER_CRASHED, "exited with code 3");
        assertFalse(s.retrySafe(), "the work ran: not retry-safe");
    }

    @Test
    void haltIsReportedWithItsCode() throws Exception {
        assertStatus(expectCrash("halt:7"), Status.Code.WORKER_CRASHED, "exited with code 7");
    }

    @Test
    void outOfMemoryIsReportedAsSuch() throws Exception {
        assertStatus(expectCrash("oom"), Status.Code.WORKER_CRASHED, "ran out of memory (java.lang.OutOfMemoryError");
    }

    @Test
    void stackOverflowIsReportedAndTheWorkerReplaced() throws Exception {
        assertStatus(expectCrash("soe"), Status.Code.WORKER_CRASHED, "overflowed its stack");
    }

    @Test
    void anErrorIsReportedAndTheWorkerReplaced() throws Exception {
        assertStatus(expectCrash("error"), Status.Code.WORKER_CRASHED, "threw java.lang.AssertionError: boom");
    }

    @Test
    void aSignalIsReportedByName() throws Exception {
        assertStatus(expectCrash("kill9"), Status.Code.WORKER_CRASHED, "killed by signal 9 (SIGKILL)");
    }

    @Test
    void aNativeCrashIsReportedAsSuch() throws Exception {
        assertStatus(expectCrash("segv"), Status.Code.WORKER_CRASHED, "crashed natively (SIGSEGV;");
    }

    @Test
    void anExceptionFailsTheCallAndTheWorkerKeepsServing() throws Exception {
        String pid = text(submit(pool, "pid", DEADLINE).get(10, TimeUnit.SECONDS));
        long restarts = pool.stats().restarts();
        assertStatus(failure(submit(pool, "throw:x", DEADLINE), Duration.ofSeconds(10)), Status.Code.HANDLER_FAILED,
                "IllegalStateException: bad input x");
        assertEquals(pid, text(submit(pool, "pid", DEADLINE).get(10, TimeUnit.SECONDS)), "the same worker serves on");
        assertEquals(restarts, pool.stats().restarts(), "no worker was replaced");
    }

    @Test
    void aCancelledCallStopsItsWorker() throws Exception {
        long kills = pool.stats().cancelKills();
        CompletableFuture<ByteBuffer> call = submit(pool, "sleep", Duration.ofSeconds(30));
        Thread.sleep(300);
        call.cancel(true);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (pool.stats().cancelKills() == kills && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        assertEquals(kills + 1, pool.stats().cancelKills(), "the cancelled call's worker was stopped");
    }

    @Test
    void aCrashingWorkerDoesNotFailAnotherWorkersCall() throws Exception {
        CompletableFuture<ByteBuffer> slow = submit(pool, "sleepecho:1500:survived", Duration.ofSeconds(20));
        Thread.sleep(200);   // on its worker
        assertStatus(failure(submit(pool, "exit:4", Duration.ofSeconds(20)), Duration.ofSeconds(20)),
                Status.Code.WORKER_CRASHED, "exited with code 4");
        assertEquals("survived", text(slow.get(20, TimeUnit.SECONDS)));
    }

    private static void expectDeadline(String request) throws Exception {
        long kills = pool.stats().deadlineKills();
        long t0 = System.nanoTime();
        Status s = failure(submit(pool, request, DEADLINE), DEADLINE.plus(Duration.ofSeconds(10)));
        long took = System.nanoTime() - t0;
        assertStatus(s, Status.Code.DEADLINE_EXCEEDED, "ran past the call's deadline");
        assertTrue(took >= DEADLINE.toNanos() - TimeUnit.MILLISECONDS.toNanos(5), "answered before the deadline");
        assertTrue(took <= DEADLINE.plus(SLACK).toNanos(), "answered " + ms(took) + " ms after the call, deadline "
                + DEADLINE.toMillis() + " ms");
        long stopped = System.nanoTime();
        assertOnlyWorkersLeft(pool);
        System.out.printf("[isolation] %s: DEADLINE_EXCEEDED after %d ms (deadline %d ms); tree gone and pool whole "
                + "%d ms later%n", request, ms(took), DEADLINE.toMillis(), ms(System.nanoTime() - stopped));
        assertEquals(kills + 1, pool.stats().deadlineKills());
    }

    /** The crash's status, having measured the time from the failure to the next call served (by a spare). */
    private static Status expectCrash(String request) throws Exception {
        long t0 = System.nanoTime();
        Status s = failure(submit(pool, request, Duration.ofSeconds(30)), Duration.ofSeconds(30));
        long failed = System.nanoTime();
        assertTrue(failed - t0 < TimeUnit.SECONDS.toNanos(10), "the crash took " + ms(failed - t0) + " ms to report");
        assertEquals("next", echo(pool, "next").substring(5));
        long served = System.nanoTime();
        assertOnlyWorkersLeft(pool);
        System.out.printf("[isolation] %s: %s after %d ms; next call served %.1f ms after the failure; "
                        + "replacement ready %d ms after it%n", request, s, ms(failed - t0), (served - failed) / 1e6,
                ms(System.nanoTime() - failed));
        return s;
    }

    static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }
}
