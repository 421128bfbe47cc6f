package dev.baton.bench;

/**
 * The client side of one system, set up for one workload: connected to its servers and ready to hand out
 * {@link Lane}s. Created and closed by the coordinator for each system x workload.
 */
interface Target extends AutoCloseable {

    /** The lane for client thread {@code index} (0 to {@code threads - 1}). Called before the run starts. */
    Lane lane(int index) throws Exception;

    /** Releases connections, nodes and threads. Idempotent. */
    @Override
    void close();

    /** Fails when a response is not the echo of the request's size. */
    static void checkEcho(int expected, int actual) {
        if (expected != actual) {
            throw new IllegalStateException("echo returned " + actual + " bytes, expected " + expected);
        }
    }
}
