package dev.baton.tracker.internal;

import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The queues of the tracker, one per key: TVM's {@code PriorityScheduler}. Free servers wait in a FIFO; requests
 * wait ordered by (priority descending, arrival); whenever a queue has both, the first free server goes to the
 * first request. Not thread-safe: owned by the loop thread.
 *
 * <p>Unlike TVM, a queue exists only while it has something to show (a free server, a waiting request, or a
 * connection that PUT under its key, whose servers may be busy), so keys that clients merely asked for do not
 * pile up forever; a request removed from its queue (cancelled, expired) is gone from the count at once; and a
 * server whose connection is failing is never granted.
 */
final class Pool {

    /** Hands {@code entry} to {@code waiter}; false if the waiter's connection cannot take it (it is gone). */
    interface Granter {
        boolean grant(Waiter waiter, Entry entry);
    }

    private static final class KeyQueue {
        final LinkedHashSet<Entry> free = new LinkedHashSet<>();
        final TreeSet<Waiter> waiting = new TreeSet<>(Waiter.SERVICE_ORDER);
        /** Live connections that PUT under this key. */
        int putters;

        boolean idle() {
            return free.isEmpty() && waiting.isEmpty() && putters == 0;
        }
    }

    private final Granter granter;
    private final TreeMap<String, KeyQueue> queues = new TreeMap<>();
    private final TreeSet<Waiter> byDeadline = new TreeSet<>(Waiter.DEADLINE_ORDER);
    private long arrivals;
    private int waiters;
    private int free;

    Pool(Granter granter) {
        this.granter = granter;
    }

    /** The arrival number for the next request: it orders requests of equal priority. */
    long nextArrival() {
        return arrivals++;
    }

    /** A connection PUT under {@code key} for the first time: the key's queue stays while it lives. */
    void addPutter(String key) {
        queue(key).putters++;
    }

    /** A connection that PUT under {@code key} is gone. */
    void removePutter(String key) {
        KeyQueue q = queues.get(key);
        if (q != null) {
            q.putters--;
            dropIfIdle(key, q);
        }
    }

    /** A server is free: it goes to the end of its key's FIFO, or straight to the first request waiting. */
    void put(Entry e) {
        KeyQueue q = queue(e.key);
        q.free.add(e);
        free++;
        schedule(e.key, q);
    }

    /** Removes a free server (its connection closed, or it PUT the same matchkey again). */
    void remove(Entry e) {
        KeyQueue q = queues.get(e.key);
        if (q != null && q.free.remove(e)) {
            free--;
            dropIfIdle(e.key, q);
        }
    }

    /** Queues {@code w}, which may be granted before this returns. */
    void request(Waiter w) {
        KeyQueue q = queue(w.key);
        q.waiting.add(w);
        waiters++;
        if (w.hasDeadline) {
            byDeadline.add(w);
        }
        schedule(w.key, q);
    }

    /** Takes {@code w} out of its queue (its client is gone, or gave up); false if it was already done. */
    boolean cancel(Waiter w) {
        if (w.done) {
            return false;
        }
        finish(w);
        KeyQueue q = queues.get(w.key);
        if (q != null) {
            q.waiting.remove(w);
            dropIfIdle(w.key, q);
        }
        return true;
    }

    /** Removes and returns the requests whose deadline is at or before {@code nowNs}. */
    List<Waiter> expire(long nowNs) {
        List<Waiter> expired = null;
        while (!byDeadline.isEmpty() && byDeadline.first().deadlineNs - nowNs <= 0) {
            Waiter w = byDeadline.first();
            cancel(w);
            if (expired == null) {
                expired = new ArrayList<>();
            }
            expired.add(w);
        }
        return expired == null ? List.of() : expired;
    }

    /** True when a waiting request has a deadline. */
    boolean hasDeadlines() {
        return !byDeadline.isEmpty();
    }

    /** The earliest deadline of a waiting request ({@link System#nanoTime()} terms); only if {@link #hasDeadlines}. */
    long nextDeadlineNs() {
        return byDeadline.first().deadlineNs;
    }

    /** True if {@code key} has a queue now. */
    boolean hasKey(String key) {
        return queues.containsKey(key);
    }

    /** Keys with a queue now. */
    int keys() {
        return queues.size();
    }

    /** Requests waiting, over every key. */
    int waiting() {
        return waiters;
    }

    /** Free servers, over every key. */
    int free() {
        return free;
    }

    /** {@code {key: {"free": n, "pending": m}}}, keys sorted: TVM's {@code queue_info}. */
    JsonObject queueInfo() {
        JsonObject o = new JsonObject();
        for (Map.Entry<String, KeyQueue> e : queues.entrySet()) {
            JsonObject q = new JsonObject();
            q.addProperty("free", e.getValue().free.size());
            q.addProperty("pending", e.getValue().waiting.size());
            o.add(e.getKey(), q);
        }
        return o;
    }

    private void schedule(String key, KeyQueue q) {
        while (!q.free.isEmpty() && !q.waiting.isEmpty()) {
            Iterator<Entry> first = q.free.iterator();
            Entry e = first.next();
            first.remove();
            if (ownerFailed(e)) {
                free--;   // its connection is failing: never granted (the conductor removes these at once anyway)
                continue;
            }
            Waiter w = q.waiting.pollFirst();
            finish(w);
            if (granter.grant(w, e)) {
                free--;
            } else if (!ownerFailed(e)) {
                q.free.add(e);   // its client is gone: the server goes back, at the end (as in TVM)
            } else {
                free--;   // the grant failed its own connection (a peer that requested its own server)
            }
        }
        dropIfIdle(key, q);
    }

    private static boolean ownerFailed(Entry e) {
        return e.owner != null && e.owner.closed;
    }

    private void finish(Waiter w) {
        w.done = true;
        waiters--;
        if (w.hasDeadline) {
            byDeadline.remove(w);
        }
    }

    private KeyQueue queue(String key) {
        return queues.computeIfAbsent(key, k -> new KeyQueue());
    }

    private void dropIfIdle(String key, KeyQueue q) {
        if (q.idle()) {
            queues.remove(key);
        }
    }
}
