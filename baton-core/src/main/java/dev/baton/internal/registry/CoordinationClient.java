package dev.baton.internal.registry;

import dev.baton.BatonException;
import dev.baton.Coordination;
import dev.baton.Message;
import dev.baton.Status;
import dev.baton.internal.wire.ControlProtocol;
import dev.baton.internal.wire.WireReader;
import dev.baton.internal.wire.WireWriter;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@link Coordination} over the master connection of a {@link MasterRegistry}. Each call uses the registry's
 * current connection, since a restarted master comes back on a new one.
 *
 * <h2>Timeouts</h2>
 * The master measures the timeout of a barrier or lock wait (it receives the remaining time with the
 * request) and answers DEADLINE_EXCEEDED when it passes, so the two sides always agree on the outcome; the
 * caller waits for that verdict, about one round trip past its timeout. Only if the master stays silent
 * {@link #GRACE_NS} longer, or the waiting thread is interrupted, does the caller give up on its own: it
 * then withdraws (LEAVE_BARRIER; UNLOCK, which also releases a grant that crossed it, so a lock is never
 * leaked). Calls without a timeout of their own (ids, key/value, tryLock, watch) wait up to the registry's
 * call timeout (the node's join timeout).
 *
 * <h2>Locks</h2>
 * One {@link LockImpl} per name per node. Threads of this node first queue on a fair node-local
 * {@link ReentrantLock}, so only one of them at a time asks the master, under a fresh token. A reentrant
 * acquisition touches only the local lock; the last unlock releases the master's lock, then the local one.
 *
 * <h2>Watches</h2>
 * KV_EVENTs arrive on the control I/O thread, are decoded there and handed to the node's event executor,
 * which calls the watchers one change at a time in the master's order. After the master returns, watches
 * are registered again on the new master (changes made while it was away are not replayed).
 *
 * <p>Thread-safe.
 */
final class CoordinationClient implements Coordination, AutoCloseable {

    private static final System.Logger LOG = System.getLogger(CoordinationClient.class.getName());
    /** How long past its own deadline a caller waits for the master's verdict before giving up alone. */
    static final long GRACE_NS = 2_000_000_000L;

    private final MasterRegistry registry;
    private final Executor events;
    private final Duration callTimeout;
    private final AtomicLong tokens = new AtomicLong();
    private final AtomicLong watchIds = new AtomicLong();
    private final Map<String, LockImpl> locks = new ConcurrentHashMap<>();
    private final Map<Long, WatchImpl> watches = new ConcurrentHashMap<>();
    private volatile boolean closed;

    CoordinationClient(MasterRegistry registry, Executor events, Duration callTimeout) {
        this.registry = registry;
        this.events = Objects.requireNonNull(events, "events");
        this.callTimeout = callTimeout;
    }

    // ------------------------------------------------------------------ barrier

    @Override
    public void barrier(String name, int parties, Duration timeout) throws InterruptedException {
        checkName(name, "barrier name");
        if (parties < 1) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "barrier '" + name + "' needs at least 1 party, not "
                    + parties).asException();
        }
        long timeoutNs = nanos(timeout);
        long token = tokens.incrementAndGet();
        ControlClient c = client();
        CompletableFuture<Message> f = c.call(ControlProtocol.BARRIER, new WireWriter().putString(name).putInt(parties)
                .putLong(millis(timeoutNs)).putLong(token).toBuffer());
        try {
            await(f, saturatedAdd(timeoutNs, GRACE_NS)).close();
        } catch (TimeoutException e) {
            forget(f);
            leaveBarrier(c, name, token);
            throw Status.of(Status.Code.DEADLINE_EXCEEDED, "barrier '" + name + "': the master gave no answer within "
                    + saturatedAdd(timeoutNs, GRACE_NS) / 1_000_000 + " ms").asException();
        } catch (InterruptedException e) {
            forget(f);
            leaveBarrier(c, name, token);
            throw e;
        }
    }

    private static void leaveBarrier(ControlClient c, String name, long token) {
        forget(c.call(ControlProtocol.LEAVE_BARRIER, new WireWriter().putString(name).putLong(token).toBuffer()));
    }

    // ------------------------------------------------------------------ locks

    @Override
    public DistributedLock lock(String name) {
        checkName(name, "lock name");
        return locks.computeIfAbsent(name, LockImpl::new);
    }

    /** A cluster-wide lock as seen from this node. */
    private final class LockImpl implements DistributedLock {

        private final String name;
        private final ReentrantLock local = new ReentrantLock(true);
        // ---- used only by the thread holding `local`
        private long token;
        private long fence;
        private ControlClient grantedOn;

        LockImpl(String name) {
            this.name = name;
        }

        @Override
        public void lock(Duration timeout) throws InterruptedException {
            long timeoutNs = nanos(timeout);
            long start = System.nanoTime();
            if (local.isHeldByCurrentThread()) {
                local.lock();
                return;
            }
            if (!local.tryLock(timeoutNs, TimeUnit.NANOSECONDS)) {
                throw Status.of(Status.Code.DEADLINE_EXCEEDED, "lock '" + name + "' not acquired within "
                        + timeoutNs / 1_000_000 + " ms (held by another thread of this node)").asException();
            }
            boolean held = false;
            try {
                acquire(Math.max(0, timeoutNs - (System.nanoTime() - start)));
                held = true;
            } finally {
                if (!held) {
                    local.unlock();
                }
            }
        }

        /** Asks the master, holding the local lock; the master waits up to {@code leftNs} for the grant. */
        private void acquire(long leftNs) throws InterruptedException {
            long t = tokens.incrementAndGet();
            ControlClient c = client();
            CompletableFuture<Message> f = c.call(ControlProtocol.LOCK, new WireWriter().putString(name).putLong(t)
                    .putLong(millis(leftNs)).toBuffer());
            long granted;
            try (Message m = await(f, saturatedAdd(leftNs, GRACE_NS))) {
                granted = new WireReader(m.buffer()).getLong();
            } catch (TimeoutException e) {
                forget(f);
                withdraw(c, t);
                throw Status.of(Status.Code.DEADLINE_EXCEEDED, "lock '" + name + "': the master gave no answer within "
                        + saturatedAdd(leftNs, GRACE_NS) / 1_000_000 + " ms").asException();
            } catch (InterruptedException e) {
                forget(f);
                withdraw(c, t);
                throw e;
            }
            token = t;
            fence = granted;
            grantedOn = c;
        }

        @Override
        public boolean tryLock() {
            if (local.isHeldByCurrentThread()) {
                local.lock();
                return true;
            }
            if (!local.tryLock()) {
                return false;
            }
            boolean held = false;
            try {
                long t = tokens.incrementAndGet();
                ControlClient c = client();
                CompletableFuture<Message> f = c.call(ControlProtocol.TRY_LOCK,
                        new WireWriter().putString(name).putLong(t).toBuffer());
                long granted;
                try (Message m = await(f, nanos(callTimeout))) {
                    WireReader r = new WireReader(m.buffer());
                    held = r.getByte() != 0;
                    granted = r.getLong();
                } catch (TimeoutException e) {
                    forget(f);
                    withdraw(c, t);
                    throw Status.of(Status.Code.DEADLINE_EXCEEDED, "tryLock '" + name + "': the master gave no answer "
                            + "within " + callTimeout.toMillis() + " ms").asException();
                } catch (InterruptedException e) {
                    forget(f);
                    withdraw(c, t);
                    Thread.currentThread().interrupt();
                    throw Status.of(Status.Code.CANCELLED, "interrupted").asException();
                }
                if (held) {
                    token = t;
                    fence = granted;
                    grantedOn = c;
                }
                return held;
            } finally {
                if (!held) {
                    local.unlock();
                }
            }
        }

        @Override
        public long fencingToken() {
            if (!local.isHeldByCurrentThread()) {
                throw new IllegalMonitorStateException("lock '" + name + "' is not held by this thread");
            }
            if (!grantedOn.isOpen()) {
                // The connection the grant came on is gone, and the master released every lock it held.
                throw Status.of(Status.Code.UNAVAILABLE, "lock '" + name + "' was released by the master: this "
                        + "node lost its connection while it was held; unlock it, the hold is void").asException();
            }
            return fence;
        }

        @Override
        public void unlock() {
            if (!local.isHeldByCurrentThread()) {
                throw new IllegalMonitorStateException("lock '" + name + "' is not held by "
                        + Thread.currentThread().getName());
            }
            if (local.getHoldCount() > 1) {
                local.unlock();
                return;
            }
            ControlClient c = grantedOn;
            grantedOn = null;
            try {
                release(c, token);
            } finally {
                local.unlock();
            }
        }

        /**
         * Waits for the master's answer, so that once unlock returns another node can take the lock. Failing
         * that, the release is still safe: the UNLOCK is on its way, or the connection closed, and a closing
         * connection releases every lock it held.
         */
        private void release(ControlClient c, long t) {
            if (c == null || !c.isOpen()) {
                return;
            }
            try {
                c.callSync(ControlProtocol.UNLOCK, new WireWriter().putString(name).putLong(t).toBuffer(), callTimeout)
                        .close();
            } catch (BatonException e) {
                LOG.log(System.Logger.Level.DEBUG, "unlock of ''{0}'' unconfirmed: {1}", name, e.getMessage());
            }
        }

        /** Gives up a LOCK or TRY_LOCK: the master withdraws it, or releases it if it was granted meanwhile. */
        private void withdraw(ControlClient c, long t) {
            forget(c.call(ControlProtocol.UNLOCK, new WireWriter().putString(name).putLong(t).toBuffer()));
        }

        @Override
        public boolean isHeldByCurrentThread() {
            return local.isHeldByCurrentThread();
        }

        @Override
        public String toString() {
            return "DistributedLock[" + name + "]";
        }
    }

    // ------------------------------------------------------------------ ids and key/value

    @Override
    public long nextId(String key) {
        checkName(key, "id key");
        try (Message m = call(ControlProtocol.NEXT_ID, new WireWriter().putString(key).toBuffer())) {
            return new WireReader(m.buffer()).getLong();
        }
    }

    @Override
    public void put(String key, byte[] value) {
        checkName(key, "key");
        Objects.requireNonNull(value, "value");
        if (value.length > ControlProtocol.MAX_VALUE_BYTES) {
            throw Status.of(Status.Code.RESOURCE_EXHAUSTED, "value of '" + key + "' is " + value.length
                    + " bytes; the most is " + ControlProtocol.MAX_VALUE_BYTES).withRetrySafe(true).asException();
        }
        call(ControlProtocol.KV_PUT, new WireWriter().putString(key).putBytes(value).toBuffer()).close();
    }

    @Override
    public Optional<byte[]> get(String key) {
        checkName(key, "key");
        try (Message m = call(ControlProtocol.KV_GET, new WireWriter().putString(key).toBuffer())) {
            WireReader r = new WireReader(m.buffer());
            return r.getByte() != 0 ? Optional.of(r.getBytes()) : Optional.empty();
        }
    }

    @Override
    public boolean delete(String key) {
        checkName(key, "key");
        try (Message m = call(ControlProtocol.KV_DELETE, new WireWriter().putString(key).toBuffer())) {
            return new WireReader(m.buffer()).getByte() != 0;
        }
    }

    // ------------------------------------------------------------------ watches

    @Override
    public AutoCloseable watch(String prefix, KeyWatcher watcher) {
        checkName(prefix, "watch prefix");
        Objects.requireNonNull(watcher, "watcher");
        WatchImpl w = new WatchImpl(watchIds.incrementAndGet(), prefix, watcher);
        watches.put(w.id, w);
        try {
            call(ControlProtocol.WATCH, w.body()).close();
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
        return w;
    }

    private final class WatchImpl implements AutoCloseable {
        final long id;
        final String prefix;
        final KeyWatcher watcher;

        WatchImpl(long id, String prefix, KeyWatcher watcher) {
            this.id = id;
            this.prefix = prefix;
            this.watcher = watcher;
        }

        ByteBuffer body() {
            return new WireWriter().putLong(id).putString(prefix).toBuffer();
        }

        /** No callback starts after this returns (one already running on the event thread may finish). */
        @Override
        public void close() {
            if (watches.remove(id, this)) {
                ControlClient c = currentOrNull();
                if (c != null) {
                    forget(c.call(ControlProtocol.UNWATCH, new WireWriter().putLong(id).toBuffer()));
                }
            }
        }

        @Override
        public String toString() {
            return "Watch[" + prefix + "]";
        }
    }

    /** A KV_EVENT from the master, on the control I/O thread: decode here, call watchers on the event thread. */
    void onKvEvent(Message payload) {
        String key;
        byte[] value;
        long[] ids;
        try (payload) {
            WireReader r = new WireReader(payload.buffer());
            key = r.getString();
            value = r.getByte() != 0 ? r.getBytes() : null;
            ids = new long[r.getCount(8)];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = r.getLong();
            }
        } catch (BatonException e) {
            LOG.log(System.Logger.Level.WARNING, "malformed key/value event from the master: {0}", e.getMessage());
            return;
        }
        if (closed) {
            return;
        }
        try {
            events.execute(() -> deliver(key, value, ids));
        } catch (RejectedExecutionException e) {
            LOG.log(System.Logger.Level.DEBUG, "node closing; key/value event for ''{0}'' dropped", key);
        }
    }

    private void deliver(String key, byte[] value, long[] ids) {
        boolean shared = false;
        for (long id : ids) {
            WatchImpl w = watches.get(id);
            if (w == null || closed) {
                continue;
            }
            // Each watcher gets its own copy: one may keep or change what it was given.
            byte[] mine = value == null ? null : shared ? value.clone() : value;
            shared = true;
            try {
                w.watcher.onChange(key, Optional.ofNullable(mine));
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "watcher of ''" + w.prefix + "'' failed on ''" + key + "''", e);
            }
        }
    }

    /** The master came back on {@code c}: register the live watches with it again (a new master has none). */
    void onReconnected(ControlClient c) {
        for (WatchImpl w : watches.values()) {
            c.call(ControlProtocol.WATCH, w.body()).whenComplete((m, e) -> {
                if (m != null) {
                    m.close();
                } else {
                    LOG.log(System.Logger.Level.WARNING, "watch of ''{0}'' not restored on the master: {1}",
                            w.prefix, e.getMessage());
                }
            });
        }
    }

    /** Later calls fail with CLOSED and no watcher is called again; locks go with the master connection. */
    @Override
    public void close() {
        closed = true;
        watches.clear();
    }

    // ------------------------------------------------------------------ helpers

    private ControlClient client() {
        if (closed) {
            throw Status.of(Status.Code.CLOSED, "the node is closed").asException();
        }
        return registry.client();
    }

    private ControlClient currentOrNull() {
        try {
            return registry.client();
        } catch (BatonException e) {
            return null;    // no master connection: the master forgets this connection's state by itself
        }
    }

    private Message call(int method, ByteBuffer body) {
        return client().callSync(method, body, callTimeout);
    }

    /** Waits for an answer; a master error (or a lost connection) is rethrown as it came. */
    private static Message await(CompletableFuture<Message> f, long timeoutNs)
            throws InterruptedException, TimeoutException {
        try {
            return f.get(timeoutNs, TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof BatonException b ? b
                    : Status.of(Status.Code.INTERNAL, e.getCause().toString()).withCause(e.getCause()).asException();
        }
    }

    /** Nobody waits for {@code f} (any more): its answer is dropped when it comes. */
    private static void forget(CompletableFuture<Message> f) {
        f.whenComplete((m, e) -> {
            if (m != null) {
                m.close();
            }
        });
    }

    private static void checkName(String name, String what) {
        Objects.requireNonNull(name, what);
        if (name.length() > ControlProtocol.MAX_NAME_CHARS) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, what + " is " + name.length() + " chars; the most is "
                    + ControlProtocol.MAX_NAME_CHARS).asException();
        }
    }

    /** A timeout in nanoseconds: negative counts as zero, and very long ones saturate. */
    private static long nanos(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            return 0;
        }
        try {
            return timeout.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /** Nanoseconds as the milliseconds the master should wait, rounded up. */
    private static long millis(long nanos) {
        return nanos / 1_000_000L + (nanos % 1_000_000L == 0 ? 0 : 1);
    }

    private static long saturatedAdd(long a, long b) {
        long s = a + b;
        return s < 0 ? Long.MAX_VALUE : s;
    }
}
