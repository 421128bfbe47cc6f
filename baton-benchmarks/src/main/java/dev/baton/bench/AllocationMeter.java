package dev.baton.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.util.ArrayList;
import java.util.List;

/**
 * Bytes allocated by this JVM, all threads together (callers, I/O threads, event loops, also those that
 * ended) minus the harness's own bookkeeping threads: the coordinating thread, the progress bar's and the
 * child-output readers ({@link #HARNESS_THREAD_PREFIX}). Reads
 * {@link com.sun.management.ThreadMXBean#getTotalThreadAllocatedBytes()}, the counter JMH's GC profiler uses.
 *
 * <p>Not thread-safe: one per run, used by the coordinating thread.
 */
final class AllocationMeter {

    /** Threads whose names start with this are the harness's, not the system's, and are not counted. */
    static final String HARNESS_THREAD_PREFIX = "bench-harness";
    private static final String PROGRESS_BAR_THREAD = "ProgressBar";

    private final com.sun.management.ThreadMXBean threads;
    private final long[] excluded;
    private final long[] excludedAtStart;
    private long totalAtStart;

    private AllocationMeter(com.sun.management.ThreadMXBean threads, long[] excluded) {
        this.threads = threads;
        this.excluded = excluded;
        this.excludedAtStart = new long[excluded.length];
    }

    /** A meter, or null when this JVM cannot count allocated bytes. */
    static AllocationMeter create() {
        if (!(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t)
                || !t.isThreadAllocatedMemorySupported()) {
            return null;
        }
        t.setThreadAllocatedMemoryEnabled(true);
        long self = Thread.currentThread().threadId();
        List<Long> ids = new ArrayList<>();
        ids.add(self);
        for (ThreadInfo info : t.getThreadInfo(t.getAllThreadIds())) {
            if (info != null && info.getThreadId() != self && (info.getThreadName().startsWith(HARNESS_THREAD_PREFIX)
                    || info.getThreadName().equals(PROGRESS_BAR_THREAD))) {
                ids.add(info.getThreadId());
            }
        }
        return new AllocationMeter(t, ids.stream().mapToLong(Long::longValue).toArray());
    }

    void start() {
        long[] now = threads.getThreadAllocatedBytes(excluded);
        System.arraycopy(now, 0, excludedAtStart, 0, now.length);
        totalAtStart = threads.getTotalThreadAllocatedBytes();
    }

    /** Bytes the system allocated since {@link #start()}. */
    long stop() {
        long total = threads.getTotalThreadAllocatedBytes();
        long[] now = threads.getThreadAllocatedBytes(excluded);
        long harness = 0;
        for (int i = 0; i < excluded.length; i++) {
            // -1: the thread ended meanwhile; its bytes stay in the total (a few hundred at most).
            harness += now[i] < 0 ? 0 : now[i] - excludedAtStart[i];
        }
        return Math.max(0, total - totalAtStart - harness);
    }
}
