package dev.baton.fuzz;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

/**
 * What a decoder allocated while a fuzz target fed it one input: heap bytes the calling thread allocated (exact,
 * from the JVM's per-thread counter) and the growth of the JVM's direct buffer capacity. A target checks both
 * against the limit its input may legitimately cost, so a decoder that allocates what a header declares before
 * checking it against the limit fails the target, whatever the heap size.
 *
 * <p>Not thread-safe: one per input, on the fuzzing thread (which may measure another thread: {@link #on}).
 */
public final class AllocationMeter {

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final BufferPoolMXBean DIRECT = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)
            .stream().filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();

    /** The thread measured; null for the calling thread. */
    private final Thread thread;
    private final long heapStart;
    private final long directStart = DIRECT.getTotalCapacity();

    private AllocationMeter(Thread thread) {
        this.thread = thread;
        this.heapStart = allocated();
    }

    /** Starts measuring on the calling thread. */
    public static AllocationMeter start() {
        return new AllocationMeter(null);
    }

    /**
     * Starts measuring what {@code thread} allocates: for a decoder that runs on a thread of its own (a transport's
     * I/O loop) while the fuzzing thread feeds it through a socket.
     */
    public static AllocationMeter on(Thread thread) {
        return new AllocationMeter(thread);
    }

    /** Heap bytes the thread measured allocated since the start. */
    public long heapBytes() {
        return allocated() - heapStart;
    }

    private long allocated() {
        return thread == null ? THREADS.getCurrentThreadAllocatedBytes() : THREADS.getThreadAllocatedBytes(
                thread.threadId());
    }

    /** Growth of the direct buffers' total capacity since {@link #start()} (negative when some were freed). */
    public long directBytes() {
        return DIRECT.getTotalCapacity() - directStart;
    }

    /**
     * Throws {@link Exceeded} when more than {@code heapLimit} heap or {@code directLimit} direct bytes went. The
     * first run of a code path may load classes (and, while fuzzing, instrument them) on the measured thread: a
     * target runs each input through {@link #repeatIfFirstExceeds}, and fails only if it is exceeded again.
     */
    public void assertAtMost(long heapLimit, long directLimit, String what) {
        long heap = heapBytes();
        long direct = directBytes();
        if (heap > heapLimit || direct > directLimit) {
            throw new Exceeded(what + " allocated " + heap + " heap bytes (limit " + heapLimit + ") and "
                    + direct + " direct bytes (limit " + directLimit + ")");
        }
    }

    /** One run of a fuzz target's body on an input. */
    @FunctionalInterface
    public interface Run<E extends Exception> {
        void run() throws E;
    }

    /**
     * Runs {@code run}, which meters itself, and once more when it exceeds its limits: a first run may load classes on
     * this thread, so only a repeat counts.
     */
    public static <E extends Exception> void repeatIfFirstExceeds(Run<E> run) throws E {
        try {
            run.run();
        } catch (Exceeded firstRun) {
            run.run();
        }
    }

    /** An input cost more memory than its limit allows. */
    public static final class Exceeded extends AssertionError {
        private static final long serialVersionUID = 1L;

        Exceeded(String message) {
            super(message);
        }
    }
}
