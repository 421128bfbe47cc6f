package dev.baton.internal.rpc;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Which lane (connection to a peer) each calling thread uses: the next index, round robin, the first time the thread
 * calls through this node, and the same one ever after. So one thread's calls to a peer stay in order on one
 * connection, and threads that call at once spread evenly over the lanes, which a hash of the thread could not
 * promise (two of four threads on one lane would halve the gain). One per node.
 *
 * <p>A thread that completes a call (an I/O thread, or a caller polling its connection) takes, while it does, the
 * lane the response came on ({@link #inherit}): a call made from a listener or a future's stage goes on the lane of
 * the call it continues, so a caller thread's chain of calls stays on its lane even when the I/O threads issue them,
 * instead of piling every continuation onto the I/O thread's own lane.
 *
 * <p>Thread-safe.
 */
final class ThreadLanes {

    private final AtomicInteger next = new AtomicInteger();
    /**
     * Per thread: its own index (-1 until it first calls: a thread that only completes calls takes none, so the
     * callers' turns stay even), and the lane it continues now (-1: none).
     */
    private final ThreadLocal<int[]> index = ThreadLocal.withInitial(() -> new int[] {-1, -1});

    /** This thread's lane among {@code lanes}. */
    int laneOf(int lanes) {
        if (lanes == 1) {
            return 0;
        }
        int[] t = index.get();
        if (t[1] >= 0) {
            return Math.floorMod(t[1], lanes);
        }
        if (t[0] < 0) {
            t[0] = next.getAndIncrement() & Integer.MAX_VALUE;
        }
        return t[0] % lanes;
    }

    /** Until {@link #restore}, this thread calls on {@code lane}; returns what to restore. */
    int inherit(int lane) {
        int[] t = index.get();
        int previous = t[1];
        t[1] = lane;
        return previous;
    }

    void restore(int previous) {
        index.get()[1] = previous;
    }
}
