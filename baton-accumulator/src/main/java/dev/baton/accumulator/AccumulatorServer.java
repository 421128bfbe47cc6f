package dev.baton.accumulator;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Membership;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.Server;
import dev.baton.ServerCall;
import dev.baton.ServerInfo;
import dev.baton.Status;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/**
 * The accumulator server: the global aggregate of every name, the generation of every name (bumped by reset
 * and erase), and per client node the last batch it applied (to answer a re-sent batch without applying it
 * twice). One per cluster, registered as server 0 of {@value Protocol#SERVICE}.
 *
 * <h2>Applying a batch</h2>
 * Under the server lock: a batch whose sequence number equals the client's last is a re-send and gets the
 * cached answer; a DELTA from a client this server has never seen, which was acknowledged by another server
 * incarnation, gets REBUILD (nothing applied) so that the client sends its FULL contribution instead; anything
 * else is applied entry by entry. An entry whose type differs from the name's type on the server is rejected
 * with ALREADY_EXISTS (the rest of the batch is applied).
 *
 * <h2>Rebuilding</h2>
 * A server that starts after a failure has nothing; every live node sends its cumulative contribution. Reads,
 * resets and erasures wait (up to {@link AccumulatorOptions#rebuildTimeout()} after the server started) until
 * every node that had accumulators attached when the server started has checked in or left.
 *
 * <h2>Threads</h2>
 * Handlers run on the node's handler executor (blocking handlers). The state is guarded by this object's
 * monitor; user-defined aggregators' {@code merge}, {@code serialize}, {@code deserialize} and {@code render}
 * run under it. Notifications to nodes are sent without holding it.
 */
final class AccumulatorServer {

    private static final System.Logger LOG = System.getLogger(AccumulatorServer.class.getName());
    private static final long MAX_REBUILD_WAIT_SLICE_MS = 20;

    private final Node node;
    private final AccumulatorOptions options;
    private final Client peers;
    private final long incarnation;
    private final int priority;
    private final IntConsumer onHigherPriority;
    private final long startNs = System.nanoTime();
    private final Set<Long> expectedAtStart = new HashSet<>();

    // ---- guarded by this
    private final Map<String, Entry> entries = new HashMap<>();
    private final Map<String, Long> tombstones = new HashMap<>();
    private final Map<Long, ClientState> clients = new HashMap<>();
    private boolean frozen;
    private boolean rebuildReported;

    /** One accumulator on the server. */
    private static final class Entry {
        final String type;
        final int creatorRank;
        final Partial partial;
        long gen;

        Entry(String type, int creatorRank, Partial partial, long gen) {
            this.type = type;
            this.creatorRank = creatorRank;
            this.partial = partial;
            this.gen = gen;
        }
    }

    /** What the server remembers of a client (one {@link Accumulators} instance). */
    private static final class ClientState {
        final long clientId;
        final long nodeId;
        int rank;
        int priority;
        long lastSeq;
        byte[] lastAck;

        ClientState(long clientId, long nodeId) {
            this.clientId = clientId;
            this.nodeId = nodeId;
        }

        /** True while its node is the one at its rank in {@code m}. */
        boolean isLive(Membership m) {
            NodeInfo n = m.node(rank).orElse(null);
            return n != null && n.nodeId() == nodeId;
        }
    }

    private AccumulatorServer(Node node, AccumulatorOptions options, long incarnation, int priority,
                              IntConsumer onHigherPriority) {
        this.node = node;
        this.options = options;
        this.peers = node.client(Protocol.PEER_SERVICE);
        this.incarnation = incarnation;
        this.priority = priority;
        this.onHigherPriority = onHigherPriority;
    }

    /** A fresh server with a new random incarnation. */
    static AccumulatorServer create(Node node, AccumulatorOptions options, int priority, IntConsumer onHigherPriority) {
        long inc;
        do {
            inc = ThreadLocalRandom.current().nextLong();
        } while (inc == 0);
        AccumulatorServer s = new AccumulatorServer(node, options, inc, priority, onHigherPriority);
        s.captureExpected();
        return s;
    }

    /** A server continuing a predecessor's state (same incarnation: clients notice nothing). */
    static AccumulatorServer restore(Node node, AccumulatorOptions options, int priority, IntConsumer onHigherPriority,
                                     ByteBuffer state) {
        Wire.In in = Wire.in(state);
        AccumulatorServer s = new AccumulatorServer(node, options, in.getLong(), priority, onHigherPriority);
        synchronized (s) {
            for (int i = in.getInt(); i > 0; i--) {
                String name = in.getString();
                String type = in.getString();
                long gen = in.getLong();
                int creator = in.getInt();
                ByteBuffer st = in.getSlice();
                Partial p = Partial.create(type);
                if (p == null) {
                    LOG.log(System.Logger.Level.ERROR, "accumulator ''{0}'' of unknown type ''{1}'' dropped in the "
                            + "hand-over; register the type on every node that may host the server", name, type);
                    continue;
                }
                p.mergeFrom(st);
                s.entries.put(name, new Entry(type, creator, p, gen));
            }
            for (int i = in.getInt(); i > 0; i--) {
                s.tombstones.put(in.getString(), in.getLong());
            }
            for (int i = in.getInt(); i > 0; i--) {
                ClientState c = new ClientState(in.getLong(), in.getLong());
                c.rank = in.getInt();
                c.priority = in.getByte();
                c.lastSeq = in.getLong();
                c.lastAck = in.getBytes();
                s.clients.put(c.clientId, c);
            }
        }
        s.captureExpected();
        return s;
    }

    long incarnation() {
        return incarnation;
    }

    /** Adds this server's handlers to {@code builder}. */
    Server.Builder handlers(Server.Builder builder) {
        return builder.blocking(Protocol.BATCH, this::onBatch)
                .blocking(Protocol.READ, this::onRead)
                .blocking(Protocol.RESET, call -> onErase(call, Protocol.RESET))
                .blocking(Protocol.ERASE, call -> onErase(call, Protocol.ERASE))
                .blocking(Protocol.ERASE_ALL, call -> onErase(call, Protocol.ERASE_ALL));
    }

    /** The nodes with accumulators attached now: a new server waits for them to check in before reads. */
    private void captureExpected() {
        Membership m = node.membership();
        synchronized (this) {
            for (ServerInfo s : m.servers(Protocol.PEER_SERVICE)) {
                m.node(s.rank()).ifPresent(n -> expectedAtStart.add(n.nodeId()));
            }
        }
    }

    // ------------------------------------------------------------------ BATCH

    private void onBatch(ServerCall call) {
        Wire.In in = Wire.in(call.request().buffer());
        Protocol.BatchHeader h = Protocol.readBatchHeader(in);
        byte[] ack;
        boolean higher = false;
        synchronized (this) {
            checkNotFrozen();
            ClientState cs = clients.get(h.clientId());
            if (cs != null && h.seq() == cs.lastSeq) {
                ack = cs.lastAck;
            } else if (cs != null && h.seq() < cs.lastSeq) {
                throw Status.of(Status.Code.INVALID_ARGUMENT, "stale accumulator batch " + h.seq() + " from rank "
                        + h.rank() + " (last applied " + cs.lastSeq + ")").asException();
            } else if (h.kind() == Protocol.FULL && cs != null) {
                throw Status.of(Status.Code.INVALID_ARGUMENT, "full state from rank " + h.rank()
                        + ", whose contribution this server already has").asException();
            } else if (h.kind() == Protocol.DELTA && cs == null && h.expected() != 0 && h.expected() != incarnation) {
                ack = new Wire.Out(32).putByte(Protocol.REBUILD).putLong(incarnation).putInt(0).putInt(0)
                        .copy().array();
            } else {
                ack = apply(h, in);
                if (cs == null) {
                    cs = new ClientState(h.clientId(), h.nodeId());
                    clients.put(h.clientId(), cs);
                    higher = h.priority() > priority && h.nodeId() != node.nodeId();
                }
                cs.rank = h.rank();
                cs.priority = h.priority();
                cs.lastSeq = h.seq();
                cs.lastAck = ack;
                notifyAll();
            }
        }
        call.reply(ByteBuffer.wrap(ack));
        if (higher) {
            onHigherPriority.accept(h.rank());
        }
    }

    /**
     * Caller holds the lock. Decodes every entry first (a malformed batch throws before anything is applied,
     * so its re-send cannot count twice), then applies them; returns the encoded answer.
     */
    private byte[] apply(Protocol.BatchHeader h, Wire.In in) {
        int n = h.entries();
        if (n > in.remaining()) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "malformed accumulator batch (" + n + " entries)").asException();
        }
        String[] names = new String[n];
        String[] types = new String[n];
        long[] entryGens = new long[n];
        ByteBuffer[] states = new ByteBuffer[n];
        Protocol.EntryReader r = new Protocol.EntryReader();
        for (int i = 0; i < n; i++) {
            r.next(in);
            names[i] = r.name;
            types[i] = r.type;
            entryGens[i] = r.gen;
            states[i] = r.state;
        }
        Wire.Out gens = new Wire.Out(64);
        Wire.Out rejects = new Wire.Out(64);
        int genCount = 0;
        int rejectCount = 0;
        for (int i = 0; i < n; i++) {
            String name = names[i];
            String type = types[i];
            Entry e = entries.get(name);
            boolean created = false;
            if (e == null) {
                Partial p = Partial.create(type);
                if (p == null) {
                    reject(rejects, i, Status.Code.INVALID_ARGUMENT, "aggregator type '" + type + "' of accumulator '"
                            + name + "' is not registered on the accumulator server (rank " + node.rank()
                            + "); register it on every node that may host the server");
                    rejectCount++;
                    continue;
                }
                e = new Entry(type, h.rank(), p, Math.max(entryGens[i], tombstones.getOrDefault(name, 0L)));
                created = true;
            } else if (!e.type.equals(type)) {
                reject(rejects, i, Status.Code.ALREADY_EXISTS, "accumulator '" + name + "' is a " + e.type
                        + " (first written by rank " + e.creatorRank + "); rank " + h.rank() + " wrote it as a " + type);
                rejectCount++;
                continue;
            }
            try {
                e.partial.mergeFrom(states[i]);
            } catch (RuntimeException ex) {
                reject(rejects, i, Status.Code.INVALID_ARGUMENT, "cannot merge a " + type + " state into '" + name
                        + "': " + ex);
                rejectCount++;
                continue;
            }
            if (created) {
                entries.put(name, e);
                tombstones.remove(name);
            }
            if (entryGens[i] > e.gen) {
                e.gen = entryGens[i];
            }
            if (e.gen != entryGens[i]) {
                gens.putInt(i).putLong(e.gen);
                genCount++;
            }
        }
        Wire.Out out = new Wire.Out(32 + gens.position() + rejects.position());
        out.putByte(Protocol.APPLIED).putLong(incarnation);
        out.putInt(genCount).putRaw(gens.view());
        out.putInt(rejectCount).putRaw(rejects.view());
        return out.copy().array();
    }

    private static void reject(Wire.Out out, int index, Status.Code code, String message) {
        if (message.length() > 4000) {
            message = message.substring(0, 4000) + "...";
        }
        out.putInt(index).putInt(code.value()).putString(message);
    }

    private void checkNotFrozen() {
        if (frozen) {
            throw Status.of(Status.Code.UNAVAILABLE, "the accumulator server on rank " + node.rank()
                    + " is handing over to another node").withRetrySafe(true).asException();
        }
    }

    // ------------------------------------------------------------------ READ

    private void onRead(ServerCall call) throws InterruptedException {
        Wire.In in = Wire.in(call.request().buffer());
        boolean all = in.getBoolean();
        String only = all ? null : in.getString();
        awaitRebuilt();
        Wire.Out out = new Wire.Out(256);
        synchronized (this) {
            checkNotFrozen();
            if (only != null) {
                Entry e = entries.get(only);
                out.putInt(e == null ? 0 : 1);
                if (e != null) {
                    writeValue(out, only, e);
                }
            } else {
                out.putInt(entries.size());
                for (Map.Entry<String, Entry> en : new TreeMap<>(entries).entrySet()) {
                    writeValue(out, en.getKey(), en.getValue());
                }
            }
        }
        call.reply(out.copy());
    }

    private static void writeValue(Wire.Out out, String name, Entry e) {
        String rendered;
        try {
            rendered = e.partial instanceof Partial.CustomPartial c ? c.render() : e.partial.value(name).render();
        } catch (RuntimeException ex) {
            rendered = "<render failed: " + ex + ">";
        }
        out.putString(name).putString(e.type).putLong(e.gen).putBytes(rendered.getBytes(StandardCharsets.UTF_8));
        int lenAt = out.position();
        out.putInt(0);
        e.partial.write(out);
        out.putIntAt(lenAt, out.position() - lenAt - 4);
    }

    /**
     * Waits until every node expected at start has checked in (or left), up to the rebuild timeout after the
     * server started: until then the aggregates may lack a live node's contribution.
     */
    private void awaitRebuilt() throws InterruptedException {
        long deadline = startNs + options.rebuildTimeout().toNanos();
        synchronized (this) {
            while (true) {
                List<Integer> missing = missingRanks();
                if (missing.isEmpty()) {
                    return;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    if (!rebuildReported) {
                        rebuildReported = true;
                        LOG.log(System.Logger.Level.WARNING, "accumulator server on rank {0}: ranks {1} have not sent "
                                + "their contributions within {2} ms; answering without them", node.rank(), missing,
                                options.rebuildTimeout().toMillis());
                    }
                    return;
                }
                wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), MAX_REBUILD_WAIT_SLICE_MS)));
            }
        }
    }

    /** Caller holds the lock. */
    private List<Integer> missingRanks() {
        List<Integer> missing = new ArrayList<>();
        if (expectedAtStart.isEmpty()) {
            return missing;
        }
        Membership m = node.membership();
        Set<Long> checkedIn = new HashSet<>();
        for (ClientState c : clients.values()) {
            checkedIn.add(c.nodeId);
        }
        for (ServerInfo s : m.servers(Protocol.PEER_SERVICE)) {
            NodeInfo n = m.node(s.rank()).orElse(null);
            if (n != null && expectedAtStart.contains(n.nodeId()) && !checkedIn.contains(n.nodeId())) {
                missing.add(n.rank());
            }
        }
        return missing;
    }

    // ------------------------------------------------------------------ RESET, ERASE, ERASE_ALL

    private record Notice(String name, long gen, boolean erased) {
    }

    private void onErase(ServerCall call, int method) throws InterruptedException {
        String name = method == Protocol.ERASE_ALL ? null : Wire.in(call.request().buffer()).getString();
        awaitRebuilt();
        List<Notice> notices = new ArrayList<>();
        List<ClientState> targets;
        synchronized (this) {
            checkNotFrozen();
            if (method == Protocol.RESET) {
                Entry e = entries.get(name);
                if (e != null) {
                    e.partial.reset();
                    e.gen++;
                    notices.add(new Notice(name, e.gen, false));
                }
            } else {
                List<String> names = method == Protocol.ERASE ? (entries.containsKey(name) ? List.of(name) : List.of())
                        : List.copyOf(entries.keySet());
                for (String n : names) {
                    Entry e = entries.remove(n);
                    tombstones.put(n, e.gen + 1);
                    notices.add(new Notice(n, e.gen + 1, true));
                }
            }
            targets = notices.isEmpty() ? List.of() : List.copyOf(clients.values());
        }
        notify(notices, targets);
        call.reply(new Wire.Out(8).putInt(notices.size()).copy());
    }

    /**
     * Tells every live client node the new generations, and waits for them (up to the call timeout), so that
     * once reset/erase returns no live node would re-send the old values to a future server.
     */
    private void notify(List<Notice> notices, List<ClientState> targets) {
        if (notices.isEmpty()) {
            return;
        }
        Wire.Out out = new Wire.Out(64).putInt(notices.size());
        for (Notice n : notices) {
            out.putString(n.name()).putLong(n.gen()).putBoolean(n.erased());
        }
        ByteBuffer request = out.copy();
        Membership m = node.membership();
        CallOptions opts = CallOptions.DEFAULT.withTimeout(options.callTimeout());
        List<CompletableFuture<Message>> calls = new ArrayList<>();
        Set<Integer> told = new HashSet<>();
        for (ClientState c : targets) {
            // A node that is gone has nothing to re-send; a node that attached twice is told once.
            if (c.isLive(m) && told.add(c.rank)) {
                calls.add(peers.callAsync(Protocol.NOTIFY, request.duplicate(), opts.withRank(c.rank)));
            }
        }
        for (CompletableFuture<Message> f : calls) {
            try {
                f.join().close();
            } catch (RuntimeException e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                LOG.log(System.Logger.Level.DEBUG, "reset/erase notice not delivered: {0}", cause.toString());
            }
        }
    }

    // ------------------------------------------------------------------ hand-over

    /** Stops applying anything and returns the whole state, for {@link #restore} on the successor. */
    synchronized ByteBuffer freezeAndSnapshot() {
        frozen = true;
        Wire.Out out = new Wire.Out(1024).putLong(incarnation);
        out.putInt(entries.size());
        for (Map.Entry<String, Entry> en : entries.entrySet()) {
            Entry e = en.getValue();
            out.putString(en.getKey()).putString(e.type).putLong(e.gen).putInt(e.creatorRank);
            int lenAt = out.position();
            out.putInt(0);
            e.partial.write(out);
            out.putIntAt(lenAt, out.position() - lenAt - 4);
        }
        out.putInt(tombstones.size());
        tombstones.forEach((n, g) -> out.putString(n).putLong(g));
        out.putInt(clients.size());
        for (ClientState c : clients.values()) {
            out.putLong(c.clientId).putLong(c.nodeId).putInt(c.rank).putByte(c.priority).putLong(c.lastSeq)
                    .putBytes(c.lastAck);
        }
        return out.copy();
    }

    /** Serves again after a hand-over that did not happen. */
    synchronized void unfreeze() {
        frozen = false;
    }

    /**
     * The candidates to succeed this server, best first: client nodes still in the membership with
     * accumulators attached, other than this one, that may host the server; by priority, then rank.
     */
    synchronized List<Integer> successorRanks() {
        Membership m = node.membership();
        Set<Integer> attached = new HashSet<>();
        for (ServerInfo s : m.servers(Protocol.PEER_SERVICE)) {
            attached.add(s.rank());
        }
        List<ClientState> candidates = new ArrayList<>();
        for (ClientState c : clients.values()) {
            if (c.nodeId != node.nodeId() && c.priority > 0 && c.isLive(m) && attached.contains(c.rank)) {
                candidates.add(c);
            }
        }
        candidates.sort((a, b) -> a.priority != b.priority ? Integer.compare(b.priority, a.priority)
                : Integer.compare(a.rank, b.rank));
        return candidates.stream().map(c -> c.rank).distinct().toList();
    }

    @Override
    public String toString() {
        return "AccumulatorServer[rank " + node.rank() + ", incarnation " + Long.toHexString(incarnation) + "]";
    }

    static BatonException closed() {
        return Status.of(Status.Code.CLOSED, "accumulators are closed").asException();
    }
}
