package dev.baton.internal.tls;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The background checks' thread runs while its owner is in use and ends once nothing else holds the owner. */
@Timeout(30)
class EverySecondTest {

    private static final class Owner {
        final AtomicInteger runs = new AtomicInteger();
    }

    @Test
    void itRunsEverySecondAndEndsOnceTheOwnerIsCollected() throws Exception {
        Owner owner = new Owner();
        AtomicInteger runs = owner.runs;
        Thread thread = EverySecond.start("every-second-test", owner, o -> o.runs.incrementAndGet());
        long until = System.nanoTime() + 5_000_000_000L;
        while (runs.get() < 2 && System.nanoTime() - until < 0) {
            Thread.sleep(50);
        }
        assertTrue(runs.get() >= 2, "ran " + runs.get() + " times in 5 s");
        assertTrue(thread.isAlive());

        owner = null;       // the only strong reference: the thread holds it weakly
        until = System.nanoTime() + 20_000_000_000L;
        while (thread.isAlive() && System.nanoTime() - until < 0) {
            System.gc();
            thread.join(200);
        }
        assertTrue(!thread.isAlive(), "the thread still runs 20 s after its owner became unreachable");
    }
}
