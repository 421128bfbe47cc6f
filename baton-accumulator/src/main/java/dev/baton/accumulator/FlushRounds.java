package dev.baton.accumulator;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Membership;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import dev.baton.Status;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The flush rounds: the {@link Duty} that pushes this node's writes to the accumulator server, on the flush
 * thread, and the tickets that {@link Accumulators#awaitFlushed} waits on.
 *
 * <h2>Rounds</h2>
 * A round drains every accumulator's cells into its {@code inflight} delta and sends every changed one (and
 * every one the server has not seen yet) in ONE {@link Protocol#BATCH} call, with the next sequence number.
 * Exactly one batch is outstanding: until it is acknowledged it is re-sent as is (same sequence number, same
 * bytes) after a backoff, so the server can recognise a re-send; writes made meanwhile stay in the cells,
 * whose memory does not grow. On acknowledgement each delta joins the accumulator's {@code acked}
 * contribution. A round starts when a writer crossed {@link AccumulatorOptions#flushEvery()}, when
 * {@link AccumulatorOptions#flushInterval()} passed, on {@link Accumulators#flush()} or
 * {@link Accumulators#awaitFlushed}, and when the server changed (an empty batch then checks in).
 *
 * <h2>Rebuild</h2>
 * A server that has never seen this node, while the node was acknowledged by another server incarnation,
 * answers REBUILD: the rounds then send a FULL batch, each accumulator's {@code acked} contribution merged
 * with the unacknowledged delta, which the new server applies once.
 *
 * <h2>Tickets</h2>
 * {@link #awaitFlushed} takes a ticket (a counter increment) after the caller's writes; a round reads the
 * counter before draining, and once its batch is acknowledged every ticket up to that value is satisfied.
 *
 * <h2>Threads and locks</h2>
 * {@link #doWork} and {@link #idleLimitNs} run on the flush thread. {@link #lock} guards the flushing state
 * (the batch, sequence, incarnation and every accumulator's inflight/acked/gen fields); it is never held
 * during a call, and the peer service takes it for NOTIFY ({@link #forget}). {@link #ackMonitor} guards ticket
 * waits; lock order: {@link #lock}, then {@link #ackMonitor}. {@link #requestRound()} is called by writers and
 * never blocks.
 */
final class FlushRounds implements Duty {

    private static final System.Logger LOG = System.getLogger(FlushRounds.class.getName());
    private static final long MIN_BACKOFF_NS = 5_000_000L;
    private static final long MAX_BACKOFF_NS = 500_000_000L;
    private static final long INCOMPLETE_RETRY_NS = 200_000L;

    private final Accumulators owner;
    private final Node node;
    private final AccumulatorOptions options;
    private final int priority;
    private final Client server;
    private final Flusher.Stats stats;
    private final ServerWatch watch;
    private final DutyRunner runner;
    private final Consumer<BatonException> reporter;
    /** Identifies this instance to the server (its batch sequence starts at 1): unique even on a node re-attaching. */
    private final long clientId = randomNonZero();

    private final ReentrantLock lock = new ReentrantLock();
    private final Object ackMonitor = new Object();
    private final AtomicLong requested = new AtomicLong();
    private volatile long acknowledged;
    private volatile boolean wakeRequested;
    private volatile BatonException terminal;

    // ---- guarded by lock
    private Batch pending;
    private long seq;
    private long incarnation;
    private boolean needHello = true;
    private final List<BatonException> failedEntries = new ArrayList<>();

    // ---- flush thread only
    private boolean lastDrainComplete;
    private long nextRoundNs;
    private long retryAtNs;
    private long backoffNs;
    private String lastServerKey = "";
    /** The membership version the last check-in was decided on: server events up to it were part of that view. */
    private long checkedInAtVersion = -1;

    /** The outstanding batch. */
    private record Batch(long seq, int kind, ByteBuffer bytes, Accumulator[] members, long[] gens, Partial[] fulls,
                         long ticket, boolean complete) {
    }

    /** A reset or erase of {@code name} at generation {@code gen}, as the server's NOTIFY announces it. */
    record Forget(String name, long gen, boolean erased) {
    }

    /**
     * Rounds for {@code owner}'s accumulators, with {@code priority} (see {@link Flusher#priority}) in every
     * batch. {@code reporter} is told about errors worth a user's attention (on the flush thread).
     */
    FlushRounds(Accumulators owner, int priority, Flusher.Stats stats, ServerWatch watch, DutyRunner runner,
                Consumer<BatonException> reporter) {
        this.owner = owner;
        this.node = owner.node();
        this.options = owner.options();
        this.priority = priority;
        this.server = node.client(Protocol.SERVICE);
        this.stats = stats;
        this.watch = watch;
        this.runner = runner;
        this.reporter = reporter;
    }

    private static long randomNonZero() {
        long id;
        do {
            id = ThreadLocalRandom.current().nextLong();
        } while (id == 0);
        return id;
    }

    @Override
    public String roleName() {
        return "flush rounds";
    }

    // ------------------------------------------------------------------ the duty

    @Override
    public void onStart() {
        nextRoundNs = System.nanoTime() + options.flushInterval().toNanos();
    }

    @Override
    public int doWork(long nowNs) {
        int work = 0;
        if (watch.takeMoved()) {
            onMembership();
        }
        boolean due = wakeRequested || nowNs - nextRoundNs >= 0 || requested.get() > acknowledged
                || needHello() && watch.current() != null;
        if (due && nowNs - retryAtNs >= 0) {
            wakeRequested = false;
            nextRoundNs = nowNs + options.flushInterval().toNanos();
            round();
            work++;
        }
        return work;
    }

    @Override
    public long idleLimitNs(long nowNs) {
        if (watch.isMoved()) {
            return 0;
        }
        long until = nextRoundNs;
        if (wakeRequested || requested.get() > acknowledged || pending()) {
            until = retryAtNs == 0 ? nowNs : Math.min(until, retryAtNs);
        }
        return until - nowNs;
    }

    /** Asks for a round now. Cheap when a round is already requested; never blocks. */
    void requestRound() {
        if (!wakeRequested) {
            wakeRequested = true;
            runner.wake();
        }
    }

    /** Delays the next round by a growing backoff: after a failed call, or a failure of any duty. */
    void backoff() {
        backoffNs = backoffNs == 0 ? MIN_BACKOFF_NS : Math.min(MAX_BACKOFF_NS, backoffNs * 2);
        retryAtNs = System.nanoTime() + backoffNs;
    }

    private boolean pending() {
        lock.lock();
        try {
            return pending != null;
        } finally {
            lock.unlock();
        }
    }

    private boolean needHello() {
        lock.lock();
        try {
            return needHello;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The server changed (or the membership did): check in with it at once when it is another node's, or when it
     * registered again since the view the last check-in was decided on (on the same node: a new incarnation). Its
     * registration's event may come after a membership that already showed it: that one is not a change.
     */
    private void onMembership() {
        Membership m = node.membership();
        ServerInfo s = ServerWatch.current(m);
        String key = "";
        if (s != null) {
            NodeInfo n = m.node(s.rank()).orElse(null);
            key = s.rank() + "/" + (n == null ? 0 : n.nodeId());
        }
        if (!key.equals(lastServerKey) || watch.serverEventVersion() > checkedInAtVersion) {
            lastServerKey = key;
            checkedInAtVersion = m.version();
            lock.lock();
            try {
                needHello = true;
            } finally {
                lock.unlock();
            }
            retryAtNs = 0;
            backoffNs = 0;
        }
    }

    // ------------------------------------------------------------------ rounds

    private void round() {
        long ticket = requested.get();
        Batch b;
        List<BatonException> failures;
        lock.lock();
        try {
            if (pending == null) {
                pending = buildDelta(ticket);
            }
            b = pending;
            failures = List.copyOf(failedEntries);
            failedEntries.clear();
        } finally {
            lock.unlock();
        }
        failures.forEach(reporter);
        if (b == null) {
            if (lastDrainComplete) {
                advance(ticket);
            } else {
                incompleteDrain();
            }
            return;
        }
        while (true) {
            Protocol.Ack ack;
            try {
                ack = send(b);
            } catch (BatonException e) {
                failed(e);
                return;
            }
            backoffNs = 0;
            retryAtNs = 0;
            if (ack.result() == Protocol.REBUILD) {
                if (b.kind() == Protocol.FULL) {
                    failed(Status.of(Status.Code.INTERNAL, "the accumulator server asked again for a full state")
                            .asException());
                    return;
                }
                stats.rebuilds.increment();
                lock.lock();
                try {
                    b = buildFull(b);
                    pending = b;
                } finally {
                    lock.unlock();
                }
                continue;
            }
            List<BatonException> rejected = new ArrayList<>();
            lock.lock();
            try {
                applyAck(b, ack, rejected);
                pending = null;
            } finally {
                lock.unlock();
            }
            stats.acked.increment();
            rejected.forEach(reporter);
            if (b.complete()) {
                advance(b.ticket());
            } else {
                incompleteDrain();
            }
            return;
        }
    }

    /** Caller holds the lock. The next DELTA, or null when there is nothing to send. */
    private Batch buildDelta(long ticket) {
        Wire.Out out = new Wire.Out(1024);
        int countAt = Protocol.beginBatch(out, Protocol.DELTA, priority, clientId, node.nodeId(), node.rank(), seq + 1,
                incarnation);
        Protocol.EntryWriter w = new Protocol.EntryWriter();
        List<Accumulator> members = new ArrayList<>();
        boolean complete = true;
        for (Accumulator a : owner.all()) {
            int at = out.position();
            try {
                if (!a.inBatch) {
                    a.inflight.reset();     // else a build failed after draining it: keep what it holds
                }
                int r = a.drain(a.inflight);
                if ((r & Accumulator.INCOMPLETE) != 0) {
                    complete = false;
                }
                if ((r & Accumulator.DIRTY) != 0 || a.inBatch || !a.announced && a.error == null) {
                    a.inBatch = true;
                    w.entry(out, a.nameUtf8, a.type, a.gen, a.inflight);
                    members.add(a);
                }
            } catch (RuntimeException e) {
                // A user-defined aggregator threw: drop its values, not everyone's.
                out.truncate(at);
                members.remove(a);
                a.inBatch = false;
                a.inflight.reset();
                BatonException error = Status.of(Status.Code.INVALID_ARGUMENT, "accumulator '" + a.name + "' ("
                        + a.type + ") failed to drain or serialize; its unflushed values are dropped: " + e)
                        .withCause(e).asException();
                owner.setError(a, error);
                failedEntries.add(error);
            }
        }
        lastDrainComplete = complete;
        if (members.isEmpty() && !needHello) {
            return null;
        }
        Protocol.endBatch(out, countAt, members.size());
        Accumulator[] m = members.toArray(new Accumulator[0]);
        return new Batch(++seq, Protocol.DELTA, out.copy(), m, gens(m), null, ticket, complete);
    }

    /** Caller holds the lock. This node's whole contribution, for a server that asked to rebuild. */
    private Batch buildFull(Batch delta) {
        Wire.Out out = new Wire.Out(1024);
        int countAt = Protocol.beginBatch(out, Protocol.FULL, priority, clientId, node.nodeId(), node.rank(), seq + 1,
                incarnation);
        Protocol.EntryWriter w = new Protocol.EntryWriter();
        List<Accumulator> members = new ArrayList<>();
        List<Partial> fulls = new ArrayList<>();
        for (Accumulator a : owner.all()) {
            if (!a.contributes && !a.inBatch) {
                continue;
            }
            Partial full = a.acked.copy();
            if (a.inBatch) {
                full.merge(a.inflight);
            }
            w.entry(out, a.nameUtf8, a.type, a.gen, full);
            members.add(a);
            fulls.add(full);
        }
        Protocol.endBatch(out, countAt, members.size());
        Accumulator[] m = members.toArray(new Accumulator[0]);
        return new Batch(++seq, Protocol.FULL, out.copy(), m, gens(m), fulls.toArray(new Partial[0]), delta.ticket(),
                delta.complete());
    }

    private static long[] gens(Accumulator[] members) {
        long[] gens = new long[members.length];
        for (int i = 0; i < members.length; i++) {
            gens[i] = members[i].gen;
        }
        return gens;
    }

    private Protocol.Ack send(Batch b) {
        stats.batches.increment();
        stats.entries.add(b.members().length);
        stats.bytes.add(b.bytes().remaining());
        CallOptions opts = CallOptions.DEFAULT.withServerId(0).withTimeout(options.callTimeout());
        try (Message m = server.call(Protocol.BATCH, b.bytes().duplicate(), opts)) {
            return Protocol.readAck(m.buffer());
        }
    }

    /** Caller holds the lock. Folds an acknowledged batch into the accumulators' contributions. */
    private void applyAck(Batch b, Protocol.Ack ack, List<BatonException> rejected) {
        incarnation = ack.incarnation();
        needHello = false;
        for (int i = 0; i < b.members().length; i++) {
            Accumulator a = b.members()[i];
            a.inBatch = false;
            BatonException rejection = ack.rejected().get(i);
            if (rejection != null) {
                if (a.error == null) {
                    rejected.add(rejection);
                }
                owner.setError(a, rejection);
                continue;
            }
            long g = ack.gens().getOrDefault(i, b.gens()[i]);
            if (g >= a.gen) {
                // g < a.gen: the server applied it before a reset or erase this node has since learned of.
                if (g > a.gen || b.kind() == Protocol.FULL) {
                    a.acked.reset();
                    a.gen = g;
                }
                a.acked.merge(b.kind() == Protocol.FULL ? b.fulls()[i] : a.inflight);
                a.contributes = true;
            }
            a.announced = true;
            owner.setError(a, null);
        }
    }

    /** A cell's owner was mid-write: collect it again shortly (without spinning against it). */
    private void incompleteDrain() {
        wakeRequested = true;
        retryAtNs = System.nanoTime() + INCOMPLETE_RETRY_NS;
    }

    private void advance(long ticket) {
        synchronized (ackMonitor) {
            if (ticket > acknowledged) {
                acknowledged = ticket;
                ackMonitor.notifyAll();
            }
        }
    }

    private void failed(BatonException e) {
        stats.failures.increment();
        switch (e.code()) {
            case NO_SUCH_SERVICE, NO_SUCH_SERVER, NO_SUCH_RANK, UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
                 CANCELLED -> LOG.log(System.Logger.Level.DEBUG, "accumulator batch not delivered yet: {0}", e.getMessage());
            case CLOSED -> {
                if (Flusher.nodeClosed(node)) {
                    terminate(e);
                    return;
                }
            }
            default -> reporter.accept(e);
        }
        backoff();
    }

    // ------------------------------------------------------------------ NOTIFY (from the peer service)

    /** Forgets this node's contribution to names the server reset or erased. Any thread; takes the lock. */
    void forget(List<Forget> notices) {
        lock.lock();
        try {
            for (Forget f : notices) {
                Accumulator a = owner.find(f.name());
                if (a != null && f.gen() > a.gen) {
                    a.gen = f.gen();
                    a.acked.reset();
                    if (f.erased()) {
                        a.contributes = false;
                        owner.setError(a, null);
                    }
                }
            }
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ tickets, ending

    /**
     * Waits until everything written before this call is merged on the server. Throws DEADLINE_EXCEEDED,
     * CLOSED, or INTERRUPTED-as-CANCELLED. Any thread but the flush thread.
     */
    void awaitFlushed(Duration timeout) {
        long t = requested.incrementAndGet();
        requestRound();
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (ackMonitor) {
            while (acknowledged < t) {
                if (terminal != null) {
                    throw new BatonException(terminal.status());
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    ServerInfo s = watch.current();
                    throw Status.of(Status.Code.DEADLINE_EXCEEDED, "accumulator writes not acknowledged within "
                            + timeout.toMillis() + " ms (" + (s == null ? "no accumulator server is known"
                            : "server on rank " + s.rank()) + ")").asException();
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(ackMonitor, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw Status.of(Status.Code.CANCELLED, "interrupted while waiting for accumulator writes")
                            .asException();
                }
            }
        }
    }

    /** The last flush before closing: like {@link #awaitFlushed}, but logs instead of throwing. */
    void finalFlush(Duration timeout) {
        if (terminal != null) {
            return;
        }
        try {
            awaitFlushed(timeout);
        } catch (BatonException e) {
            if (e.code() != Status.Code.CLOSED) {
                LOG.log(System.Logger.Level.WARNING, "closing accumulators of rank {0} without a final flush: {1}",
                        node.rank(), e.getMessage());
            }
        }
    }

    /** True once the rounds stopped for good: the node closed under them, or the flush thread died. */
    boolean isTerminated() {
        return terminal != null;
    }

    /** Stops the rounds for good (the node is closed, or the flush thread dies): waiters get CLOSED. */
    void terminate(BatonException cause) {
        synchronized (ackMonitor) {
            terminal = Status.of(Status.Code.CLOSED, "accumulators stopped: " + cause.getMessage()).asException();
            runner.stop();
            ackMonitor.notifyAll();
        }
    }

    /** The accumulators are closed: every waiter, present and future, gets CLOSED (unless already ended). */
    void markClosed() {
        synchronized (ackMonitor) {
            if (terminal == null) {
                terminal = AccumulatorServer.closed();
            }
            ackMonitor.notifyAll();
        }
    }
}
