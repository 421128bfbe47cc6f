package dev.baton.accumulator;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.ServerInfo;
import dev.baton.Status;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * Distributed aggregation across the nodes of a cluster (prpc's accumulator): named sums, averages, maxima,
 * minima, timers and user-defined aggregates that every node writes to and any node reads the global value of.
 *
 * <pre>{@code
 * try (Accumulators acc = Accumulators.attach(node)) {
 *     LongAccumulator samples = acc.longSum("samples");
 *     DoubleAccumulator loss = acc.doubleMin("best-loss");
 *     for (...) {
 *         samples.write(batch.size());        // ~ns, no lock, no allocation, no network
 *         loss.write(currentLoss);
 *     }
 *     acc.awaitFlushed(Duration.ofSeconds(10)); // everything written so far is on the server
 *     long total = samples.read();              // the sum over every node
 * }
 * }</pre>
 *
 * <h2>Writes</h2>
 * A write lands in the writing thread's own cell of the accumulator and returns; it never locks, blocks,
 * allocates (after the thread's first write to that accumulator) or touches the network. A background thread
 * per node (the flusher) pushes what changed, every accumulator in ONE batched call, when a thread has made
 * {@link AccumulatorOptions#flushEvery()} writes to an accumulator, every {@link AccumulatorOptions#flushInterval()},
 * and on {@link #flush()} or {@link #awaitFlushed}. Writes made after {@link #close()} are dropped.
 *
 * <h2>Reads</h2>
 * {@link #read}, {@link #readAll()} and the handles' {@code read()} ask the server for the global value: what
 * every node had pushed when the server answered. Call {@link #awaitFlushed} first to include this node's
 * writes. {@link #reset} sets a name back to its empty value everywhere, {@link #erase} and {@link #eraseAll}
 * remove names (an erased name can then be created again with another type). Writes not yet pushed when a
 * reset or erase runs count toward the new value.
 *
 * <h2>Types</h2>
 * A name has one type across the cluster. Asking this node for an existing name with another type throws
 * {@link BatonException} ALREADY_EXISTS at once; when two nodes create a name with different types, the
 * server keeps the first and rejects the other node's values with ALREADY_EXISTS, which that node's
 * {@link #flush()}, {@link #awaitFlushed} and {@link #read} throw (and its error handler is told). Nothing is
 * merged across types.
 *
 * <h2>The server and its failure</h2>
 * The server runs on one node, chosen through the master ({@link ServerPlacement}): rank 0 by default, a node
 * that asks for it, or any eligible node when those are gone. Every node keeps its own cumulative contribution
 * to each name; a node that finds a new server (the old one died) re-sends that whole contribution, including
 * what was never acknowledged, and the new server applies it once. Therefore, when the server's node dies:
 * <ul>
 *   <li>nothing written by a node that is still alive is lost, acknowledged or not;</li>
 *   <li>lost are the contributions of nodes that are gone: the server's own node (its writes lived in its
 *       process), and nodes that had closed or died before (their values lived only on the server);</li>
 *   <li>a reset or erase whose call had not returned may be undone for the nodes it had not reached.</li>
 * </ul>
 * Until every node attached at its start has checked in (or {@link AccumulatorOptions#rebuildTimeout()}
 * passed), a new server holds reads, resets and erasures. When the server's node closes its
 * {@code Accumulators} normally, the server hands its whole state over to another node first, and nothing is
 * lost.
 *
 * <h2>Threads and ownership</h2>
 * One per {@link Node}; thread-safe. {@link #attach} starts the flusher thread
 * ({@code baton-accumulator-flush-<rank>}, a daemon) and registers this node's peer server; {@link #close()}
 * flushes, hands the server over if this node has it, and stops them. Close it before its node. Reads,
 * resets, erasures and {@link #awaitFlushed} block the caller (up to their timeouts); {@link #flush()} and
 * writes never do.
 */
public final class Accumulators implements AutoCloseable {

    /** The service the accumulator server registers (as server 0), for tools that look for it. */
    public static final String SERVICE = Protocol.SERVICE;

    private static final System.Logger LOG = System.getLogger(Accumulators.class.getName());
    private static final Set<Node> ATTACHED = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
    private static final int MAX_NAME_BYTES = 1024;
    private static final long READ_RETRY_MIN_NS = 2_000_000L;
    private static final long READ_RETRY_MAX_NS = 200_000_000L;

    private final Node node;
    private final AccumulatorOptions options;
    private final Map<String, Accumulator> accumulators = new ConcurrentHashMap<>();
    private final Collection<Accumulator> all = Collections.unmodifiableCollection(accumulators.values());
    private final Client server;
    private final AtomicInteger errorCount = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    final Flusher flusher;

    private Accumulators(Node node, AccumulatorOptions options) {
        this.node = node;
        this.options = options;
        this.server = node.client(Protocol.SERVICE);
        this.flusher = new Flusher(this);
    }

    /** Attaches accumulators to {@code node} with the default options. See {@link #attach(Node, AccumulatorOptions)}. */
    public static Accumulators attach(Node node) {
        return attach(node, AccumulatorOptions.DEFAULT);
    }

    /**
     * Attaches accumulators to {@code node}: registers its peer server with the master, starts its flusher,
     * and (unless {@link ServerPlacement#NEVER}) makes it a candidate to host the server. One per node:
     * attaching twice throws {@link IllegalStateException}. Throws {@link BatonException} if the registration
     * fails (the node is closed, the master is unreachable).
     */
    public static Accumulators attach(Node node, AccumulatorOptions options) {
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(options, "options");
        if (!ATTACHED.add(node)) {
            throw new IllegalStateException("accumulators are already attached to node rank " + node.rank());
        }
        Accumulators a = new Accumulators(node, options);
        try {
            a.flusher.start();
            return a;
        } catch (RuntimeException e) {
            ATTACHED.remove(node);
            throw e;
        }
    }

    /** The node these accumulators belong to. */
    public Node node() {
        return node;
    }

    public AccumulatorOptions options() {
        return options;
    }

    // ------------------------------------------------------------------ creating accumulators

    /** The {@link Aggregators#LONG_SUM} named {@code name} (created on first use). */
    public LongAccumulator longSum(String name) {
        return get(name, Aggregators.LONG_SUM, LongAccumulator.class, n -> new LongAccumulator(this, n, Aggregators.LONG_SUM));
    }

    /** The {@link Aggregators#LONG_MAX} named {@code name}. */
    public LongAccumulator longMax(String name) {
        return get(name, Aggregators.LONG_MAX, LongAccumulator.class, n -> new LongAccumulator(this, n, Aggregators.LONG_MAX));
    }

    /** The {@link Aggregators#LONG_MIN} named {@code name}. */
    public LongAccumulator longMin(String name) {
        return get(name, Aggregators.LONG_MIN, LongAccumulator.class, n -> new LongAccumulator(this, n, Aggregators.LONG_MIN));
    }

    /** The {@link Aggregators#DOUBLE_SUM} named {@code name}. */
    public DoubleAccumulator doubleSum(String name) {
        return get(name, Aggregators.DOUBLE_SUM, DoubleAccumulator.class,
                n -> new DoubleAccumulator(this, n, Aggregators.DOUBLE_SUM));
    }

    /** The {@link Aggregators#DOUBLE_MAX} named {@code name} (starts from -Infinity). */
    public DoubleAccumulator doubleMax(String name) {
        return get(name, Aggregators.DOUBLE_MAX, DoubleAccumulator.class,
                n -> new DoubleAccumulator(this, n, Aggregators.DOUBLE_MAX));
    }

    /** The {@link Aggregators#DOUBLE_MIN} named {@code name} (starts from +Infinity). */
    public DoubleAccumulator doubleMin(String name) {
        return get(name, Aggregators.DOUBLE_MIN, DoubleAccumulator.class,
                n -> new DoubleAccumulator(this, n, Aggregators.DOUBLE_MIN));
    }

    /** The {@link Aggregators#AVERAGE} named {@code name}. */
    public AverageAccumulator average(String name) {
        return get(name, Aggregators.AVERAGE, AverageAccumulator.class, n -> new AverageAccumulator(this, n));
    }

    /** The {@link Aggregators#TIMER} named {@code name}. */
    public TimerAccumulator timer(String name) {
        return get(name, Aggregators.TIMER, TimerAccumulator.class, n -> new TimerAccumulator(this, n));
    }

    /**
     * The accumulator named {@code name} of the user-defined type {@code typeName}, which must be
     * {@link Aggregators#register registered} in this JVM ({@link IllegalArgumentException} otherwise).
     */
    @SuppressWarnings("unchecked")
    public <S, V> CustomAccumulator<S, V> custom(String name, String typeName) {
        AggregatorType<?, ?> type = Aggregators.custom(typeName).orElseThrow(() -> new IllegalArgumentException(
                "aggregator type '" + typeName + "' is not registered (Aggregators.register)"));
        return get(name, typeName, CustomAccumulator.class,
                n -> new CustomAccumulator<>(this, n, (AggregatorType<Object, Object>) type));
    }

    private <T extends Accumulator> T get(String name, String type, Class<T> kind, Function<String, T> factory) {
        checkName(name);
        Accumulator a = accumulators.get(name);
        if (a == null) {
            if (closed.get()) {
                throw AccumulatorServer.closed();
            }
            a = accumulators.computeIfAbsent(name, factory);
        }
        if (!a.type.equals(type)) {
            throw Status.of(Status.Code.ALREADY_EXISTS, "accumulator '" + name + "' is a " + a.type
                    + " on this node; it cannot also be a " + type).asException();
        }
        return kind.cast(a);
    }

    private static void checkName(String name) {
        Objects.requireNonNull(name, "name");
        int n = name.getBytes(StandardCharsets.UTF_8).length;
        if (n == 0 || n > MAX_NAME_BYTES) {
            throw new IllegalArgumentException("accumulator name must be 1 to " + MAX_NAME_BYTES
                    + " UTF-8 bytes, was '" + (name.length() > 40 ? name.substring(0, 40) + "..." : name) + "'");
        }
    }

    /** Every accumulator created on this node (a live view). */
    public Collection<Accumulator> accumulators() {
        return all;
    }

    Collection<Accumulator> all() {
        return all;
    }

    Accumulator find(String name) {
        return accumulators.get(name);
    }

    // ------------------------------------------------------------------ flushing

    /**
     * Asks the flusher to push everything now, and returns at once. Throws ALREADY_EXISTS (or INVALID_ARGUMENT
     * for a type the server does not know) if the server has rejected one of this node's accumulators.
     */
    public void flush() {
        throwIfRejected();
        flusher.wake();
    }

    /**
     * Pushes everything written before this call (by any thread) and waits until the server has merged it
     * (prpc's {@code wait_empty}). Throws {@link BatonException}: DEADLINE_EXCEEDED when that takes longer
     * than {@code timeout} (no server, or a failover slower than that), ALREADY_EXISTS or INVALID_ARGUMENT
     * when the server rejected one of this node's accumulators, CLOSED after {@link #close()}.
     */
    public void awaitFlushed(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        flusher.awaitFlushed(timeout);
        throwIfRejected();
    }

    private void throwIfRejected() {
        if (errorCount.get() == 0) {
            return;
        }
        for (Accumulator a : all) {
            BatonException e = a.error;
            if (e != null) {
                throw new BatonException(e.status());
            }
        }
    }

    /** Records (or clears) the server's rejection of {@code a}. Flusher lock held. */
    void setError(Accumulator a, BatonException e) {
        if (a.error == null && e != null) {
            errorCount.incrementAndGet();
        } else if (a.error != null && e == null) {
            errorCount.decrementAndGet();
        }
        a.error = e;
    }

    void reportError(BatonException e) {
        var handler = options.errorHandler();
        if (handler == null) {
            LOG.log(System.Logger.Level.WARNING, "accumulators of rank {0}: {1}", node.rank(), e.getMessage());
            return;
        }
        try {
            handler.accept(e);
        } catch (RuntimeException ex) {
            LOG.log(System.Logger.Level.WARNING, "accumulator error handler threw", ex);
        }
    }

    // ------------------------------------------------------------------ reading and resetting

    /**
     * The global value of {@code name}: empty when no node has pushed it (since it was created or erased).
     * Throws ALREADY_EXISTS when this node has {@code name} with a different type than the server.
     */
    public Optional<AccumulatorValue> read(String name) {
        checkName(name);
        Accumulator local = accumulators.get(name);
        if (local != null && local.error != null) {
            throw new BatonException(local.error.status());
        }
        Map<String, AccumulatorValue> values = readValues(server, name, options.callTimeout());
        AccumulatorValue v = values.get(name);
        if (v != null && local != null && !v.type().equals(local.type)) {
            throw Status.of(Status.Code.ALREADY_EXISTS, "accumulator '" + name + "' is a " + v.type()
                    + " on the server but a " + local.type + " on this node").asException();
        }
        return Optional.ofNullable(v);
    }

    /** Every accumulator's global value, by name (sorted). */
    public Map<String, AccumulatorValue> readAll() {
        return readValues(server, null, options.callTimeout());
    }

    /**
     * Reads every accumulator of the cluster {@code node} belongs to, without attaching accumulators to it
     * (for tools such as {@code bin/baton accumulators}). Waits up to {@code timeout} for a server; throws
     * {@link BatonException} NO_SUCH_SERVICE when there is none (no node has accumulators attached).
     */
    public static Map<String, AccumulatorValue> readAll(Node node, Duration timeout) {
        return readValues(node.client(Protocol.SERVICE), null, timeout);
    }

    /** Sets {@code name} back to its empty value on the server and every node. Returns false if it did not exist. */
    public boolean reset(String name) {
        checkName(name);
        return Protocol.readCount(callServer(server, Protocol.RESET, Protocol.nameRequest(name), options.callTimeout())) > 0;
    }

    /** Removes {@code name} from the server and every node's contribution. Returns false if it did not exist. */
    public boolean erase(String name) {
        checkName(name);
        return Protocol.readCount(callServer(server, Protocol.ERASE, Protocol.nameRequest(name), options.callTimeout())) > 0;
    }

    /** Removes every accumulator. Returns how many there were. */
    public int eraseAll() {
        return Protocol.readCount(callServer(server, Protocol.ERASE_ALL, ByteBuffer.allocate(0), options.callTimeout()));
    }

    private static Map<String, AccumulatorValue> readValues(Client server, String name, Duration timeout) {
        return Protocol.readValues(callServer(server, Protocol.READ, Protocol.readRequest(name), timeout));
    }

    /**
     * Calls the server, retrying while there is none or it is moving (a failover, a hand-over) until
     * {@code timeout}. Every server method may safely run twice.
     */
    private static ByteBuffer callServer(Client server, int method, ByteBuffer request, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long backoff = READ_RETRY_MIN_NS;
        while (true) {
            long left = deadline - System.nanoTime();
            BatonException failure;
            if (left <= 0) {
                failure = Status.of(Status.Code.DEADLINE_EXCEEDED, "no answer from the accumulator server within "
                        + timeout.toMillis() + " ms").asException();
            } else {
                CallOptions opts = CallOptions.DEFAULT.withServerId(0).withTimeout(Duration.ofNanos(left));
                try (Message m = server.call(method, request.duplicate(), opts)) {
                    return ByteBuffer.wrap(m.toByteArray());
                } catch (BatonException e) {
                    failure = e;
                }
            }
            boolean transientFailure = switch (failure.code()) {
                case NO_SUCH_SERVICE, NO_SUCH_SERVER, NO_SUCH_RANK, UNAVAILABLE, RESOURCE_EXHAUSTED -> true;
                default -> false;
            };
            if (!transientFailure || deadline - System.nanoTime() <= backoff) {
                if (failure.code() == Status.Code.NO_SUCH_SERVICE || failure.code() == Status.Code.NO_SUCH_SERVER) {
                    throw Status.of(failure.code(), "no accumulator server in the cluster (no node has accumulators "
                            + "attached, or the server is moving): " + failure.status().description()).asException();
                }
                throw failure;
            }
            LockSupport.parkNanos(backoff);
            backoff = Math.min(READ_RETRY_MAX_NS, backoff * 2);
        }
    }

    // ------------------------------------------------------------------ the rest

    /** Counters since attach. */
    public AccumulatorStats stats() {
        Flusher.Stats s = flusher.stats();
        return new AccumulatorStats(s.batches.sum(), s.entries.sum(), s.bytes.sum(), s.acked.sum(), s.rebuilds.sum(),
                s.failures.sum(), s.errors.sum(), s.elections.sum(), s.handOvers.sum(), flusher.isHosting());
    }

    /** The rank hosting the accumulator server as this node sees it, or -1 when there is none. */
    public int serverRank() {
        for (ServerInfo s : node.membership().servers(Protocol.SERVICE)) {
            if (s.serverId() == 0) {
                return s.rank();
            }
        }
        return -1;
    }

    /**
     * Pushes what is left (up to {@link AccumulatorOptions#closeTimeout()}), hands the server over to another
     * node if this node hosts it, stops the flusher and deregisters. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            flusher.close(options.closeTimeout());
        } finally {
            ATTACHED.remove(node);
        }
    }

    @Override
    public String toString() {
        return "Accumulators[rank " + node.rank() + ", " + accumulators.size() + " accumulators"
                + (flusher.isHosting() ? ", hosting the server" : "") + "]";
    }
}
