package dev.baton.tracker.internal;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.baton.BatonException;
import dev.baton.ServerCall;
import dev.baton.Status;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

/**
 * What the tracker does for Baton servers and clients (the {@code baton.tracker} service): registrations, waiting
 * requests and leases. Baton servers have a {@link Pool} of their own, with the same ordering as TVM's (priority,
 * then arrival; free servers FIFO), so a TVM client is never handed a Baton server, nor a Baton client a TVM one.
 *
 * <p>Liveness comes from the membership of the node serving the service: a server that leaves
 * ({@link #onServerRemoved}) or whose node leaves ({@link #onNodeLeft}) is gone at once; a node that leaves also
 * gives back every lease it held and withdraws every request it had waiting. A lease also ends when released
 * or when its limit passes ({@link #tick}).
 *
 * <p>Not thread-safe: the tracker's loop thread calls every method (the service posts its calls there).
 */
final class NativeConductor implements Pool.Granter {

    /** Registered Baton servers in the whole tracker. */
    static final int MAX_SERVERS = 16_384;
    /** Baton requests waiting in the whole tracker. */
    static final int MAX_WAITING = 16_384;
    /** The longest lease limit: a week. */
    static final long MAX_LIMIT_MS = 7L * 24 * 3600 * 1000;

    private final Pool pool = new Pool(this);
    private final Map<Long, NativeServer> servers = new LinkedHashMap<>();
    /** "service/serverId" to its registration: one key per server. */
    private final Map<String, NativeServer> byServer = new HashMap<>();
    private final Map<Long, Lease> leases = new HashMap<>();
    private final TreeSet<Lease> byEnd = new TreeSet<>(Lease.END_ORDER);
    private final IdentityHashMap<ServerCall, NativeRequest> waiting = new IdentityHashMap<>();
    private long nextServerId = 1;
    private long nextLeaseId = 1;

    /** Registers {@code service}/{@code serverId}, hosted by {@code rank}, under {@code key}; returns its id. */
    long register(int rank, String key, String service, int serverId, byte[] guardSecret) {
        if (rank < 0) {
            throw refuse(Status.Code.INVALID_ARGUMENT, "only a node with a rank can register a server (an observer has"
                    + " none)");
        }
        String name = service + "/" + serverId;
        NativeServer old = byServer.get(name);
        if (old != null) {
            throw refuse(Status.Code.ALREADY_EXISTS, old + " is registered already");
        }
        if (servers.size() >= MAX_SERVERS) {
            throw refuse(Status.Code.RESOURCE_EXHAUSTED, "the tracker holds " + MAX_SERVERS + " Baton servers, its"
                    + " maximum");
        }
        NativeServer s = new NativeServer(nextServerId++, key, service, serverId, rank, guardSecret);
        servers.put(s.id, s);
        byServer.put(name, s);
        pool.addPutter(key);
        offer(s);
        return s.id;
    }

    /** Removes registration {@code id} (a lease of it ends). Only its own node may; unknown ids are ignored. */
    void unregister(int rank, long id) {
        NativeServer s = servers.get(id);
        if (s != null && s.rank != rank) {
            throw refuse(Status.Code.PERMISSION_DENIED, s + " belongs to rank " + s.rank + ", not rank " + rank);
        }
        if (s != null) {
            remove(s);
        }
    }

    /** Queues a request; {@code answer} is completed (maybe before this returns) with the grant or a failure. */
    void request(ServerCall call, CompletableFuture<ByteBuffer> answer, int rank, String key, int priority,
                 long limitMs) {
        if (rank < 0) {
            throw refuse(Status.Code.INVALID_ARGUMENT, "only a node with a rank can hold a lease (an observer has none)");
        }
        if (limitMs < 1 || limitMs > MAX_LIMIT_MS) {
            throw refuse(Status.Code.INVALID_ARGUMENT, "a lease's limit must be 1 ms to 7 days, was " + limitMs + " ms");
        }
        if (waiting.size() >= MAX_WAITING) {
            throw refuse(Status.Code.RESOURCE_EXHAUSTED, "the tracker holds " + MAX_WAITING + " waiting Baton requests,"
                    + " its maximum");
        }
        if (call.isCancelled()) {
            answer.cancel(false);
            return;
        }
        NativeRequest r = new NativeRequest(call, answer, rank, limitMs);
        long deadline = call.deadlineNanos();
        r.waiter = new Waiter(null, r, key, priority, pool.nextArrival(), deadline != Long.MAX_VALUE, deadline);
        waiting.put(call, r);
        pool.request(r.waiter);
    }

    /** Ends lease {@code id}: its server is free again. Only its holder may; unknown ids are ignored. */
    void release(int rank, long id) {
        Lease l = leases.get(id);
        if (l != null && l.holderRank != rank) {
            throw refuse(Status.Code.PERMISSION_DENIED, "lease " + id + " is held by rank " + l.holderRank
                    + ", not rank " + rank);
        }
        if (l != null) {
            endLease(l);
        }
    }

    /** The call of a waiting request ended without its answer (cancelled, expired): it leaves the queue. */
    void cancelled(ServerCall call) {
        NativeRequest r = waiting.remove(call);
        if (r != null) {
            pool.cancel(r.waiter);
            r.answer.cancel(false);
        }
    }

    /** A server of the cluster is gone: so is its registration, if it has one. */
    void onServerRemoved(String service, int serverId) {
        NativeServer s = byServer.get(service + "/" + serverId);
        if (s != null) {
            remove(s);
        }
    }

    /** Node {@code rank} left: its servers, its leases and its waiting requests go. */
    void onNodeLeft(int rank) {
        for (NativeServer s : new ArrayList<>(servers.values())) {
            if (s.rank == rank) {
                remove(s);
            }
        }
        for (Lease l : new ArrayList<>(leases.values())) {
            if (l.holderRank == rank) {
                endLease(l);
            }
        }
        for (NativeRequest r : new ArrayList<>(waiting.values())) {
            if (r.rank == rank) {
                cancelled(r.call);
            }
        }
    }

    /** Ends the leases whose limit passed, fails the requests whose deadline passed, and drops cancelled ones. */
    void tick(long nowNs) {
        while (!byEnd.isEmpty() && byEnd.first().endNs - nowNs <= 0) {
            endLease(byEnd.first());
        }
        for (Waiter w : pool.expire(nowNs)) {
            NativeRequest r = w.nativeRequest;
            waiting.remove(r.call);
            r.answer.completeExceptionally(refuse(Status.Code.DEADLINE_EXCEEDED, "no server of key '" + w.key
                    + "' was free before the call's deadline"));
        }
        List<ServerCall> gone = null;
        for (NativeRequest r : waiting.values()) {
            if (r.call.isCancelled()) {
                (gone == null ? gone = new ArrayList<>() : gone).add(r.call);
            }
        }
        if (gone != null) {
            gone.forEach(this::cancelled);
        }
    }

    /** Nanoseconds to the next lease end or request deadline; {@code Long.MAX_VALUE} if none. */
    long nanosToNextDeadline(long nowNs) {
        long next = Long.MAX_VALUE;
        if (!byEnd.isEmpty()) {
            next = Math.max(0, byEnd.first().endNs - nowNs);
        }
        if (pool.hasDeadlines()) {
            next = Math.min(next, Math.max(0, pool.nextDeadlineNs() - nowNs));
        }
        return next;
    }

    /** Forgets everything (the service stopped): waiting calls fail with UNAVAILABLE. */
    void reset() {
        for (NativeRequest r : new ArrayList<>(waiting.values())) {
            r.answer.completeExceptionally(refuse(Status.Code.UNAVAILABLE, "the tracker's service stopped"));
            cancelled(r.call);
        }
        for (NativeServer s : new ArrayList<>(servers.values())) {
            remove(s);
        }
    }

    /**
     * {@code {"queue_info": {key: {"total": t, "free": f, "pending": p}}, "server_info": [{"key", "service",
     * "server_id", "rank", "leased_to", "lease_id", "lease_ms_left"}]}}, or null when it holds nothing.
     */
    JsonObject summary(long nowNs) {
        JsonObject queues = pool.queueInfo();
        if (queues.isEmpty()) {
            return null;
        }
        JsonArray list = new JsonArray();
        Map<String, Integer> totals = new HashMap<>();
        for (NativeServer s : servers.values()) {
            JsonObject o = new JsonObject();
            o.addProperty("key", s.key);
            o.addProperty("service", s.service);
            o.addProperty("server_id", s.serverId);
            o.addProperty("rank", s.rank);
            if (s.lease != null) {
                o.addProperty("leased_to", s.lease.holderRank);
                o.addProperty("lease_id", s.lease.id);
                o.addProperty("lease_ms_left", Math.max(0, (s.lease.endNs - nowNs) / 1_000_000));
            }
            list.add(o);
            totals.merge(s.key, 1, Integer::sum);
        }
        for (String key : queues.keySet()) {
            queues.getAsJsonObject(key).addProperty("total", totals.getOrDefault(key, 0));
        }
        JsonObject o = new JsonObject();
        o.add("queue_info", queues);
        o.add("server_info", list);
        return o;
    }

    @Override
    public boolean grant(Waiter w, Entry e) {
        NativeRequest r = w.nativeRequest;
        waiting.remove(r.call);
        if (r.call.isCancelled() || r.answer.isDone()) {
            r.answer.cancel(false);
            return false;   // the server goes back to the pool
        }
        NativeServer s = e.nativeServer;
        long now = System.nanoTime();
        long endEpochMs = System.currentTimeMillis() + r.limitMs;
        Lease l = new Lease(nextLeaseId++, s, r.rank, now + r.limitMs * 1_000_000L, endEpochMs);
        s.free = null;
        s.lease = l;
        leases.put(l.id, l);
        byEnd.add(l);
        ByteBuffer grant = new NativeWire.Writer().i64(l.id).string(s.service).i32(s.serverId).i32(s.rank)
                .i64(endEpochMs).string(LeaseToken.sign(s.guardSecret, l.id, l.holderRank, s.serverId, endEpochMs))
                .done();
        r.answer.complete(grant);
        return true;
    }

    int waiting() {
        return waiting.size();
    }

    private void endLease(Lease l) {
        leases.remove(l.id);
        byEnd.remove(l);
        NativeServer s = l.server;
        if (s.lease == l) {
            s.lease = null;
            if (servers.containsKey(s.id)) {
                offer(s);
            }
        }
    }

    /** {@code s} is free: into the pool, or straight to the first request waiting for its key. */
    private void offer(NativeServer s) {
        s.free = Entry.of(s);
        pool.put(s.free);
    }

    private void remove(NativeServer s) {
        servers.remove(s.id);
        byServer.remove(s.service + "/" + s.serverId);
        if (s.free != null) {
            pool.remove(s.free);
            s.free = null;
        }
        if (s.lease != null) {
            Lease l = s.lease;
            s.lease = null;
            leases.remove(l.id);
            byEnd.remove(l);
        }
        pool.removePutter(s.key);
    }

    private static BatonException refuse(Status.Code code, String why) {
        return Status.of(code, why).asException();
    }
}
