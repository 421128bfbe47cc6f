package dev.baton.shm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The spin follows how much of its awake time the loop got to run, on a clock and CPU time the test sets. */
@Timeout(10)
class SpinBudgetTest {

    private static final long MS = 1_000_000L;
    private static final long SPIN = 50_000L;

    private long now;
    private long cpu;

    private final SpinBudget budget = new SpinBudget(SPIN, () -> cpu, now);

    /** One tick of {@code awakeMs} awake, {@code sleptMs} asleep, running {@code ranMs} of it. */
    private long tick(long awakeMs, long sleptMs, long ranMs) {
        now += (awakeMs + sleptMs) * MS;
        cpu += ranMs * MS;
        budget.slept(sleptMs * MS);
        budget.adjust(now);
        return budget.nanos();
    }

    /** A baseline tick, then crowded ticks (ran 20 % of the time awake) until the spin is gone: a few halvings. */
    private void crowdedUntilNoSpin() {
        tick(25, 0, 25);
        for (int i = 0; i < 16 && budget.nanos() > 0; i++) {
            tick(25, 0, 5);
        }
        assertEquals(0, budget.nanos(), "sixteen crowded ticks leave no spin");
    }

    @Test
    void aLoopKeptOffItsCoreHalvesItsSpinDownToNoneAndGetsItBackOnceItRunsFreely() {
        tick(25, 0, 25);                                  // the first tick only sets the baseline
        assertEquals(SPIN, budget.nanos());
        assertEquals(SPIN / 2, tick(25, 0, 10), "ran 40 % of its awake time: crowded");
        assertEquals(SPIN / 4, tick(25, 0, 21), "84 %: still crowded");
        assertEquals(SPIN / 4, tick(25, 0, 22), "88 %: neither, it stays");
        long spin = SPIN / 4;
        while (spin > 0) {
            spin = spin / 2 < SPIN / 64 ? 0 : spin / 2;
            assertEquals(spin, tick(25, 0, 5));
        }
        assertEquals(0, tick(25, 0, 5), "none at least");
        assertEquals(SPIN / 64, tick(25, 0, 24), "96 %: free again, it comes back from a 64th");
        assertEquals(SPIN / 32, tick(25, 0, 25));
        for (int i = 0; i < 6; i++) {
            tick(25, 0, 25);
        }
        assertEquals(SPIN, budget.nanos(), "back in full");
        assertEquals(SPIN, tick(25, 0, 25), "never above the configured spin");
    }

    @Test
    void timeAsleepIsNotAwakeTimeAndAMostlySleepingLoopSaysNothing() {
        tick(25, 0, 25);
        assertEquals(SPIN, tick(5, 20, 5), "awake 5 ms, ran all of it: the 20 ms asleep count for nothing");
        assertEquals(SPIN, tick(1, 24, 0), "awake 1 ms: too little to tell");
        assertEquals(SPIN / 2, tick(10, 15, 2), "awake 10 ms, ran 2: crowded");
    }

    @Test
    void aLoopThatSleepsBetweenMessagesGathersTicksUntilItCanTellAndGetsItsSpinBack() {
        crowdedUntilNoSpin();
        // Now it sleeps between messages: awake 1 ms a tick, all of it running. One tick says nothing, two do.
        assertEquals(0, tick(1, 24, 1), "1 ms awake: not enough yet");
        assertEquals(SPIN / 64, tick(1, 24, 1), "2 ms awake over two ticks, all run: free again");
        assertEquals(SPIN / 64, tick(1, 24, 0), "the next stretch starts afresh");
        assertEquals(0, tick(1, 24, 0), "2 ms awake, none run: crowded");
    }

    @Test
    void whatAnAlmostIdleLoopGatheredIsDroppedAfterASecond() {
        crowdedUntilNoSpin();
        tick(1, 24, 0);                                   // 1 ms awake, none of it run: not enough to tell
        for (int i = 0; i < 40; i++) {
            tick(0, 25, 0);                               // a second asleep: that 1 ms is dropped
        }
        assertEquals(SPIN / 64, tick(2, 23, 2), "judged on these 2 ms alone (with the old 1 ms: 67 %, crowded)");
    }

    @Test
    void withoutCpuTimeTheSpinStays() {
        SpinBudget fixed = new SpinBudget(SPIN, null, 0);
        fixed.adjust(25 * MS);
        fixed.adjust(50 * MS);
        assertEquals(SPIN, fixed.nanos());
    }
}
