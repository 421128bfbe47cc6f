package dev.baton.testkit.registry;

import dev.baton.BatonException;
import dev.baton.Coordination;
import dev.baton.Node;
import dev.baton.Status;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Barriers; see {@link RegistryConformanceTest} for what is pinned. */
abstract class BarrierConformance extends ConformanceBase {

    BarrierConformance(Supplier<RegistryUnderTest> starter) {
        super(starter);
    }

    @Test
    void aBarrierReleasesEveryPartyOnlyOnceAllHaveArrivedRoundAfterRound() throws Exception {
        String[] rounds = {"b1", "b1", "b2", "b1"};
        int parties = 4;
        List<Coordination> nodes = new ArrayList<>();
        for (int p = 0; p < parties; p++) {
            nodes.add(members.node("n" + p).coordination());
        }
        AtomicInteger[] arrived = counters(rounds.length);
        AtomicInteger[] returned = counters(rounds.length);
        int[][] arrivedWhenReturning = new int[rounds.length][parties];
        int[][] returnedWhenArriving = new int[rounds.length][parties];
        List<Future<?>> done = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(parties)) {
            for (int p = 0; p < parties; p++) {
                int party = p;
                Coordination co = nodes.get(p);
                done.add(pool.submit(() -> {
                    for (int r = 0; r < rounds.length; r++) {
                        LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(20_000_000L));   // staggered arrivals
                        returnedWhenArriving[r][party] = returned[r].get();
                        arrived[r].incrementAndGet();
                        co.barrier(rounds[r], parties, LONG);
                        arrivedWhenReturning[r][party] = arrived[r].get();
                        returned[r].incrementAndGet();
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(40, TimeUnit.SECONDS);
            }
        }
        for (int r = 0; r < rounds.length; r++) {
            for (int p = 0; p < parties; p++) {
                assertEquals(parties, arrivedWhenReturning[r][p], "round " + r + ": party " + p + " returned early");
                assertEquals(0, returnedWhenArriving[r][p], "round " + r + ": someone returned before party " + p
                        + " arrived");
            }
        }
    }

    @Test
    void aBarrierWaitThatTimesOutThrowsDeadlineExceededAndLeavesTheRound() throws Exception {
        Coordination a = members.node("a").coordination();
        Coordination b = members.node("b").coordination();
        long t0 = System.nanoTime();
        BatonException e = assertFails(Status.Code.DEADLINE_EXCEEDED, () -> a.barrier("bt", 2, Duration.ofMillis(200)));
        long ms = Await.msSince(t0);
        assertTrue(ms >= 190 && ms < 200 + TIMEOUT_SLACK.toMillis(), "timed out after " + ms + " ms: " + e);
        assertTrue(roundIsEmpty(b, "bt", 2), "a's arrival no longer counts, and the round forgot its parties");
        openTogether(a, b, "bt");
    }

    @Test
    void theFirstArrivalFixesTheRoundsPartiesAndBadArgumentsAreInvalid() throws Exception {
        Coordination a = members.node("a").coordination();
        Coordination b = members.node("b").coordination();
        assertFails(Status.Code.INVALID_ARGUMENT, () -> a.barrier("bm", 0, LONG));
        assertFails(Status.Code.INVALID_ARGUMENT, () -> a.barrier("bm", -1, LONG));
        assertFails(Status.Code.INVALID_ARGUMENT, () -> a.barrier("n".repeat(4_097), 1, LONG));
        a.barrier("n".repeat(4_096), 1, Duration.ZERO);
        try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Future<Status.Code> first = pool.submit(() -> outcome(() -> a.barrier("bm", 2, LONG)));
            awaitRoundOf(b, "bm", 2);       // b asks with 3 parties until it meets a's round: INVALID_ARGUMENT
            b.barrier("bm", 2, LONG);       // the refused call did not count: a's round still waits for a second
            assertEquals(Status.Code.OK, first.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void aZeroTimeoutReturnsOnlyWhenTheCallCompletesTheRound() throws Exception {
        Coordination a = members.node("a").coordination();
        Coordination b = members.node("b").coordination();
        Coordination c = members.node("c").coordination();
        a.barrier("z1", 1, Duration.ZERO);
        a.barrier("z1", 1, Duration.ZERO);
        long t0 = System.nanoTime();
        assertFails(Status.Code.DEADLINE_EXCEEDED, () -> a.barrier("z2", 2, Duration.ZERO));
        assertTrue(Await.msSince(t0) < TIMEOUT_SLACK.toMillis(), "a zero timeout does not wait");
        try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Future<Status.Code> waiting = pool.submit(() -> outcome(() -> b.barrier("z2", 2, LONG)));
            awaitRoundOf(c, "z2", 2);
            a.barrier("z2", 2, Duration.ZERO);
            assertEquals(Status.Code.OK, waiting.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void eachCallCountsOnceSoThreadsOfOneNodeAreSeparateParties() throws Exception {
        Coordination co = members.node("a").coordination();
        int threads = 3;
        List<Future<Status.Code>> calls = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int i = 0; i < threads; i++) {
                calls.add(pool.submit(() -> outcome(() -> co.barrier("threads", threads, LONG))));
            }
            for (Future<Status.Code> f : calls) {
                assertEquals(Status.Code.OK, f.get(30, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void anArrivalOfANodeThatClosesIsWithdrawnAndItsWaitFailsWithUnavailable() throws Exception {
        Node closing = members.node("closing");
        Coordination b = members.node("b").coordination();
        Coordination c = members.node("c").coordination();
        try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Future<Status.Code> waiting = pool.submit(() -> outcome(() -> closing.coordination().barrier("w", 2, LONG)));
            awaitRoundOf(c, "w", 2);
            closing.close();
            assertEquals(Status.Code.UNAVAILABLE, waiting.get(10, TimeUnit.SECONDS));
        }
        Await.until("the arrival is withdrawn", () -> roundIsEmpty(c, "w", 2), CONVERGE);
        openTogether(b, c, "w");
    }

    // ------------------------------------------------------------------ probes, shared with other areas

    /**
     * Waits until barrier {@code name} has a round of {@code parties} with an arrival in it, without joining it:
     * a call with other parties is INVALID_ARGUMENT while such a round waits, and a zero-timeout call that does
     * not complete a round leaves no arrival behind.
     */
    static void awaitRoundOf(Coordination co, String name, int parties) {
        Await.until("barrier '" + name + "' has a waiting round of " + parties,
                () -> probe(co, name, parties + 1) == Status.Code.INVALID_ARGUMENT, CONVERGE);
    }

    /** True when barrier {@code name} has no arrival waiting (probing with other parties than {@code parties}). */
    static boolean roundIsEmpty(Coordination co, String name, int parties) {
        return probe(co, name, parties + 1) == Status.Code.DEADLINE_EXCEEDED;
    }

    private static Status.Code probe(Coordination co, String name, int parties) {
        try {
            co.barrier(name, parties, Duration.ZERO);
            return Status.Code.OK;
        } catch (BatonException e) {
            return e.code();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** Two parties open barrier {@code name} of 2 together: it works (again). */
    static void openTogether(Coordination one, Coordination two, String name) throws Exception {
        try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Future<Status.Code> other = pool.submit(() -> outcome(() -> one.barrier(name, 2, LONG)));
            two.barrier(name, 2, LONG);
            assertEquals(Status.Code.OK, other.get(10, TimeUnit.SECONDS));
        }
    }

    private static AtomicInteger[] counters(int n) {
        AtomicInteger[] a = new AtomicInteger[n];
        for (int i = 0; i < n; i++) {
            a[i] = new AtomicInteger();
        }
        return a;
    }
}
