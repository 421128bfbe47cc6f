package dev.baton.tracker.internal;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.Map;

/**
 * What the tracker does with each message: TVM's {@code TrackerServerHandler} and {@code TCPEventHandler}
 * semantics, with its faults fixed. Not thread-safe: the loop thread calls every method.
 *
 * <p>Where it differs from TVM: a connection that closes takes every free server it PUT with it, whether or not
 * it sent UPDATE_INFO; a client that disconnects while waiting is removed from its queue at once; requests can
 * have a deadline ({@code maxRequestWait}), answered {@code [-1, reason]} when it passes; a connection that PUTs
 * a matchkey it already has free replaces that entry instead of listing the server twice; and every
 * per-connection collection is bounded, and so is what a SUMMARY shows.
 *
 * <p>A summary's size: {@code queue_info} has at most {@link #MAX_KEYS} keys of at most 256 characters, each
 * at most 6 bytes once escaped, plus about 35 bytes of counts: under 6.2 MiB. {@code server_info} holds the
 * described connections' info, at most {@link #MAX_INFO_CHARS_TOTAL} in all, plus a comma each: under 4.3 MiB.
 * So a summary stays under 10.5 MiB, within the 16 MiB that Baton's client reads.
 */
final class TrackerConductor implements Pool.Granter {

    /** Free servers one connection may hold (a TVM proxy PUTs one per server behind it). */
    static final int MAX_FREE_PER_CONNECTION = 256;
    /** Keys one connection may PUT under. */
    static final int MAX_KEYS_PER_CONNECTION = 64;
    /** Requests one connection may have waiting (TVM's clients have one). */
    static final int MAX_REQUESTS_PER_CONNECTION = 64;
    /** Free servers in the whole tracker (a summary shows only their count per key). */
    static final int MAX_FREE = 16_384;
    /** Keys in the whole tracker (each one a queue, and an entry of every summary). */
    static final int MAX_KEYS = 4_096;
    /** UPDATE_INFO text kept for all connections together (each one's is at most 4096 characters). */
    static final int MAX_INFO_CHARS_TOTAL = 4 << 20;
    /** Requests waiting in the whole tracker. */
    static final int MAX_WAITING = 16_384;

    /** How the conductor answers peers and stops the tracker: the loop. */
    interface Outbound {
        /** Queues {@code frame} on {@code c}; false if {@code c} is closed or failed (nothing will be sent). */
        boolean send(TvmConnection c, ByteBuffer frame);

        /** Stops the tracker once the current message is handled (after a valid STOP). */
        void stop();
    }

    private final Outbound out;
    private final Counters counters;
    private final byte[] stopKey;
    /** {@code maxRequestWait} in nanoseconds, or 0 for none. */
    private final long maxRequestWaitNs;
    private final Pool pool = new Pool(this);
    /** The Baton side, whose servers a SUMMARY shows too (under "baton"); null in unit tests of this class. */
    private final NativeConductor natives;
    /** Connections that sent UPDATE_INFO, in the order they first did: the source of {@code server_info}. */
    private final LinkedHashSet<TvmConnection> described = new LinkedHashSet<>();
    /** The sum of the described connections' {@link TvmConnection#infoChars}. */
    private long infoChars;

    TrackerConductor(Outbound out, Counters counters, String stopKey, long maxRequestWaitNs) {
        this(out, counters, stopKey, maxRequestWaitNs, null);
    }

    TrackerConductor(Outbound out, Counters counters, String stopKey, long maxRequestWaitNs, NativeConductor natives) {
        this.natives = natives;
        this.out = out;
        this.counters = counters;
        this.stopKey = stopKey.getBytes(StandardCharsets.UTF_8);
        this.maxRequestWaitNs = maxRequestWaitNs;
    }

    /** Handles one message from {@code c}; a {@link ProtocolException} means: close {@code c}. */
    void onMessage(TvmConnection c, TvmMessage m, long nowNs) throws ProtocolException {
        switch (m) {
            case TvmMessage.Ping p -> out.send(c, TvmWire.frame(TvmWire.SUCCESS));
            case TvmMessage.Put p -> put(c, p);
            case TvmMessage.Request r -> request(c, r, nowNs);
            case TvmMessage.UpdateInfo u -> updateInfo(c, u.info());
            case TvmMessage.Summary s -> out.send(c, TvmWire.frame(
                    TvmWire.message(TvmWire.SUCCESS, summary())));
            case TvmMessage.PendingMatchKeys k -> {
                JsonArray keys = new JsonArray(c.free.size());
                c.free.keySet().forEach(keys::add);
                out.send(c, TvmWire.frame(keys));
            }
            case TvmMessage.Stop s -> {
                boolean right = s.key() != null
                        && MessageDigest.isEqual(stopKey, s.key().getBytes(StandardCharsets.UTF_8));
                out.send(c, TvmWire.frame(right ? TvmWire.SUCCESS : TvmWire.FAIL));
                if (right) {
                    PeerLog.LOG.log(System.Logger.Level.INFO, "tracker: stopped by STOP from {0}", c.peerHost);
                    out.stop();
                }
            }
        }
        counters.waiting.set(pool.waiting());
    }

    private void put(TvmConnection c, TvmMessage.Put p) throws ProtocolException {
        Entry again = c.free.remove(p.matchKey());
        if (again != null) {
            pool.remove(again);   // the same server PUT twice: listed once, at the end
        }
        if (c.free.size() >= MAX_FREE_PER_CONNECTION) {
            throw new ProtocolException(ProtocolException.Kind.LIMIT,
                    "over " + MAX_FREE_PER_CONNECTION + " free servers on one connection");
        }
        if (pool.free() >= MAX_FREE) {
            throw new ProtocolException(ProtocolException.Kind.LIMIT, "the tracker holds " + MAX_FREE
                    + " free servers, its maximum");
        }
        boolean newKey = !c.putKeys.contains(p.key());
        if (newKey) {
            if (c.putKeys.size() >= MAX_KEYS_PER_CONNECTION) {
                throw new ProtocolException(ProtocolException.Kind.LIMIT,
                        "over " + MAX_KEYS_PER_CONNECTION + " keys on one connection");
            }
            checkNewKey(p.key());
        }
        if (!out.send(c, TvmWire.frame(TvmWire.SUCCESS))) {
            return;   // its connection failed: the server is not added
        }
        if (newKey) {
            c.putKeys.add(p.key());
            pool.addPutter(p.key());
        }
        Entry e = new Entry(c, p.key(), p.customAddr() != null ? p.customAddr() : c.peerHost, p.port(), p.matchKey());
        c.free.put(p.matchKey(), e);
        pool.put(e);
    }

    /** Throws if {@code key} would be one key too many for the tracker. */
    private void checkNewKey(String key) throws ProtocolException {
        if (!pool.hasKey(key) && pool.keys() >= MAX_KEYS) {
            throw new ProtocolException(ProtocolException.Kind.LIMIT, "the tracker holds " + MAX_KEYS
                    + " keys, its maximum");
        }
    }

    private void request(TvmConnection c, TvmMessage.Request r, long nowNs) throws ProtocolException {
        if (c.waiters.size() >= MAX_REQUESTS_PER_CONNECTION) {
            throw new ProtocolException(ProtocolException.Kind.LIMIT,
                    "over " + MAX_REQUESTS_PER_CONNECTION + " requests waiting on one connection");
        }
        if (pool.waiting() >= MAX_WAITING) {
            throw new ProtocolException(ProtocolException.Kind.LIMIT, "the tracker holds " + MAX_WAITING
                    + " waiting requests, its maximum");
        }
        checkNewKey(r.key());
        Waiter w = new Waiter(c, r.key(), r.priority(), pool.nextArrival(), maxRequestWaitNs > 0,
                nowNs + maxRequestWaitNs);
        c.waiters.add(w);
        pool.request(w);
    }

    private void updateInfo(TvmConnection c, JsonObject info) throws ProtocolException {
        JsonArray addr = info.getAsJsonArray("addr");
        if (addr.get(0).isJsonNull()) {
            addr.set(0, new JsonPrimitive(c.peerHost));   // TVM: a null host is the peer's IP
        }
        JsonObject merged = c.info == null ? new JsonObject() : c.info.deepCopy();
        for (Map.Entry<String, JsonElement> e : info.entrySet()) {
            merged.add(e.getKey(), e.getValue());
        }
        int chars = TvmWire.toJson(merged).length();
        if (chars > TvmMessage.MAX_INFO_CHARS) {
            throw new ProtocolException(ProtocolException.Kind.LIMIT,
                    "the connection's info is over " + TvmMessage.MAX_INFO_CHARS + " characters");
        }
        long total = infoChars - (described.contains(c) ? c.infoChars : 0) + chars;
        if (total > MAX_INFO_CHARS_TOTAL) {
            throw new ProtocolException(ProtocolException.Kind.LIMIT, "the tracker holds "
                    + (MAX_INFO_CHARS_TOTAL >> 20) + " MiB of UPDATE_INFO, its maximum");
        }
        if (!out.send(c, TvmWire.frame(TvmWire.SUCCESS))) {
            return;   // its connection failed
        }
        infoChars = total;
        c.info = merged;
        c.infoChars = chars;
        described.add(c);
    }

    /** {@code {"queue_info": {...}, "server_info": [...]}}: TVM's summary. */
    JsonObject summary() {
        JsonObject s = new JsonObject();
        s.add("queue_info", pool.queueInfo());
        JsonArray servers = new JsonArray();
        for (TvmConnection c : described) {
            JsonElement key = c.info.get("key");
            // As TVM: only connections whose info key starts with "server" (clients may describe themselves too).
            if (key != null && key.isJsonPrimitive() && key.getAsString().startsWith("server")) {
                servers.add(c.info.deepCopy());
            }
        }
        s.add("server_info", servers);
        JsonObject baton = natives == null ? null : natives.summary(System.nanoTime());
        if (baton != null) {
            s.add("baton", baton);   // Baton-native servers, only when there are some; TVM's tools ignore it
        }
        return s;
    }

    @Override
    public boolean grant(Waiter w, Entry e) {
        w.conn.waiters.remove(w);
        JsonArray value = new JsonArray(3);
        value.add(e.host);
        value.add(e.port);
        value.add(e.matchKey);
        if (!out.send(w.conn, TvmWire.frame(TvmWire.message(TvmWire.SUCCESS, value)))) {
            counters.abandoned.incrementAndGet();
            return false;
        }
        // Handed out: the server learns it through GET_PENDING_MATCHKEYS, and PUTs again after its session.
        e.owner.free.remove(e.matchKey, e);
        counters.grants.incrementAndGet();
        return true;
    }

    /** Answers the requests whose {@code maxRequestWait} passed with {@code [-1, reason]}. */
    void expire(long nowNs) {
        if (!pool.hasDeadlines() || pool.nextDeadlineNs() - nowNs > 0) {
            return;
        }
        for (Waiter w : pool.expire(nowNs)) {
            w.conn.waiters.remove(w);
            counters.expired.incrementAndGet();
            out.send(w.conn, TvmWire.frame(TvmWire.message(TvmWire.FAIL, new JsonPrimitive(
                    "no server of key '" + w.key + "' within the tracker's maxRequestWait of "
                            + maxRequestWaitNs / 1_000_000 + " ms"))));
        }
        counters.waiting.set(pool.waiting());
    }

    /** When the next request deadline falls, or {@code Long.MAX_VALUE} relative to now if none. */
    long nanosToNextDeadline(long nowNs) {
        return pool.hasDeadlines() ? Math.max(0, pool.nextDeadlineNs() - nowNs) : Long.MAX_VALUE;
    }

    /**
     * {@code c} failed and will be closed once the current batch of work is done: its requests, free servers and
     * info leave the tracker now, so that nothing is granted from it or to it meanwhile. Its keys stay until
     * {@link #onClose} (a queue being scheduled keeps its key while a server of it is in hand). May be called
     * from inside {@link #grant} (a reply that cannot be written). Idempotent.
     */
    void onFail(TvmConnection c) {
        for (Waiter w : new ArrayList<>(c.waiters)) {
            if (pool.cancel(w)) {
                counters.abandoned.incrementAndGet();
            }
        }
        c.waiters.clear();
        for (Entry e : c.free.values()) {
            pool.remove(e);
        }
        c.free.clear();
        if (described.remove(c)) {
            infoChars -= c.infoChars;
        }
        counters.waiting.set(pool.waiting());
    }

    /** {@code c} closed: everything it held leaves the tracker now. */
    void onClose(TvmConnection c) {
        onFail(c);
        for (String key : c.putKeys) {
            pool.removePutter(key);
        }
        c.putKeys.clear();
    }
}
