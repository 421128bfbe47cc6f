package dev.baton.systemtest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a child JVM reports about its own memory, as {@code name=value} pairs on one line, and how the test JVM
 * reads such a line back.
 *
 * <p>The child side ({@link #line}) reports {@code heapUsed} (bytes, after a full collection when asked),
 * {@code direct} (the bytes of the JVM's "direct" buffer pool: the pooled buffers of Baton's transports),
 * {@code rss} (resident set, bytes, from {@code /proc/self/status}) and {@code maxHeap}. A child appends whatever
 * else it wants in the same form: a {@code NodeStats} record's own {@code toString} already is.
 *
 * <p>The test side ({@link #parse}) takes every {@code name=value} with an integer value from a line.
 */
final class MemoryProbe {

    private static final Pattern PAIR = Pattern.compile("(\\w+)=(-?\\d+)");
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final int MAX_COLLECTIONS = 10;
    private static final long CLEANER_WAIT_NS = 25_000_000L;

    private MemoryProbe() {
    }

    /**
     * Heap, direct memory and RSS now; with {@code collect}, after full collections, repeated until the direct
     * memory no longer shrinks (the cleaner thread frees unreachable direct buffers after a collection found them),
     * so that both figures are what is reachable.
     */
    static String line(boolean collect) {
        if (collect) {
            collect();
        }
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        return "heapUsed=" + heap + " direct=" + directBytes() + " rss=" + rssBytes() + " maxHeap="
                + Runtime.getRuntime().maxMemory();
    }

    /** Collects until two collections in a row freed no direct memory (at most {@value #MAX_COLLECTIONS}). */
    private static void collect() {
        long direct = directBytes();
        for (int i = 0, unchanged = 0; i < MAX_COLLECTIONS && unchanged < 2; i++) {
            System.gc();
            LockSupport.parkNanos(CLEANER_WAIT_NS);     // the cleaner frees direct buffers on a thread of its own
            long now = directBytes();
            unchanged = now < direct ? 0 : unchanged + 1;
            direct = now;
        }
    }

    static long directBytes() {
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                return pool.getMemoryUsed();
            }
        }
        return -1;
    }

    /** The resident set of this process in bytes, or -1 where {@code /proc} is not there. */
    static long rssBytes() {
        return rssBytes(STATUS);
    }

    /** The resident set of process {@code pid} in bytes (read from outside it), or -1 where there is no /proc. */
    static long rssBytes(long pid) {
        return rssBytes(Path.of("/proc", Long.toString(pid), "status"));
    }

    private static long rssBytes(Path status) {
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
            return -1;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + status, e);
        }
    }

    /** Every {@code name=value} pair with an integer value in {@code line}. */
    static Map<String, Long> parse(String line) {
        Map<String, Long> values = new HashMap<>();
        Matcher m = PAIR.matcher(line);
        while (m.find()) {
            values.put(m.group(1), Long.parseLong(m.group(2)));
        }
        return values;
    }

    /**
     * What {@code count} connections cost a node, each, between readings {@code before} and {@code after} (taken
     * after collections, with the node's statistics): the heap they hold, and the buffers they hold on average
     * ({@code averageHeld}, sampled over idle time: keepalive traffic takes buffers now and then, so a single
     * reading could catch all or none). Also, not counted as theirs: direct memory outside the node's buffer pool
     * (whose idle buffers are the node's) and outside the connections' buffers, i.e. buffers the pool dropped and
     * the cleaner has not yet freed.
     */
    record Cost(long heapBytes, long bufferBytes, long otherDirectBytes, int count) {

        static Cost between(Map<String, Long> before, Map<String, Long> after, long averageHeld, int count) {
            return new Cost(value(after, "heapUsed") - value(before, "heapUsed"),
                    averageHeld - value(before, "connectionBufferBytes"),
                    directOutsideBuffers(after) - directOutsideBuffers(before), count);
        }

        private static long directOutsideBuffers(Map<String, Long> reading) {
            return value(reading, "direct") - value(reading, "pooledBufferBytes")
                    - value(reading, "connectionBufferBytes");
        }

        /** A figure of a reading; 0 for one the node does not report (an older node reports no buffers). */
        private static long value(Map<String, Long> reading, String name) {
            return reading.getOrDefault(name, 0L);
        }

        /** Heap and buffers held, per connection. */
        long perConnection() {
            return (heapBytes + bufferBytes) / count;
        }

        @Override
        public String toString() {
            return String.format("%d bytes per connection (heap %d + buffers held %d; other direct memory %d)",
                    perConnection(), heapBytes / count, bufferBytes / count, otherDirectBytes / count);
        }
    }

    /** Open descriptors of process {@code pid}: the entries of {@code /proc/<pid>/fd}. */
    static int openDescriptors(long pid) {
        try (var entries = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return (int) entries.count();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the descriptors of process " + pid, e);
        }
    }
}
