package dev.baton.internal.master;

import dev.baton.CoordinationState;
import dev.baton.Status;
import dev.baton.internal.wire.ControlFrame;
import dev.baton.internal.wire.ControlProtocol;
import dev.baton.internal.wire.WireReader;
import dev.baton.internal.wire.WireWriter;
import dev.baton.spi.FrameType;
import dev.baton.spi.TransportConnection;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The master's coordination state: barriers, locks, id counters and the key/value context with its watches
 * (methods 20 to 30 of {@link ControlProtocol}, where the bodies are drawn).
 *
 * <h2>Threads and locking</h2>
 * Requests arrive on the master's I/O thread; expiries run on one daemon thread, {@code baton-master-coord},
 * started on the first wait that has a timeout and stopped by {@link #close()}. All state is guarded by this
 * object's own monitor, separate from {@code MasterServer}'s lock, so membership and coordination do not
 * wait on each other. The only nesting is MasterServer's lock, then this monitor (MasterServer closes a
 * connection under its lock, which reaches {@link #connectionClosed}); nothing here takes MasterServer's
 * lock, or closes a connection, while holding this monitor. Nothing blocks under the monitor: answers and
 * KV_EVENTs are offered to the connections' non-blocking send queues while it is held, which keeps each
 * connection's notifications in change order. A connection whose queue refuses a frame is not reading; it
 * is closed once the monitor is released (closing it runs {@link #connectionClosed}, which releases its
 * locks).
 *
 * <h2>Deferred answers</h2>
 * BARRIER and LOCK are answered only when the round opens or the lock is granted, so they never hold the
 * I/O thread. Every BARRIER and LOCK request gets exactly one answer (opened or granted, DEADLINE_EXCEEDED
 * on expiry or withdrawal) unless its connection closes first.
 */
final class MasterCoordination implements AutoCloseable {

    /** The most id counters (distinct NEXT_ID keys). */
    static final int MAX_ID_KEYS = 1 << 16;
    /** The most watches one connection may hold. */
    static final int MAX_WATCHES_PER_CONNECTION = 4096;

    private static final System.Logger LOG = System.getLogger(MasterCoordination.class.getName());

    /** A BARRIER arrival or a LOCK request (waiting or holding), identified by its connection and token. */
    private static final class Waiter {
        final TransportConnection connection;
        final long requestId;
        final int method;
        final long token;
        long fence;                 // the fencing token of a lock grant, once granted
        ScheduledFuture<?> expiry;

        Waiter(TransportConnection connection, long requestId, int method, long token) {
            this.connection = connection;
            this.requestId = requestId;
            this.method = method;
            this.token = token;
        }

        boolean is(TransportConnection c, long t) {
            return connection == c && token == t;
        }
    }

    /** The current round of a barrier; replaced by a fresh one when it opens or empties. */
    private static final class Barrier {
        final String name;
        final int parties;
        final List<Waiter> arrived = new ArrayList<>();

        Barrier(String name, int parties) {
            this.name = name;
            this.parties = parties;
        }
    }

    private static final class LockState {
        final String name;
        Waiter holder;
        final ArrayDeque<Waiter> waiting = new ArrayDeque<>();

        LockState(String name) {
            this.name = name;
        }
    }

    // ---- guarded by this
    private final Map<String, Barrier> barriers = new HashMap<>();
    private final Map<String, LockState> locks = new HashMap<>();
    /**
     * The last fencing token granted, for every lock: it starts at the wall clock in ms shifted left by 16,
     * so a restarted master's tokens stay above its predecessor's (unless the clock stepped back, or that one
     * granted more than 65 536 locks per ms of its life).
     */
    private long fencing = System.currentTimeMillis() << 16;
    private final Map<String, Long> ids = new HashMap<>();
    private final Map<String, byte[]> values = new HashMap<>();
    private final Map<TransportConnection, Map<Long, String>> watches = new LinkedHashMap<>();
    private final List<TransportConnection> slow = new ArrayList<>();
    private ScheduledThreadPoolExecutor timer;
    private boolean closed;

    /**
     * Handles one coordination request; returns the answer body, or null when the answer is deferred or was
     * already sent. Throws {@link dev.baton.BatonException} for an error answer.
     */
    ByteBuffer handle(TransportConnection c, int method, WireReader r, long requestId) {
        try {
            return switch (method) {
                case ControlProtocol.BARRIER -> barrier(c, r, requestId);
                case ControlProtocol.LEAVE_BARRIER -> leaveBarrier(c, r);
                case ControlProtocol.LOCK -> lock(c, r, requestId);
                case ControlProtocol.TRY_LOCK -> tryLock(c, r, requestId);
                case ControlProtocol.UNLOCK -> unlock(c, r);
                case ControlProtocol.NEXT_ID -> nextId(r);
                case ControlProtocol.KV_PUT -> put(r);
                case ControlProtocol.KV_GET -> get(r);
                case ControlProtocol.KV_DELETE -> delete(r);
                case ControlProtocol.WATCH -> watch(c, r);
                case ControlProtocol.UNWATCH -> unwatch(c, r);
                default -> throw Status.of(Status.Code.NO_SUCH_METHOD, "unknown control method " + method).asException();
            };
        } finally {
            closeSlow();
        }
    }

    /** True for the methods {@link #handle} serves. */
    static boolean serves(int method) {
        return method >= ControlProtocol.BARRIER && method <= ControlProtocol.LEAVE_BARRIER;
    }

    /** A copy of the state, for people ({@link dev.baton.Master#coordinationState()}). */
    synchronized CoordinationState state() {
        List<CoordinationState.Lock> l = new ArrayList<>();
        for (LockState x : new java.util.TreeMap<>(locks).values()) {
            if (l.size() == CoordinationState.MAX_LISTED) {
                break;
            }
            Waiter h = x.holder;
            l.add(new CoordinationState.Lock(x.name, h == null ? -1 : rankOf(h.connection),
                    h == null ? "" : who(h.connection), h == null ? 0 : h.fence, x.waiting.size()));
        }
        List<CoordinationState.Barrier> b = new ArrayList<>();
        for (Barrier x : new java.util.TreeMap<>(barriers).values()) {
            if (b.size() == CoordinationState.MAX_LISTED) {
                break;
            }
            b.add(new CoordinationState.Barrier(x.name, x.parties,
                    x.arrived.stream().map(w -> rankOf(w.connection)).toList()));
        }
        Map<String, Long> counters = new java.util.TreeMap<>();
        for (Map.Entry<String, Long> e : new java.util.TreeMap<>(ids).entrySet()) {
            if (counters.size() == CoordinationState.MAX_LISTED) {
                break;
            }
            counters.put(e.getKey(), e.getValue());
        }
        int w = 0;
        for (Map<Long, String> perConnection : watches.values()) {
            w += perConnection.size();
        }
        return new CoordinationState(l, b, counters, ids.size(), values.size(), w);
    }

    private static int rankOf(TransportConnection c) {
        return c.attachment() instanceof dev.baton.NodeInfo n ? n.rank() : -1;
    }

    private static String who(TransportConnection c) {
        return c.attachment() instanceof dev.baton.NodeInfo n ? "rank " + n.rank() : "tool at " + c.remoteAddress();
    }

    // ------------------------------------------------------------------ barriers

    private synchronized ByteBuffer barrier(TransportConnection c, WireReader r, long requestId) {
        String name = name(r.getString(), "barrier name");
        int parties = r.getInt();
        long timeoutMs = r.getLong();
        long token = r.getLong();
        checkOpen();
        if (parties < 1) {
            throw invalid("barrier '" + name + "' needs at least 1 party, not " + parties);
        }
        Barrier b = barriers.computeIfAbsent(name, n -> new Barrier(n, parties));
        if (b.parties != parties) {
            throw invalid("barrier '" + name + "' has " + b.parties + " parties this round, not " + parties);
        }
        Waiter w = new Waiter(c, requestId, ControlProtocol.BARRIER, token);
        b.arrived.add(w);
        if (b.arrived.size() == parties) {
            barriers.remove(name);
            for (Waiter x : b.arrived) {
                cancelExpiry(x);
                answer(x, empty());
            }
        } else if (timeoutMs <= 0) {
            leave(b, w, "barrier '" + name + "' is not open (" + (b.arrived.size() - 1) + " of " + parties
                    + " arrived)");
        } else {
            w.expiry = schedule(() -> expireBarrier(b, w, timeoutMs), timeoutMs);
        }
        return null;
    }

    private void expireBarrier(Barrier b, Waiter w, long timeoutMs) {
        synchronized (this) {
            if (!closed && b.arrived.contains(w)) {
                leave(b, w, "barrier '" + b.name + "' did not open within " + timeoutMs + " ms (" + b.arrived.size()
                        + " of " + b.parties + " arrived)");
            }
        }
        closeSlow();
    }

    private synchronized ByteBuffer leaveBarrier(TransportConnection c, WireReader r) {
        String name = name(r.getString(), "barrier name");
        long token = r.getLong();
        checkOpen();
        Barrier b = barriers.get(name);
        if (b != null) {
            for (Waiter w : b.arrived) {
                if (w.is(c, token)) {
                    leave(b, w, "left barrier '" + name + "' before it opened");
                    return bool(true);
                }
            }
        }
        return bool(false);
    }

    /** Takes {@code w} out of its round and answers it DEADLINE_EXCEEDED. Caller holds the monitor. */
    private void leave(Barrier b, Waiter w, String why) {
        b.arrived.remove(w);
        cancelExpiry(w);
        if (b.arrived.isEmpty()) {
            barriers.remove(b.name, b);
        }
        fail(w, Status.Code.DEADLINE_EXCEEDED, why);
    }

    // ------------------------------------------------------------------ locks

    private synchronized ByteBuffer lock(TransportConnection c, WireReader r, long requestId) {
        String name = name(r.getString(), "lock name");
        long token = r.getLong();
        long timeoutMs = r.getLong();
        checkOpen();
        LockState s = locks.computeIfAbsent(name, LockState::new);
        if (s.holder == null || s.holder.is(c, token)) {
            if (s.holder == null) {
                s.holder = new Waiter(c, requestId, ControlProtocol.LOCK, token);
                s.holder.fence = ++fencing;
            }
            return new WireWriter().putLong(s.holder.fence).toBuffer();
        }
        if (timeoutMs <= 0) {
            throw Status.of(Status.Code.DEADLINE_EXCEEDED, "lock '" + name + "' is held").asException();
        }
        Waiter w = new Waiter(c, requestId, ControlProtocol.LOCK, token);
        s.waiting.add(w);
        w.expiry = schedule(() -> expireLock(s, w, timeoutMs), timeoutMs);
        return null;
    }

    private void expireLock(LockState s, Waiter w, long timeoutMs) {
        synchronized (this) {
            if (!closed && s.waiting.remove(w)) {
                fail(w, Status.Code.DEADLINE_EXCEEDED, "lock '" + s.name + "' not granted within " + timeoutMs + " ms");
            }
        }
        closeSlow();
    }

    private synchronized ByteBuffer tryLock(TransportConnection c, WireReader r, long requestId) {
        String name = name(r.getString(), "lock name");
        long token = r.getLong();
        checkOpen();
        LockState s = locks.computeIfAbsent(name, LockState::new);
        if (s.holder == null) {
            s.holder = new Waiter(c, requestId, ControlProtocol.TRY_LOCK, token);
            s.holder.fence = ++fencing;
        }
        boolean held = s.holder.is(c, token);
        return new WireWriter().putByte(held ? 1 : 0).putLong(held ? s.holder.fence : 0).toBuffer();
    }

    private synchronized ByteBuffer unlock(TransportConnection c, WireReader r) {
        String name = name(r.getString(), "lock name");
        long token = r.getLong();
        checkOpen();
        LockState s = locks.get(name);
        if (s == null) {
            return bool(false);
        }
        if (s.holder != null && s.holder.is(c, token)) {
            grantNext(s);
            return bool(true);
        }
        for (Iterator<Waiter> it = s.waiting.iterator(); it.hasNext(); ) {
            Waiter w = it.next();
            if (w.is(c, token)) {
                it.remove();
                cancelExpiry(w);
                fail(w, Status.Code.DEADLINE_EXCEEDED, "lock '" + name + "' request withdrawn");
                break;
            }
        }
        return bool(false);
    }

    /** Passes the lock to the first waiter (or frees it). Caller holds the monitor. */
    private void grantNext(LockState s) {
        s.holder = s.waiting.poll();
        if (s.holder == null) {
            locks.remove(s.name, s);
            return;
        }
        cancelExpiry(s.holder);
        s.holder.fence = ++fencing;
        answer(s.holder, new WireWriter().putLong(s.holder.fence).toBuffer());
    }

    // ------------------------------------------------------------------ ids and key/value

    private synchronized ByteBuffer nextId(WireReader r) {
        String key = name(r.getString(), "id key");
        checkOpen();
        Long next = ids.get(key);
        if (next == null && ids.size() >= MAX_ID_KEYS) {
            throw Status.of(Status.Code.RESOURCE_EXHAUSTED, "the master holds " + MAX_ID_KEYS + " id keys already")
                    .asException();
        }
        long id = next == null ? 0 : next;
        ids.put(key, id + 1);
        return new WireWriter().putLong(id).toBuffer();
    }

    private synchronized ByteBuffer put(WireReader r) {
        String key = name(r.getString(), "key");
        byte[] value = r.getBytes();
        checkOpen();
        if (value.length > ControlProtocol.MAX_VALUE_BYTES) {
            throw Status.of(Status.Code.RESOURCE_EXHAUSTED, "value of '" + key + "' is " + value.length
                    + " bytes; the most is " + ControlProtocol.MAX_VALUE_BYTES).asException();
        }
        if (!values.containsKey(key) && values.size() >= ControlProtocol.MAX_KEYS) {
            throw Status.of(Status.Code.RESOURCE_EXHAUSTED, "the master holds " + ControlProtocol.MAX_KEYS
                    + " keys already").asException();
        }
        values.put(key, value);
        notifyWatchers(key, value);
        return empty();
    }

    private synchronized ByteBuffer get(WireReader r) {
        String key = name(r.getString(), "key");
        checkOpen();
        byte[] value = values.get(key);
        WireWriter w = new WireWriter().putByte(value == null ? 0 : 1);
        if (value != null) {
            w.putBytes(value);
        }
        return w.toBuffer();
    }

    private synchronized ByteBuffer delete(WireReader r) {
        String key = name(r.getString(), "key");
        checkOpen();
        boolean existed = values.remove(key) != null;
        if (existed) {
            notifyWatchers(key, null);
        }
        return bool(existed);
    }

    private synchronized ByteBuffer watch(TransportConnection c, WireReader r) {
        long watchId = r.getLong();
        String prefix = name(r.getString(), "watch prefix");
        checkOpen();
        Map<Long, String> mine = watches.computeIfAbsent(c, x -> new LinkedHashMap<>());
        if (!mine.containsKey(watchId) && mine.size() >= MAX_WATCHES_PER_CONNECTION) {
            throw Status.of(Status.Code.RESOURCE_EXHAUSTED, "a connection may hold " + MAX_WATCHES_PER_CONNECTION
                    + " watches").asException();
        }
        mine.put(watchId, prefix);
        return empty();
    }

    private synchronized ByteBuffer unwatch(TransportConnection c, WireReader r) {
        long watchId = r.getLong();
        checkOpen();
        Map<Long, String> mine = watches.get(c);
        boolean existed = mine != null && mine.remove(watchId) != null;
        if (mine != null && mine.isEmpty()) {
            watches.remove(c);
        }
        return bool(existed);
    }

    /** One KV_EVENT per connection with matching watches, offered in change order. Caller holds the monitor. */
    private void notifyWatchers(String key, byte[] value) {
        for (Map.Entry<TransportConnection, Map<Long, String>> e : watches.entrySet()) {
            List<Long> matching = new ArrayList<>();
            for (Map.Entry<Long, String> w : e.getValue().entrySet()) {
                if (key.startsWith(w.getValue())) {
                    matching.add(w.getKey());
                }
            }
            if (matching.isEmpty()) {
                continue;
            }
            WireWriter w = new WireWriter().putString(key).putByte(value == null ? 0 : 1);
            if (value != null) {
                w.putBytes(value);
            }
            w.putInt(matching.size());
            for (long id : matching) {
                w.putLong(id);
            }
            send(e.getKey(), new ControlFrame(FrameType.REQUEST, FrameType.FLAG_ONE_WAY, 0, 0,
                    ControlProtocol.KV_EVENT, w.toBuffer()));
        }
    }

    // ------------------------------------------------------------------ connections and lifecycle

    /** Drops everything {@code c} held: its locks go to their next waiters, its arrivals and watches go. */
    void connectionClosed(TransportConnection c) {
        synchronized (this) {
            if (closed) {
                return;
            }
            watches.remove(c);
            for (Barrier b : List.copyOf(barriers.values())) {
                b.arrived.removeIf(w -> {
                    if (w.connection == c) {
                        cancelExpiry(w);
                        return true;
                    }
                    return false;
                });
                if (b.arrived.isEmpty()) {
                    barriers.remove(b.name, b);
                }
            }
            for (LockState s : List.copyOf(locks.values())) {
                s.waiting.removeIf(w -> {
                    if (w.connection == c) {
                        cancelExpiry(w);
                        return true;
                    }
                    return false;
                });
                if (s.holder != null && s.holder.connection == c) {
                    grantNext(s);
                } else if (s.holder == null && s.waiting.isEmpty()) {
                    locks.remove(s.name, s);
                }
            }
        }
        closeSlow();
    }

    /** Stops the expiry thread; later requests are answered CLOSED. Idempotent. */
    @Override
    public void close() {
        ScheduledThreadPoolExecutor t;
        synchronized (this) {
            closed = true;
            t = timer;
            timer = null;
        }
        if (t != null) {
            t.shutdownNow();
        }
    }

    /** Caller holds the monitor. */
    private ScheduledFuture<?> schedule(Runnable task, long delayMs) {
        if (timer == null) {
            timer = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().daemon(true)
                    .name("baton-master-coord").unstarted(r));
            timer.setRemoveOnCancelPolicy(true);
        }
        return timer.schedule(task, delayMs, TimeUnit.MILLISECONDS);
    }

    private static void cancelExpiry(Waiter w) {
        if (w.expiry != null) {
            w.expiry.cancel(false);
            w.expiry = null;
        }
    }

    /** Answers a deferred request. Caller holds the monitor. */
    private void answer(Waiter w, ByteBuffer body) {
        send(w.connection, new ControlFrame(FrameType.RESPONSE, 0, 0, w.requestId, w.method, body));
    }

    /** Answers a deferred request with an error. Caller holds the monitor. */
    private void fail(Waiter w, Status.Code code, String why) {
        send(w.connection, new ControlFrame(FrameType.RESPONSE, 0, code.value(), w.requestId, w.method,
                StandardCharsets.UTF_8.encode(why)));
    }

    /** Caller holds the monitor; a connection that refuses the frame is closed by {@link #closeSlow}. */
    private void send(TransportConnection c, ControlFrame frame) {
        if (c.offer(frame) == TransportConnection.BACK_PRESSURED && !slow.contains(c)) {
            slow.add(c);
        }
    }

    /** Closes the connections that refused a frame; outside the monitor, since closing calls back in. */
    private void closeSlow() {
        List<TransportConnection> s;
        synchronized (this) {
            if (slow.isEmpty()) {
                return;
            }
            s = List.copyOf(slow);
            slow.clear();
        }
        for (TransportConnection c : s) {
            LOG.log(System.Logger.Level.WARNING,
                    "{0} is not reading coordination answers or events; disconnecting it", c.remoteAddress());
            c.close();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw Status.of(Status.Code.CLOSED, "master is shutting down").asException();
        }
    }

    private static String name(String s, String what) {
        if (s == null) {
            throw invalid(what + " must not be null");
        }
        if (s.length() > ControlProtocol.MAX_NAME_CHARS) {
            throw invalid(what + " is " + s.length() + " chars; the most is " + ControlProtocol.MAX_NAME_CHARS);
        }
        return s;
    }

    private static dev.baton.BatonException invalid(String why) {
        return Status.of(Status.Code.INVALID_ARGUMENT, why).asException();
    }

    private static ByteBuffer empty() {
        return ByteBuffer.allocate(0);
    }

    private static ByteBuffer bool(boolean b) {
        return ByteBuffer.wrap(new byte[]{(byte) (b ? 1 : 0)});
    }
}
