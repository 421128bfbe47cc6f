package dev.baton.accumulator;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.MembershipListener;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.Server;
import dev.baton.ServerCall;
import dev.baton.ServerInfo;
import dev.baton.Status;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One node's background agent, on one daemon thread ({@code baton-accumulator-flush-<rank>}): it pushes
 * batches to the server, rebuilds a new server, elects and hosts the server, and hands it over.
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
 * answers REBUILD: the flusher then sends a FULL batch, each accumulator's {@code acked} contribution merged
 * with the unacknowledged delta, which the new server applies once.
 *
 * <h2>Tickets</h2>
 * {@link #awaitFlushed} takes a ticket (a counter increment) after the caller's writes; a round reads the
 * counter before draining, and once its batch is acknowledged every ticket up to that value is satisfied.
 *
 * <h2>Locks</h2>
 * {@link #lock} guards the flushing state (the batch, sequence, incarnation and every accumulator's
 * inflight/acked/gen fields); it is never held during a call. {@link #ackMonitor} guards ticket waits.
 * Hosting state is touched only by the flusher thread, and by {@link #close} after that thread ended.
 */
final class Flusher implements MembershipListener {

    private static final System.Logger LOG = System.getLogger(Flusher.class.getName());
    private static final long MIN_BACKOFF_NS = 5_000_000L;
    private static final long MAX_BACKOFF_NS = 500_000_000L;
    private static final long ADOPT_RETRY_NS = 2_000_000L;
    private static final long MAX_PARK_NS = 100_000_000L;
    private static final long INCOMPLETE_RETRY_NS = 200_000L;
    private static final long HAND_OVER_GRACE_NS = 1_000_000_000L;

    private final Accumulators owner;
    private final Node node;
    private final AccumulatorOptions options;
    private final Client server;
    private final Client peers;
    private final Thread thread;
    private final Stats stats = new Stats();
    /** Identifies this instance to the server (its batch sequence starts at 1): unique even on a node re-attaching. */
    private final long clientId = randomNonZero();

    private final ReentrantLock lock = new ReentrantLock();
    private final Object ackMonitor = new Object();
    private final AtomicLong requested = new AtomicLong();
    private volatile long acknowledged;
    private volatile boolean wakeRequested;
    private volatile boolean closing;
    private volatile BatonException terminal;
    private volatile boolean serverMoved = true;
    /** Registrations and deregistrations of the accumulator server seen (membership events). */
    private final AtomicLong serverEvents = new AtomicLong();

    // ---- guarded by lock
    private Batch pending;
    private long seq;
    private long incarnation;
    private boolean needHello = true;
    private final List<BatonException> failedEntries = new ArrayList<>();

    // ---- flusher thread only
    private boolean lastDrainComplete;
    private long nextRoundNs;
    private long retryAtNs;
    private long backoffNs;
    private long electionAtNs;
    private String lastServerKey = "";
    private long lastServerEvents = -1;
    /** After handing the server over, this node does not stand for election before this time (nanoTime). */
    private long noElectionUntilNs;
    private boolean noElectionSet;

    // ---- hosting: flusher thread, then close() once that thread has ended
    private AccumulatorServer hosted;
    private Server registration;
    private volatile ByteBuffer adopted;
    private volatile long adoptedUntilNs;
    private volatile int adoptedFromRank = -1;
    /** {@link #serverEvents} when the hand-over arrived: a later registration by anyone else voids it. */
    private volatile long adoptedAtEvents;
    private volatile int handOverTo = -1;

    /** Counters; see {@link AccumulatorStats}. */
    static final class Stats {
        final LongAdder batches = new LongAdder();
        final LongAdder entries = new LongAdder();
        final LongAdder bytes = new LongAdder();
        final LongAdder acked = new LongAdder();
        final LongAdder rebuilds = new LongAdder();
        final LongAdder failures = new LongAdder();
        final LongAdder errors = new LongAdder();
        final LongAdder elections = new LongAdder();
        final LongAdder handOvers = new LongAdder();
    }

    /** The outstanding batch. */
    private record Batch(long seq, int kind, ByteBuffer bytes, Accumulator[] members, long[] gens, Partial[] fulls,
                         long ticket, boolean complete) {
    }

    Flusher(Accumulators owner) {
        this.owner = owner;
        this.node = owner.node();
        this.options = owner.options();
        this.server = node.client(Protocol.SERVICE);
        this.peers = node.client(Protocol.PEER_SERVICE);
        this.thread = Thread.ofPlatform().daemon(true).name("baton-accumulator-flush-" + node.rank())
                .unstarted(this::run);
    }

    void start() {
        nextRoundNs = System.nanoTime() + options.flushInterval().toNanos();
        thread.start();
    }

    Stats stats() {
        return stats;
    }

    boolean isHosting() {
        return hosted != null;
    }

    /** Asks for a round now. Cheap when a round is already requested; never blocks. */
    void wake() {
        if (!wakeRequested) {
            wakeRequested = true;
            LockSupport.unpark(thread);
        }
    }

    @Override
    public void onChange(MembershipEvent event, Membership membership) {
        // A server registered or deregistered, even on the same node as before (a new incarnation there):
        // check in again, and forget a hand-over that someone else's registration overtook.
        if (event instanceof MembershipEvent.ServerAdded a && isAccumulatorServer(a.server())
                || event instanceof MembershipEvent.ServerRemoved r && isAccumulatorServer(r.server())) {
            serverEvents.incrementAndGet();
        }
        serverMoved = true;
        LockSupport.unpark(thread);
    }

    private static boolean isAccumulatorServer(ServerInfo s) {
        return s.serverId() == 0 && s.service().equals(Protocol.SERVICE);
    }

    /** Priority as a server host: 3 asked for it, 2 rank 0 by default, 1 any other eligible node, 0 never. */
    int priority() {
        return switch (options.serverPlacement()) {
            case PREFER -> 3;
            case NEVER -> 0;
            case DEFAULT -> node.rank() == 0 ? 2 : 1;
        };
    }

    private static long randomNonZero() {
        long id;
        do {
            id = java.util.concurrent.ThreadLocalRandom.current().nextLong();
        } while (id == 0);
        return id;
    }

    // ------------------------------------------------------------------ the loop

    private void run() {
        while (!closing) {
            try {
                long now = System.nanoTime();
                if (serverMoved) {
                    serverMoved = false;
                    onMembership();
                }
                host(now);
                boolean due = wakeRequested || now - nextRoundNs >= 0 || requested.get() > acknowledged
                        || needHello() && currentServer() != null;
                if (due && now - retryAtNs >= 0) {
                    wakeRequested = false;
                    nextRoundNs = now + options.flushInterval().toNanos();
                    round();
                }
                park();
            } catch (RuntimeException e) {
                // A bug, or user code (a custom aggregator) that threw: report it, keep flushing.
                report(e instanceof BatonException b ? b
                        : Status.of(Status.Code.INTERNAL, "accumulator flusher: " + e).withCause(e).asException());
                backoff();
                park();
            } catch (Error e) {
                terminate(Status.of(Status.Code.INTERNAL, "accumulator flusher died: " + e).withCause(e).asException());
                throw e;
            }
        }
    }

    private void park() {
        long now = System.nanoTime();
        long until = nextRoundNs;
        if (wakeRequested || requested.get() > acknowledged || pending()) {
            until = retryAtNs == 0 ? now : Math.min(until, retryAtNs);
        }
        if (electionAtNs != 0) {
            until = Math.min(until, electionAtNs);
        }
        if (adopted != null) {
            until = Math.min(until, now + ADOPT_RETRY_NS);
        }
        long ns = Math.min(until - now, MAX_PARK_NS);
        if (ns > 0 && !serverMoved && !closing) {
            LockSupport.parkNanos(this, ns);
        }
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

    /** The server changed (or the membership did): check in with it at once. */
    private void onMembership() {
        ServerInfo s = currentServer();
        String key = "";
        if (s != null) {
            NodeInfo n = node.membership().node(s.rank()).orElse(null);
            key = s.rank() + "/" + (n == null ? 0 : n.nodeId());
        }
        long events = serverEvents.get();
        if (!key.equals(lastServerKey) || events != lastServerEvents) {
            lastServerKey = key;
            lastServerEvents = events;
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

    private ServerInfo currentServer() {
        for (ServerInfo s : node.membership().servers(Protocol.SERVICE)) {
            if (s.serverId() == 0) {
                return s;
            }
        }
        return null;
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
        failures.forEach(this::report);
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
            rejected.forEach(this::report);
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
        int countAt = Protocol.beginBatch(out, Protocol.DELTA, priority(), clientId, node.nodeId(), node.rank(), seq + 1,
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
        long[] gens = new long[m.length];
        for (int i = 0; i < m.length; i++) {
            gens[i] = m[i].gen;
        }
        return new Batch(++seq, Protocol.DELTA, out.copy(), m, gens, null, ticket, complete);
    }

    /** Caller holds the lock. This node's whole contribution, for a server that asked to rebuild. */
    private Batch buildFull(Batch delta) {
        Wire.Out out = new Wire.Out(1024);
        int countAt = Protocol.beginBatch(out, Protocol.FULL, priority(), clientId, node.nodeId(), node.rank(), seq + 1,
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
        long[] gens = new long[m.length];
        for (int i = 0; i < m.length; i++) {
            gens[i] = m[i].gen;
        }
        return new Batch(++seq, Protocol.FULL, out.copy(), m, gens, fulls.toArray(new Partial[0]), delta.ticket(),
                delta.complete());
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
                if (nodeClosed()) {
                    terminate(e);
                    return;
                }
            }
            default -> report(e);
        }
        backoff();
    }

    private void backoff() {
        backoffNs = backoffNs == 0 ? MIN_BACKOFF_NS : Math.min(MAX_BACKOFF_NS, backoffNs * 2);
        retryAtNs = System.nanoTime() + backoffNs;
    }

    /** True once the node is closed (the API has no direct question for it: {@code newServer} refuses). */
    private boolean nodeClosed() {
        try {
            node.newServer(Protocol.PEER_SERVICE);
            return false;
        } catch (BatonException e) {
            return e.code() == Status.Code.CLOSED;
        }
    }

    private void terminate(BatonException cause) {
        synchronized (ackMonitor) {
            terminal = Status.of(Status.Code.CLOSED, "accumulators stopped: " + cause.getMessage()).asException();
            closing = true;
            ackMonitor.notifyAll();
        }
    }

    void report(BatonException e) {
        stats.errors.increment();
        owner.reportError(e);
    }

    // ------------------------------------------------------------------ flush API

    /**
     * Waits until everything written before this call is merged on the server. Throws DEADLINE_EXCEEDED,
     * CLOSED, or INTERRUPTED-as-CANCELLED.
     */
    void awaitFlushed(Duration timeout) {
        long t = requested.incrementAndGet();
        wake();
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (ackMonitor) {
            while (acknowledged < t) {
                if (terminal != null) {
                    throw new BatonException(terminal.status());
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    ServerInfo s = currentServer();
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

    // ------------------------------------------------------------------ peer service

    /** NOTIFY: the server reset or erased names; forget this node's contribution to them. */
    void onNotify(ServerCall call) {
        Wire.In in = Wire.in(call.request().buffer());
        int n = in.getInt();
        lock.lock();
        try {
            for (int i = 0; i < n; i++) {
                String name = in.getString();
                long gen = in.getLong();
                boolean erased = in.getBoolean();
                Accumulator a = owner.find(name);
                if (a != null && gen > a.gen) {
                    a.gen = gen;
                    a.acked.reset();
                    if (erased) {
                        a.contributes = false;
                        owner.setError(a, null);
                    }
                }
            }
        } finally {
            lock.unlock();
        }
        call.reply(ByteBuffer.allocate(0));
    }

    /** TAKEOVER: the server is handing its state to this node; register as the server and continue it. */
    void onTakeover(ServerCall call) {
        if (closing || priority() == 0) {
            call.fail(Status.of(Status.Code.UNAVAILABLE, "rank " + node.rank() + " cannot host the accumulator server"));
            return;
        }
        Wire.In in = Wire.in(call.request().buffer());
        int from = in.getInt();
        ByteBuffer state = ByteBuffer.wrap(call.request().toByteArray(), 4, call.request().size() - 4).slice();
        adoptedFromRank = from;
        adoptedUntilNs = System.nanoTime() + options.callTimeout().toNanos();
        adoptedAtEvents = serverEvents.get();
        adopted = state;
        serverMoved = true;
        LockSupport.unpark(thread);
        call.reply(ByteBuffer.allocate(0));
    }

    // ------------------------------------------------------------------ hosting the server

    private void host(long now) {
        if (priority() == 0) {
            return;
        }
        ServerInfo cur = currentServer();
        if (hosted != null) {
            if (cur != null && cur.rank() != node.rank()) {
                // The master gave server 0 to another node (we lost our lease meanwhile): it is the server now.
                LOG.log(System.Logger.Level.WARNING, "rank {0} no longer holds the accumulator server (rank {1} does)",
                        node.rank(), cur.rank());
                stopHosting();
            } else {
                int target = handOverTo;
                if (target >= 0) {
                    handOverTo = -1;
                    handOver(target);
                }
                return;
            }
        }
        ByteBuffer state = adopted;
        if (state != null) {
            // Expected events: the old server's deregistration (one). Any more means another registration
            // (someone else's, or the old server's again) overtook ours: the handed state is stale, drop it.
            if (now - adoptedUntilNs > 0 || serverEvents.get() - adoptedAtEvents > 1) {
                adopted = null;
                LOG.log(System.Logger.Level.WARNING, "rank {0} could not take over the accumulator server from rank {1}",
                        node.rank(), adoptedFromRank);
            } else {
                if (cur == null && tryHost(state)) {
                    adopted = null;
                }
                return;
            }
        }
        if (cur != null) {
            electionAtNs = 0;
            return;
        }
        if (noElectionSet && now - noElectionUntilNs < 0) {
            return;     // we just handed the server over: leave the successor time to register
        }
        if (electionAtNs == 0) {
            electionAtNs = now + electionDelayNs();
        }
        if (now - electionAtNs >= 0) {
            electionAtNs = 0;
            tryHost(null);
        }
    }

    /**
     * How long to wait before standing for election when there is no server: 0 for a node that asked for it,
     * one election delay for rank 0, more for the others by rank, so the preferred node usually wins and the
     * others rarely race (the master's "server id 0 is taken" decides anyway).
     */
    private long electionDelayNs() {
        int p = priority();
        long unit = options.electionDelay().toNanos();
        if (p >= 3) {
            return 0;
        }
        if (p == 2) {
            return unit;
        }
        int below = 0;
        Membership m = node.membership();
        for (ServerInfo s : m.servers(Protocol.PEER_SERVICE)) {
            if (s.rank() < node.rank()) {
                below++;
            }
        }
        return unit * (2 + Math.min(below, 16));
    }

    private boolean tryHost(ByteBuffer adoptedState) {
        AccumulatorServer s = adoptedState == null
                ? AccumulatorServer.create(node, options, priority(), this::onHigherPriority)
                : AccumulatorServer.restore(node, options, priority(), this::onHigherPriority, adoptedState);
        try {
            Server reg = s.handlers(node.newServer(Protocol.SERVICE).serverId(0)).start(options.callTimeout());
            hosted = s;
            registration = reg;
            stats.elections.increment();
            LOG.log(System.Logger.Level.INFO, "rank {0} hosts the accumulator server ({1})", node.rank(),
                    adoptedState == null ? "new, incarnation " + Long.toHexString(s.incarnation())
                            : "taken over from rank " + adoptedFromRank);
            serverMoved = true;
            return true;
        } catch (BatonException e) {
            if (e.code() != Status.Code.ALREADY_EXISTS) {
                LOG.log(System.Logger.Level.DEBUG, "could not register the accumulator server: {0}", e.getMessage());
            }
            return false;
        }
    }

    /** Our server saw a node with a higher priority: hand the server over to it (on the flusher thread). */
    private void onHigherPriority(int rank) {
        handOverTo = rank;
        LockSupport.unpark(thread);
    }

    /**
     * Freezes the server, sends its state to {@code target} and deregisters, so the target registers and
     * continues with the same incarnation. If the target cannot take it, the server serves on; returns false.
     */
    private boolean handOver(int target) {
        AccumulatorServer s = hosted;
        ByteBuffer snapshot = s.freezeAndSnapshot();
        ByteBuffer state = new Wire.Out(snapshot.remaining() + 4).putInt(node.rank()).putRaw(snapshot).copy();
        try {
            peers.call(Protocol.TAKEOVER, state, CallOptions.DEFAULT.withRank(target)
                    .withTimeout(options.callTimeout())).close();
        } catch (BatonException e) {
            LOG.log(System.Logger.Level.WARNING, "rank {0} could not hand the accumulator server over to rank {1}: {2}",
                    node.rank(), target, e.getMessage());
            s.unfreeze();
            return false;
        }
        stats.handOvers.increment();
        LOG.log(System.Logger.Level.INFO, "rank {0} handed the accumulator server over to rank {1}", node.rank(), target);
        noElectionSet = true;
        noElectionUntilNs = System.nanoTime() + HAND_OVER_GRACE_NS;
        stopHosting();
        return true;
    }

    private void stopHosting() {
        Server reg = registration;
        hosted = null;
        registration = null;
        if (reg != null) {
            reg.close();
        }
    }

    // ------------------------------------------------------------------ close

    /**
     * Flushes (up to {@code timeout}), stops the thread, and hands the server over to the best other node if
     * this node hosts it. Called once.
     */
    void close(Duration timeout) {
        if (terminal == null) {
            try {
                awaitFlushed(timeout);
            } catch (BatonException e) {
                if (e.code() != Status.Code.CLOSED) {
                    LOG.log(System.Logger.Level.WARNING, "closing accumulators of rank {0} without a final flush: {1}",
                            node.rank(), e.getMessage());
                }
            }
        }
        closing = true;
        LockSupport.unpark(thread);
        try {
            thread.join(Math.max(1, timeout.toMillis()) + options.callTimeout().toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            // Stuck in a call: the hosting state is still its own. It ends after that call (closing is set).
            LOG.log(System.Logger.Level.WARNING, "the accumulator flusher of rank {0} did not stop in time; "
                    + "closing without a hand-over", node.rank());
        } else if (hosted != null) {
            boolean handedOver = false;
            if (terminal == null && !nodeClosed()) {
                for (int target : hosted.successorRanks()) {
                    if (handOver(target)) {
                        handedOver = true;
                        break;
                    }
                }
            }
            if (!handedOver && hosted != null) {
                LOG.log(System.Logger.Level.INFO, "rank {0} closes the accumulator server without a successor",
                        node.rank());
                hosted.freezeAndSnapshot();
                stopHosting();
            }
        }
        synchronized (ackMonitor) {
            if (terminal == null) {
                terminal = AccumulatorServer.closed();
            }
            ackMonitor.notifyAll();
        }
    }
}
