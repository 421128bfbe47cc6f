package dev.baton.accumulator;

/**
 * One role's share of the flush thread, in the spirit of Agrona's {@code Agent}: a {@link DutyRunner} calls
 * {@link #doWork} of each of its duties in turn, over and over, on its one thread, and parks that thread only
 * when a whole cycle did nothing, for no longer than every duty's {@link #idleLimitNs} allows.
 *
 * <h2>Threads</h2>
 * {@link #onStart}, {@link #doWork} and {@link #idleLimitNs} run on the runner's thread only, so a duty's
 * loop state needs no lock. {@link #onClose} runs on the thread that closes the runner, once the runner's
 * thread has ended (never while it may still run), so the loop state is handed over, never shared. Other
 * threads that have something for a duty set a flag or post to an inbox and call {@link DutyRunner#wake()}.
 *
 * <h2>Failures</h2>
 * A {@link RuntimeException} from {@link #doWork} ends the cycle (the later duties wait for the next one) and
 * goes to the runner's error handler; the loop goes on after parking. An {@link Error} ends the thread.
 */
interface Duty {

    /** Runs once on the runner's thread before its first cycle. */
    default void onStart() {
    }

    /**
     * Does what is due at {@code nowNs} ({@link System#nanoTime()}) and returns how much it did: 0 when it did
     * nothing, so that the runner may park. Must not return more than 0 when called again at once with nothing
     * new to do, or the runner spins.
     */
    int doWork(long nowNs);

    /**
     * How long (ns) the runner may park, at most, before this duty has work again: 0 or less when it has work
     * now, {@link Long#MAX_VALUE} when only a {@link DutyRunner#wake()} can give it some.
     */
    long idleLimitNs(long nowNs);

    /** Runs once when the runner closes, on the closing thread, after the runner's thread has ended. */
    default void onClose() {
    }

    /** What the duty does, for log lines: e.g. {@code "flush rounds"}. */
    String roleName();
}
