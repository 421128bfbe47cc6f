package dev.baton.internal.rpc;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Which lane (connection to a peer) each calling thread uses: the next index, round robin, the first time the thread
 * calls through this node, and the same one ever after. So one thread's calls to a peer stay in order on one
 * connection, and threads that call at once spread evenly over the lanes, which a hash of the thread could not
 * promise (two of four threads on one lane would halve the gain). One per node.
 *
 * <p>Thread-safe.
 */
final class ThreadLanes {

    private final AtomicInteger next = new AtomicInteger();
    private final ThreadLocal<int[]> index = ThreadLocal.withInitial(() -> new int[] {next.getAndIncrement()});

    /** This thread's lane among {@code lanes}. */
    int laneOf(int lanes) {
        return lanes == 1 ? 0 : Math.floorMod(index.get()[0], lanes);
    }
}
