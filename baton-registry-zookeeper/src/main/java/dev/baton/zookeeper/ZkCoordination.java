package dev.baton.zookeeper;

import dev.baton.BatonException;
import dev.baton.Coordination;
import dev.baton.Status;
import dev.baton.zookeeper.ZkOps.Reply;
import dev.baton.zookeeper.ZkOps.Signal;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.state.ConnectionStateListener;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooKeeper;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * {@link Coordination} on ZooKeeper: what {@code Registry.coordination(events)} of the ZooKeeper registry returns.
 * All state lives under the coordination base znode ({@code ROOT/coordination}), so it survives the loss of any
 * ZooKeeper server and of any node; what a node holds (locks, barrier arrivals) lives in ephemeral znodes of its
 * session and goes with it.
 *
 * <h2>Layout</h2>
 * Names, keys and prefixes are URL-encoded behind a {@code k} ({@code k} + {@link ZkLayout#encode}), so the
 * empty name, "." and ".." are valid znode names too.
 * <pre>
 * BASE/fence                 fencing tokens: every lock grant writes it; the write's zxid is the token
 * BASE/locks/kNAME           a lock (container): its requests, one per node that wants it
 *   UUID-SEQ                 ephemeral sequential: a request; the lowest sequence number holds the lock
 * BASE/barriers/kNAME        a barrier (container); data "ROUND PARTIES": the current round and its parties
 *   rROUND~UUID~SEQ          ephemeral sequential: an arrival in round ROUND
 * BASE/ids/kKEY              the next id of KEY (decimal), compare-and-set
 * BASE/kv/kKEY               the value of KEY, present while it is set: inline, or a blob's id
 * BASE/log/rKIB_[UUID]-SEQ   persistent sequential: one change of a key/value, KIB in size, its value inline
 *                            or in blob UUID (the latest 1,000 changes, up to 64 MiB of them, are kept)
 * BASE/blobs/UUID/I          chunk I (at most 256 KiB) of a value too large for one znode (over 256 KiB)
 * </pre>
 * The protocols: {@link ZkLock}, {@link ZkBarrier}, {@link ZkIdCounters}, {@link ZkKeyValues} (values and the
 * change log), {@link ZkValues} (inline values and blobs), {@link ZkWatches}. {@link ZkOps} makes the ZooKeeper
 * calls, and {@link ZkCleanups} deletes what callers gave up while ZooKeeper could not be reached.
 *
 * <h2>Calls, timeouts and failures</h2>
 * Every call runs on the calling thread with asynchronous ZooKeeper calls it awaits up to a deadline
 * ({@link ZkOps}): {@code timeout} (the node's join timeout) for calls without a timeout of their own, and for
 * each ZooKeeper round trip of a barrier or lock wait. While the client is not connected, every call fails with
 * UNAVAILABLE at once. A lock or barrier wait outlives a short disconnection (ZooKeeper keeps the session, and
 * with it the request, for its session timeout): it fails with UNAVAILABLE when Curator reports the session
 * LOST (the ephemeral request is gone) or when this coordination closes. A request the caller gave up on
 * (timeout, interrupt, a failed call) is deleted before the call returns; when ZooKeeper cannot be reached for
 * that, it is deleted as soon as the session reconnects (or goes with the session), and the call fails with
 * UNAVAILABLE.
 *
 * <h2>Threads</h2>
 * One daemon thread of its own, {@code baton-zk-coordination-N}: it delivers watched changes (reading them from
 * ZooKeeper and handing them to the {@code events} executor), deletes abandoned requests, and compacts the change
 * log. ZooKeeper's event thread only wakes waiting threads. {@link #close()} stops the thread.
 *
 * <p>Thread-safe.
 */
final class ZkCoordination implements Coordination, AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ZkCoordination.class.getName());
    /** The longest name, key or prefix (chars). */
    static final int MAX_NAME_CHARS = 4_096;
    /** How long a waiting call sleeps at most before it looks at its state again (a safety net; watches wake it). */
    static final long MAX_PARK_NS = TimeUnit.SECONDS.toNanos(1);
    private static final AtomicInteger THREADS = new AtomicInteger();

    final ZkOps ops;
    final String locks;
    final String barriers;
    final String fence;
    final Executor events;
    private final CuratorFramework client;
    private final ZkBarrier barrier;
    private final ZkKeyValues keyValues;
    private final ZkWatches watches;
    private final Map<String, ZkLock> lockObjects = new ConcurrentHashMap<>();
    private final Set<Signal> waiting = ConcurrentHashMap.newKeySet();
    private final ZkCleanups cleanups;
    private final ZkIdCounters idCounters;
    private final AtomicLong sessionsLost = new AtomicLong();
    private final Signal wakeWorker = new Signal();
    private final Thread worker;
    private final ConnectionStateListener stateListener = this::onStateChange;
    private volatile boolean ready;
    private volatile boolean closed;

    /**
     * @param client  started and connected, shared with the membership side (not closed here)
     * @param base    the znode under which all coordination state lives (it exists)
     * @param events  runs watch callbacks one at a time in order
     * @param timeout how long calls without a timeout of their own wait for ZooKeeper
     */
    ZkCoordination(CuratorFramework client, String base, Executor events, Duration timeout) {
        this.client = Objects.requireNonNull(client, "client");
        this.events = Objects.requireNonNull(events, "events");
        if (timeout.isNegative() || timeout.isZero()) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "timeout must be positive: " + timeout).asException();
        }
        this.ops = new ZkOps(client, base, timeout, () -> closed);
        this.locks = ops.base + "/locks";
        this.barriers = ops.base + "/barriers";
        this.fence = ops.base + "/fence";
        this.cleanups = new ZkCleanups(this);
        this.idCounters = new ZkIdCounters(this, ops.base + "/ids");
        this.barrier = new ZkBarrier(this);
        this.keyValues = new ZkKeyValues(this);
        this.watches = new ZkWatches(this, keyValues);
        client.getConnectionStateListenable().addListener(stateListener);
        this.worker = Thread.ofPlatform().daemon(true).name("baton-zk-coordination-" + THREADS.incrementAndGet())
                .unstarted(this::work);
        worker.start();
    }

    // ------------------------------------------------------------------ Coordination

    @Override
    public void barrier(String name, int parties, Duration timeout) throws InterruptedException {
        checkName(name, "barrier name");
        if (parties < 1) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "barrier '" + name + "' needs at least 1 party, not "
                    + parties).asException();
        }
        barrier.await(name, parties, nanos(timeout));
    }

    @Override
    public DistributedLock lock(String name) {
        checkName(name, "lock name");
        checkOpen();
        return lockObjects.computeIfAbsent(name, n -> new ZkLock(this, n, locks + "/" + nodeName(n)));
    }

    @Override
    public long nextId(String key) {
        checkName(key, "id key");
        return idCounters.next(key);
    }

    @Override
    public void put(String key, byte[] value) {
        checkName(key, "key");
        Objects.requireNonNull(value, "value");
        keyValues.put(key, value);
    }

    @Override
    public Optional<byte[]> get(String key) {
        checkName(key, "key");
        return keyValues.get(key);
    }

    @Override
    public boolean delete(String key) {
        checkName(key, "key");
        return keyValues.delete(key);
    }

    @Override
    public AutoCloseable watch(String prefix, KeyWatcher watcher) {
        checkName(prefix, "watch prefix");
        Objects.requireNonNull(watcher, "watcher");
        return watches.watch(prefix, watcher);
    }

    /**
     * Later calls fail with CLOSED. Waiting barrier and lock calls wake and fail with UNAVAILABLE, as
     * {@link Coordination} says of a node that closes (and as the conformance suite pins), and delete their
     * requests. No watcher is called again, and the thread stops (waiting up to the timeout for it). Locks still
     * held stay held until their holders unlock (which still works, without throwing) or the session closes:
     * call this before closing the client. Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        client.getConnectionStateListenable().removeListener(stateListener);
        wakeWaiters();
        watches.close();
        wakeWorker.fire();
        worker.interrupt();
        if (Thread.currentThread() != worker) {
            try {
                worker.join(Math.max(1_000, ops.timeout.toMillis()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return "ZkCoordination[" + ops.base + (closed ? ", closed]" : "]");
    }

    // ------------------------------------------------------------------ shared with the parts

    boolean isClosed() {
        return closed;
    }

    void checkOpen() {
        if (closed) {
            throw ZkOps.closedException();
        }
    }

    /**
     * The handle of the current session, once the coordination znodes exist (created on the first call).
     * CLOSED after close, UNAVAILABLE while not connected.
     */
    ZooKeeper ready(long deadline) {
        ZooKeeper zk = ops.handle();
        if (!ready) {
            try {
                List<Reply> made = new ArrayList<>();
                for (String dir : new String[] {locks, barriers, ops.base + "/ids", fence, keyValues.kv, keyValues.log,
                        keyValues.blobs}) {
                    made.add(ops.create(zk, dir, new byte[0], ops.acl(zk, deadline), CreateMode.PERSISTENT));
                }
                for (Reply r : made) {
                    ops.await(r, deadline, "creating the coordination znodes");
                    if (r.code != KeeperException.Code.NODEEXISTS) {
                        r.check("creating the coordination znodes under " + ops.base);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw Status.of(Status.Code.CANCELLED, "interrupted").asException();
            }
            ready = true;
        }
        return zk;
    }

    /** How many sessions were lost so far: a waiting call whose count changed lost its ephemeral request. */
    long sessionsLost() {
        return sessionsLost.get();
    }

    /** True while the session of {@code zk} (counted {@code lost} when it began) is the one the node holds. */
    boolean sameSession(ZooKeeper zk, long lost) {
        return zk.getState().isAlive() && sessionsLost.get() == lost;
    }

    /** {@code s} fires on every connection state change and on close while registered. */
    void register(Signal s) {
        waiting.add(s);
    }

    void unregister(Signal s) {
        waiting.remove(s);
    }

    /** The worker delivers watched changes (it was told of new ones, or the connection came back). */
    void wakeWorker() {
        wakeWorker.fire();
    }

    /** See {@link ZkCleanups#release}. */
    boolean release(ZooKeeper zk, String path) {
        return cleanups.release(zk, path);
    }

    /** See {@link ZkCleanups#forget}. */
    void forget(ZooKeeper zk, String path) {
        cleanups.forget(zk, path);
    }

    /** See {@link ZkCleanups#abandonCreate}. */
    void abandonCreate(Reply create, ZooKeeper zk, String parent, String prefix) {
        cleanups.abandonCreate(create, zk, parent, prefix);
    }

    // ------------------------------------------------------------------ connection state and the worker

    private void onStateChange(CuratorFramework c, ConnectionState state) {
        if (state == ConnectionState.LOST) {
            sessionsLost.incrementAndGet();
        }
        LOG.log(System.Logger.Level.DEBUG, "{0}: connection {1}", this, state);
        wakeWaiters();
        wakeWorker.fire();
    }

    private void wakeWaiters() {
        for (Signal s : waiting) {
            s.fire();
        }
    }

    private void work() {
        while (!closed) {
            try {
                wakeWorker.await(Long.MAX_VALUE, cleanups.pending() ? MAX_PARK_NS : TimeUnit.SECONDS.toNanos(5));
                if (closed) {
                    break;
                }
                cleanups.run();
                keyValues.compactIfDue();
                watches.pump();
            } catch (InterruptedException e) {
                if (closed) {
                    break;
                }
            } catch (BatonException e) {
                LOG.log(System.Logger.Level.DEBUG, "{0}: {1} (retried when the connection is back)", this,
                        e.getMessage());
                if (!ops.connected()) {
                    continue;       // the connection's return wakes this thread
                }
                LockSupport.parkNanos(MAX_PARK_NS);
                wakeWorker.fire();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, this + ": unexpected failure", e);
                LockSupport.parkNanos(MAX_PARK_NS);
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    /** The znode name of a name, key or prefix: never empty, never "." or "..", no '/'. */
    static String nodeName(String name) {
        return "k" + ZkLayout.encode(name);
    }

    /** The name, key or prefix of a znode name made by {@link #nodeName}. */
    static String nameOf(String nodeName) {
        return ZkLayout.decode(nodeName.substring(1));
    }

    static void checkName(String name, String what) {
        Objects.requireNonNull(name, what);
        if (name.length() > MAX_NAME_CHARS) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, what + " is " + name.length() + " chars; the most is "
                    + MAX_NAME_CHARS).asException();
        }
    }

    /** DEADLINE_EXCEEDED once {@code deadline} has passed (a call that kept meeting concurrent changes). */
    static void checkDeadline(long deadline, String what) {
        if (System.nanoTime() - deadline > 0) {
            throw Status.of(Status.Code.DEADLINE_EXCEEDED, what + ": gave up after too many concurrent changes")
                    .asException();
        }
    }

    /** A short random pause after a lost compare-and-set, growing with the conflicts (at most 10 ms). */
    static void backOff(int conflicts) {
        if (conflicts > 0) {
            LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(Math.min(conflicts, 10) * 1_000_000L));
        }
    }

    /** A timeout in nanoseconds: negative counts as zero, and very long ones saturate. */
    static long nanos(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            return 0;
        }
        try {
            return timeout.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 4;
        }
    }

    /** A timeout in milliseconds, for messages. */
    static long millis(Duration timeout) {
        return nanos(timeout) / 1_000_000L;
    }

    /** {@code now + ns} without overflow. */
    static long deadlineIn(long ns) {
        long now = System.nanoTime();
        return ns > Long.MAX_VALUE / 4 ? now + Long.MAX_VALUE / 4 : now + ns;
    }
}
