package dev.baton.isolation;

import dev.baton.BatonException;
import dev.baton.Status;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** What the isolation tests share: small, quick-starting worker JVMs, and the checks that nothing is left behind. */
final class PoolTesting {

    /** Workers are JVMs: small heaps, C1 only, the CDS archive, no perf data file. */
    static final List<String> JVM = List.of("-Xmx64m", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
            "-XX:+UseSerialGC", "-XX:-UsePerfData", "-XX:-CreateCoredumpOnCrash",
            "-XX:ErrorFile=target/hs_err_pid%p.log", "--enable-native-access=ALL-UNNAMED");
    static final Duration KILL_GRACE = Duration.ofMillis(500);
    static final Duration STARTUP = Duration.ofSeconds(60);

    private PoolTesting() {
    }

    static WorkerPool.Builder builder(String name) {
        return WorkerPool.builder(name).jvmOptions(JVM).killGrace(KILL_GRACE).handler(Misbehave.class);
    }

    static ByteBuffer utf8(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    static String text(ByteBuffer b) {
        return StandardCharsets.UTF_8.decode(b.duplicate()).toString();
    }

    static CompletableFuture<ByteBuffer> submit(WorkerPool pool, String request, Duration timeout) {
        return pool.submit(Misbehave.class, utf8(request), timeout);
    }

    /** The status the call failed with; fails the test if it succeeded. */
    static Status failure(CompletableFuture<ByteBuffer> call, Duration wait) throws Exception {
        try {
            ByteBuffer r = call.get(wait.toMillis(), TimeUnit.MILLISECONDS);
            fail("the call succeeded with '" + text(r) + "'");
            throw new AssertionError();
        } catch (ExecutionException e) {
            return assertInstanceOf(BatonException.class, e.getCause()).status();
        }
    }

    static void assertStatus(Status s, Status.Code code, String says) {
        assertEquals(code, s.code(), s.toString());
        assertTrue(s.description() != null && s.description().contains(says), s + " should say '" + says + "'");
    }

    /**
     * Waits until the pool is whole again (every worker ready, none being stopped) and no process this JVM started,
     * children of children included, is alive but the pool's workers.
     */
    static void assertOnlyWorkersLeft(WorkerPool pool) throws InterruptedException {
        assertTrue(pool.awaitReady(STARTUP), "the pool is not whole again: " + pool.stats());
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<String> others;
        do {
            Set<Long> workers = Set.copyOf(pool.stats().workerPids());
            others = ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
                    .filter(p -> !workers.contains(p.pid()))
                    .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList();
            if (others.isEmpty()) {
                return;
            }
            Thread.sleep(50);
        } while (System.nanoTime() < end);
        fail("processes left behind besides the workers " + pool.stats().workerPids() + ": " + others);
    }

    /** Every process this JVM started, children of children included, but those in {@code except}. */
    static List<ProcessHandle> descendantsExcept(Set<Long> except) {
        return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
                .filter(p -> !except.contains(p.pid())).toList();
    }

    static String echo(WorkerPool pool, String s) throws Exception {
        return text(submit(pool, "echo:" + s, Duration.ofSeconds(20)).get(30, TimeUnit.SECONDS));
    }
}
