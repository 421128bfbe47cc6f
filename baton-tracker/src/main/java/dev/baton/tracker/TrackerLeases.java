package dev.baton.tracker;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.Server;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.tracker.internal.NativeWire;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;

/**
 * The Baton side of a tracker's native protocol ({@link TrackerService}): a server registers under a key with one
 * call, and a client leases a server of a key and gets a {@link Client} bound to it.
 *
 * <pre>{@code
 * // a server's node
 * Server board = node.newServer("board").blocking(0, this::run).start();
 * try (TrackerRegistration reg = TrackerLeases.register(board, "rasp4")) { ... }
 *
 * // a client's node: priority 1, wait up to a minute, hold it for at most ten
 * try (TrackerLease lease = TrackerLeases.lease(node, "rasp4", 1, Duration.ofMinutes(1), Duration.ofMinutes(10))) {
 *     byte[] out = lease.client().call(0, input);
 * }   // released: the server goes back to the pool
 * }</pre>
 *
 * <p>The tracker is found through the membership: the server of {@code baton.tracker} with the lowest id (a cluster
 * normally has one). Each method waits for it to appear within its own budget.
 *
 * <p>Failures are {@link BatonException}s: INVALID_ARGUMENT (a key that is empty or over 256 characters, a wait or
 * limit out of range: checked before anything is sent); DEADLINE_EXCEEDED (no tracker, or no free server, in
 * time); ALREADY_EXISTS (the server is registered already); and whatever the call itself met (UNAVAILABLE...).
 * Thread-safe; the methods block the calling thread.
 */
public final class TrackerLeases {

    /** How long a registration waits for the tracker, and how long closing a lease or registration may take. */
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration MAX_LIMIT = Duration.ofDays(7);

    private TrackerLeases() {
    }

    /** Registers {@code server} under {@code key}; the tracker hands it to anyone (no guard). */
    public static TrackerRegistration register(Server server, String key) {
        return register(server, key, null);
    }

    /**
     * Registers {@code server} under {@code key}. With a {@code guard} (the one the server was built with), the
     * server answers only its lease holders, until each lease's limit ({@link TrackerGuard}).
     */
    public static TrackerRegistration register(Server server, String key, TrackerGuard guard) {
        checkKey(key);
        Node node = server.node();
        Ref tracker = tracker(node, CALL_TIMEOUT);
        ByteBuffer request = new NativeWire.Writer().string(key).string(server.service()).i32(server.serverId())
                .bytes(guard == null ? new byte[0] : guard.secret()).done();
        try (Message m = tracker.call(NativeWire.REGISTER, request, CALL_TIMEOUT)) {
            NativeWire.Reader r = new NativeWire.Reader(m.buffer(), "REGISTER response");
            long id = r.i64();
            return new TrackerRegistration(tracker, id, key, server);
        }
    }

    /**
     * Leases a server of {@code key}: waits up to {@code wait} for one (higher {@code priority} first, then in
     * arrival order), and holds it until the lease is closed, this node leaves, or {@code limit} passes, whichever
     * is first. Throws DEADLINE_EXCEEDED if none was free within {@code wait}; the request then leaves the queue.
     */
    public static TrackerLease lease(Node node, String key, int priority, Duration wait, Duration limit) {
        checkKey(key);
        if (wait == null || wait.isNegative() || wait.isZero()) {
            throw invalid("wait must be positive, was " + wait);
        }
        if (limit == null || limit.toMillis() < 1 || limit.compareTo(MAX_LIMIT) > 0) {
            throw invalid("limit must be 1 ms to 7 days, was " + limit);
        }
        long startNs = System.nanoTime();
        Ref tracker = tracker(node, wait);
        Duration left = wait.minusNanos(System.nanoTime() - startNs);
        ByteBuffer request = new NativeWire.Writer().string(key).i32(priority).i64(limit.toMillis()).done();
        try (Message m = tracker.call(NativeWire.REQUEST, request, left.toNanos() > 0 ? left : Duration.ofNanos(1))) {
            NativeWire.Reader r = new NativeWire.Reader(m.buffer(), "REQUEST response");
            long id = r.i64();
            String service = r.string();
            int serverId = r.i32();
            int rank = r.i32();
            Instant expiresAt = Instant.ofEpochMilli(r.i64());
            String token = r.string();
            return new TrackerLease(node, tracker, id, key, service, serverId, rank, expiresAt, token);
        } catch (BatonException e) {
            if (e.status().code() == Status.Code.DEADLINE_EXCEEDED) {
                throw new BatonException(Status.of(Status.Code.DEADLINE_EXCEEDED, "no server of key '" + key
                        + "' within " + wait.toMillis() + " ms").withCause(e));
            }
            throw e;
        }
    }

    /** What the tracker holds now, TVM's servers and Baton's ({@link TrackerSummary#batonServers()}). */
    public static TrackerSummary summary(Node node, Duration timeout) {
        Ref tracker = tracker(node, timeout);
        try (Message m = tracker.call(NativeWire.SUMMARY, ByteBuffer.allocate(0), timeout)) {
            byte[] json = m.toByteArray();
            return TrackerSummary.fromJson(com.google.gson.JsonParser.parseString(
                    new String(json, StandardCharsets.UTF_8)));
        }
    }

    /** A client of the cluster's tracker: the lowest server id of {@code baton.tracker}, once one is known. */
    private static Ref tracker(Node node, Duration wait) {
        Client c = node.client(NativeWire.SERVICE);
        List<ServerInfo> servers = c.servers();
        if (servers.isEmpty()) {
            try {
                servers = c.awaitServers(1, wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw Status.of(Status.Code.CANCELLED, "interrupted while looking for the tracker").asException();
            } catch (BatonException e) {
                throw new BatonException(Status.of(Status.Code.DEADLINE_EXCEEDED, "no tracker (service "
                        + NativeWire.SERVICE + ") in the cluster within " + wait.toMillis() + " ms").withCause(e));
            }
        }
        int id = servers.stream().min(Comparator.comparingInt(ServerInfo::serverId)).orElseThrow().serverId();
        return new Ref(c, id);
    }

    /** The tracker's server a lease or registration talks to, for the whole of its life. */
    record Ref(Client client, int serverId) {
        Message call(int method, ByteBuffer request, Duration timeout) {
            return client.call(method, request, CallOptions.DEFAULT.withServerId(serverId).withTimeout(timeout));
        }
    }

    private static void checkKey(String key) {
        if (key == null || key.isEmpty() || key.length() > NativeWire.MAX_NAME_CHARS) {
            throw invalid("a key must be 1 to " + NativeWire.MAX_NAME_CHARS + " characters, was "
                    + (key == null ? "null" : key.length() + " characters"));
        }
    }

    private static BatonException invalid(String why) {
        return Status.of(Status.Code.INVALID_ARGUMENT, why).asException();
    }
}
