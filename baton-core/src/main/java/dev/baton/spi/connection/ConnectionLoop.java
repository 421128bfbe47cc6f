package dev.baton.spi.connection;

/**
 * The event loop a {@link FramedConnection} belongs to: the thread that reads it (unless a polling caller
 * does), finishes its writes when the byte sink was full, runs its {@link FramedConnection#onTick tick} and
 * reports its close. A transport implements it over its own threads (the TCP transport's selector loop).
 */
public interface ConnectionLoop {

    /** True when the calling thread is this loop's thread. */
    boolean inLoop();

    /** Runs {@code task} on this loop's thread: at once when called from it, else soon. */
    void execute(Runnable task);

    /** Runs {@code task} on this loop's thread later, never inline (even when called from it). */
    void post(Runnable task);

    /**
     * Called on this loop's thread by a connection whose writer role the thread just took while it dispatches
     * frames: returns true when the loop will run {@code flush} at the end of its current round (so the answers
     * and follow-up calls of a whole round share writes), false to have the connection write at once. The
     * default never defers.
     */
    default boolean deferFlush(Runnable flush) {
        return false;
    }
}
