package dev.baton;

import java.time.Duration;
import java.util.Optional;

/**
 * Coordination among the nodes of a cluster, served by the registry (the master): barriers, locks that are
 * released when their holder dies, unique ids, and a small key/value context with watches. Obtained from
 * {@link Node#coordination()}.
 *
 * <pre>{@code
 * Coordination co = node.coordination();
 * co.barrier("loaded", 4, Duration.ofSeconds(30));          // all 4 nodes have loaded their shard
 * Coordination.DistributedLock lock = co.lock("model");
 * lock.lock(Duration.ofSeconds(5));
 * try {
 *     co.put("model/version", Long.toString(co.nextId("model")).getBytes());
 * } finally {
 *     lock.unlock();
 * }
 * }</pre>
 *
 * <h2>Thread safety and blocking</h2>
 * Thread-safe. Every method makes one or more round trips to the registry and blocks the calling thread, so
 * do not call it on an I/O thread (an {@code inline} handler). Errors are {@link BatonException}s:
 * <ul>
 *   <li>DEADLINE_EXCEEDED: a barrier or lock wait ran out of time. The registry measures the timeout, so
 *       the call returns about one round trip after it; if the registry then stays silent (2 s more), the
 *       caller gives up on its own and withdraws its request. Methods without a timeout wait up to the node's
 *       {@link NodeOptions#joinTimeout()} for the registry's answer.</li>
 *   <li>UNAVAILABLE: the registry cannot be reached, or the connection to it broke while waiting.</li>
 *   <li>PERMISSION_DENIED: the master's {@link Authorizer} refused the request
 *       ({@link Authorizer#authorizeCoordination}); the message names the caller, the action and the name, and the
 *       policy's reason. Nothing was taken, waited for or changed. Unlocking, leaving and closing a watch are never
 *       refused.</li>
 *   <li>INVALID_ARGUMENT for a bad argument (names, keys and prefixes are at most 4,096 chars);
 *       RESOURCE_EXHAUSTED for a value over 1 MiB or more than 65,536 keys; CLOSED once the node is
 *       closed.</li>
 * </ul>
 * An interrupted barrier or lock wait withdraws its request and throws {@link InterruptedException}.
 *
 * <h2>Failures</h2>
 * State lives in the registry, per registry session of each node:
 * <ul>
 *   <li>A lock is released and a barrier arrival withdrawn when the node that made it closes, dies, or
 *       loses its connection to the master (a missed lease included); the waiting calls of that node fail
 *       with UNAVAILABLE. Its watches go silent until it is connected again.</li>
 *   <li>The master keeps everything in memory. A master restarted from nothing starts with no barriers,
 *       locks, ids or values: a lock held before the restart is <b>no longer held</b> on the new master (the
 *       holder's {@link DistributedLock#isHeldByCurrentThread()} still says true until it unlocks, and
 *       another node may now take the lock), ids count from 0 again, and values are gone. Watches are
 *       registered again on the new master; changes made while it was away are not reported.</li>
 * </ul>
 * See docs/failure-semantics.md.
 */
public interface Coordination {

    /**
     * Waits until {@code parties} nodes (or threads; each call counts once) have entered the barrier
     * {@code name}, then returns on all of them. A barrier is reusable: once it opens, the next {@code parties}
     * calls form the next round. Throws DEADLINE_EXCEEDED (and leaves the round, which then counts one
     * arrival less) on timeout; INVALID_ARGUMENT when {@code parties} is less than 1 or differs from what the
     * current round's first caller said. A zero timeout returns only if this call completes the round.
     */
    void barrier(String name, int parties, Duration timeout) throws InterruptedException;

    /**
     * The cluster-wide lock {@code name} (the same object for the same name on this node). Reentrant for the
     * thread that holds it; at most one thread in the whole cluster holds it at a time. Threads of one node
     * queue fairly among themselves, and nodes are granted it in the order they asked the registry. The
     * registry releases it when the holding node dies or leaves.
     */
    DistributedLock lock(String name);

    /**
     * The next id for {@code key}: 0, 1, 2, ... across the cluster, each handed out once by one master (a
     * restarted master counts from 0 again).
     */
    long nextId(String key);

    /**
     * Sets {@code key} to {@code value} (at most 1 MiB; copied) and notifies watchers. RESOURCE_EXHAUSTED for a
     * larger value or a new key beyond 65,536 keys.
     */
    void put(String key, byte[] value);

    /** The value of {@code key}, if set (a fresh copy). */
    Optional<byte[]> get(String key);

    /** Removes {@code key} (and notifies watchers); returns whether it was set. */
    boolean delete(String key);

    /**
     * Calls {@code watcher} on every change of a key that starts with {@code prefix} (once per change, in
     * order, on the node's event thread) until the returned handle is closed. Changes made after this returns
     * are reported; earlier ones are not (read them with {@link #get}). Closing the handle is idempotent and
     * does not throw; no callback starts after it returns. A watcher that throws is logged and keeps watching.
     */
    AutoCloseable watch(String prefix, KeyWatcher watcher);

    /** Told about a change of a watched key. */
    @FunctionalInterface
    interface KeyWatcher {
        /** {@code value} is empty when the key was deleted. */
        void onChange(String key, Optional<byte[]> value);
    }

    /** A cluster-wide lock; see {@link Coordination#lock(String)}. */
    interface DistributedLock {

        /**
         * Acquires the lock, waiting up to {@code timeout} (for other threads of this node, then for the
         * registry); DEADLINE_EXCEEDED when it was not acquired, and then nothing is held. A thread that holds
         * it already only counts one more hold.
         */
        void lock(Duration timeout) throws InterruptedException;

        /**
         * Acquires the lock if it is free now (one round trip to the registry, unless this thread holds it
         * already); false otherwise.
         */
        boolean tryLock();

        /**
         * Releases one hold; the registry's lock is released with the last one, and once this returns another
         * node can take it (unless the registry did not answer within the join timeout; it still releases the
         * lock when the request arrives or the connection closes). Never throws for a registry failure.
         *
         * @throws IllegalMonitorStateException when the calling thread does not hold the lock
         */
        void unlock();

        /** True when the calling thread holds the lock. */
        boolean isHeldByCurrentThread();

        /**
         * The fencing token of the current hold: a number the registry makes larger with every grant (of any
         * lock). Hand it to the resource the lock guards with every request, and have the resource refuse a
         * token smaller than the largest it has seen: a holder that lost the lock without knowing (paused,
         * cut off, its lease expired) can then no longer change the resource. A reentrant hold has the token
         * of the first. The master starts its tokens from its wall clock, so a restarted master's are larger;
         * ZooKeeper's are transaction ids, which only grow.
         *
         * @throws IllegalMonitorStateException when the calling thread does not hold the lock
         * @throws BatonException UNAVAILABLE once this node knows that the registry released the lock (it lost
         *         its connection to the master, or its ZooKeeper session ended, while holding it): the hold is
         *         void, so unlock it
         */
        long fencingToken();
    }
}
