package dev.baton.spi.connection;

/**
 * Which connection the calling thread polls, if any: a caller that {@link FramedConnection#poll() polls} its
 * connection dispatches frames like the connection's loop, and code those frames run must know it (a blocking call
 * from there could wait for a response only this thread can read). A connection's mark belongs to whoever holds its
 * reading role. A poll marks its thread at its first delivered frame, not when it starts: most turns of a spinning
 * caller find nothing, and then pay no thread-local lookup (a busy-polling caller spent 40 % of its turns on them).
 */
final class PollingMark {

    private static final ThreadLocal<FramedConnection> POLLING = new ThreadLocal<>();

    private boolean polling;
    private boolean marked;
    private FramedConnection outer;

    /** The connection the calling thread is dispatching frames of through {@code poll()}, or null. */
    static FramedConnection current() {
        return POLLING.get();
    }

    void pollStarted() {
        polling = true;
    }

    /** A frame of {@code c} is about to be delivered by whoever reads it. */
    void beforeDelivery(FramedConnection c) {
        if (polling && !marked) {
            outer = POLLING.get();
            POLLING.set(c);
            marked = true;
        }
    }

    void pollEnded() {
        polling = false;
        if (marked) {
            marked = false;
            POLLING.set(outer);     // not remove(): the thread's entry stays, so the next mark allocates none
            outer = null;
        }
    }
}
