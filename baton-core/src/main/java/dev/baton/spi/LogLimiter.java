package dev.baton.spi;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Decides whether a warning about a peer is logged now: at most once per key (a remote address, a node id) per
 * interval, so a peer that fails a thousand times a second costs one log line, not a thousand. What was held back
 * is counted and said with the next line logged for the key. Memory is bounded: beyond {@link #MAX_KEYS} keys the
 * table starts afresh (a flood of distinct keys then logs a little more, never grows it).
 *
 * <p>Thread-safe.
 *
 * <pre>{@code
 * long held = limiter.admit(address);
 * if (held >= 0) {
 *     LOG.log(WARNING, "refused {0}: {1} ({2} more since the last report)", address, why, held);
 * }
 * }</pre>
 */
public final class LogLimiter {

    /** Keys remembered at most. */
    public static final int MAX_KEYS = 4096;

    private final long intervalNs;
    private final ConcurrentHashMap<Object, Entry> entries = new ConcurrentHashMap<>();

    private static final class Entry {
        final AtomicLong lastLoggedNanos;
        final AtomicLong held = new AtomicLong();

        Entry(long now) {
            lastLoggedNanos = new AtomicLong(now);
        }
    }

    /** Logs each key at most once per {@code intervalNs} nanoseconds. */
    public LogLimiter(long intervalNs) {
        this.intervalNs = intervalNs;
    }

    /**
     * Whether to log about {@code key} now: -1 when not (the event is counted as held back), otherwise how many
     * events of the key were held back since its last line.
     */
    public long admit(Object key) {
        long now = System.nanoTime();
        Entry e = entries.get(key);
        if (e == null) {
            if (entries.size() >= MAX_KEYS) {
                entries.clear();
            }
            Entry fresh = new Entry(now);
            e = entries.putIfAbsent(key, fresh);
            if (e == null) {
                return 0;
            }
        }
        long last = e.lastLoggedNanos.get();
        if (now - last >= intervalNs && e.lastLoggedNanos.compareAndSet(last, now)) {
            return e.held.getAndSet(0);
        }
        e.held.incrementAndGet();
        return -1;
    }
}
