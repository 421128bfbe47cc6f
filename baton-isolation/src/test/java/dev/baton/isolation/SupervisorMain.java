package dev.baton.isolation;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A supervisor JVM for {@link IsolatedNoOrphansTest}: a pool of 2 workers and a spare, both workers busy with a
 * handler that started a grandchild ignoring SIGTERM; prints {@code DIR} and the pool's socket directory, then
 * {@code PIDS} and every process it started, then waits to be killed.
 */
public final class SupervisorMain {

    private SupervisorMain() {
    }

    public static void main(String[] args) throws Exception {
        WorkerPool pool = PoolTesting.builder("orphans").workers(2).spares(1).start();
        if (!pool.awaitReady(PoolTesting.STARTUP)) {
            System.out.println("FAILED " + pool.stats());
            return;
        }
        System.out.println("DIR " + pool.directory());
        for (int i = 0; i < 2; i++) {
            pool.submit(Misbehave.class, PoolTesting.utf8("grandchild"), Duration.ofMinutes(10));
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        // 3 workers, and under each busy one sh (trap '' TERM) and its sleep
        while (ProcessHandle.current().descendants().count() < 7 && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        System.out.println("PIDS " + ProcessHandle.current().descendants().map(p -> Long.toString(p.pid()))
                .collect(Collectors.joining(" ")));
        Thread.sleep(Long.MAX_VALUE);
    }
}
