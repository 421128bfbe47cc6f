package dev.baton.tracker;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonPrimitive;
import dev.baton.BatonException;
import dev.baton.Status;
import dev.baton.tracker.internal.ProtocolException;
import dev.baton.tracker.internal.TvmSocket;
import dev.baton.tracker.internal.TvmWire;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * A client of TVM's RPC tracker protocol, for Baton's {@link Tracker} or TVM's own: asks for the summary,
 * requests a server of a key with a priority and a deadline, and registers a server
 * ({@link #register}). Immutable and thread-safe: share one. Each call opens its own connection and closes it
 * when done (a registration keeps one for its lifetime), so there is nothing to shut down.
 *
 * <pre>{@code
 * TrackerClient tracker = TrackerClient.of(new InetSocketAddress("10.0.0.5", 9190));
 * TrackerGrant g = tracker.request("rasp4", 1, Duration.ofMinutes(5));
 * // connect to g.host():g.port() and open the session with g.clientKey()
 * }</pre>
 *
 * <h2>Errors</h2>
 * Every failure is a {@link BatonException}: DEADLINE_EXCEEDED when a request got no server in time (or the
 * tracker's own {@code maxRequestWait} passed) or the tracker did not answer in time, UNAVAILABLE when the
 * tracker cannot be reached or drops the connection, PROTOCOL_ERROR when the peer is not a tracker or answers
 * nonsense, CANCELLED when a request was cancelled, INVALID_ARGUMENT for an argument the tracker would refuse
 * (checked before anything is sent).
 */
public final class TrackerClient {

    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    public static final Duration DEFAULT_IO_TIMEOUT = Duration.ofSeconds(10);
    /** TVM's servers check their matchkey every 2 s. */
    public static final Duration DEFAULT_PING_INTERVAL = Duration.ofSeconds(2);
    /** TVM's servers take a new matchkey about 6 to 8 s after a client took theirs and did not come. */
    public static final Duration DEFAULT_CLAIM_TIMEOUT = Duration.ofSeconds(6);

    private static final AtomicInteger LIVE_REQUEST_THREADS = new AtomicInteger();

    private final InetSocketAddress tracker;
    private final Duration connectTimeout;
    private final Duration ioTimeout;
    private final Duration pingInterval;
    private final Duration claimTimeout;

    private TrackerClient(Builder b) {
        tracker = b.tracker;
        connectTimeout = b.connectTimeout;
        ioTimeout = b.ioTimeout;
        pingInterval = b.pingInterval;
        claimTimeout = b.claimTimeout;
    }

    /** A client of the tracker at {@code tracker}, with the default timeouts. */
    public static TrackerClient of(InetSocketAddress tracker) {
        return builder(tracker).build();
    }

    public static Builder builder(InetSocketAddress tracker) {
        return new Builder(tracker);
    }

    /** A builder holding this client's settings, to derive a variant. */
    public Builder newBuilder() {
        return new Builder(tracker).connectTimeout(connectTimeout).ioTimeout(ioTimeout).pingInterval(pingInterval)
                .claimTimeout(claimTimeout);
    }

    public InetSocketAddress tracker() {
        return tracker;
    }

    Duration connectTimeout() {
        return connectTimeout;
    }

    Duration pingInterval() {
        return pingInterval;
    }

    Duration claimTimeout() {
        return claimTimeout;
    }

    /** Sends PING; returns when the tracker answered SUCCESS. */
    public void ping() {
        JsonElement reply = exchange(TvmWire.message(TvmWire.PING), TvmSocket.NO_DEADLINE, null);
        if (!isCode(reply, TvmWire.SUCCESS)) {
            throw protocolError("PING answered " + TvmWire.excerpt(reply));
        }
    }

    /**
     * The tracker's summary (SUMMARY): connecting within the connect timeout, each answer (the magic, the
     * summary) within the I/O timeout.
     */
    public TrackerSummary summary() {
        return summary(TvmSocket.NO_DEADLINE, null);
    }

    /**
     * The tracker's summary (SUMMARY), all of it (connecting, the magic, the answer) within {@code timeout}
     * (and each part within its own timeout as well): DEADLINE_EXCEEDED otherwise.
     */
    public TrackerSummary summary(Duration timeout) {
        checkTimeout(timeout);
        return summary(TvmSocket.deadlineAfter(timeout), timeout);
    }

    private TrackerSummary summary(long deadlineNs, Duration timeout) {
        JsonElement reply = exchange(TvmWire.message(TvmWire.SUMMARY), deadlineNs, timeout);
        if (!reply.isJsonArray() || reply.getAsJsonArray().size() != 2
                || !isCode(reply.getAsJsonArray().get(0), TvmWire.SUCCESS)) {
            throw protocolError("SUMMARY answered " + TvmWire.excerpt(reply));
        }
        try {
            return TrackerSummary.fromJson(reply.getAsJsonArray().get(1));
        } catch (IllegalArgumentException e) {
            throw protocolError(e.getMessage());
        }
    }

    /** Sends STOP with {@code stopKey}: true if the tracker accepted it and stops, false if the key was wrong. */
    public boolean stop(String stopKey) {
        if (stopKey == null) {
            throw invalid("a STOP needs a key");
        }
        JsonElement reply = exchange(TvmWire.message(TvmWire.STOP, new JsonPrimitive(stopKey)),
                TvmSocket.NO_DEADLINE, null);
        if (isCode(reply, TvmWire.SUCCESS)) {
            return true;
        }
        if (isCode(reply, TvmWire.FAIL)) {
            return false;
        }
        throw protocolError("STOP answered " + TvmWire.excerpt(reply));
    }

    /**
     * Asks for a server of {@code key} (REQUEST) and waits up to {@code timeout} for it, connecting included.
     * Higher priorities are served first (TVM's clients use 1 by default), equal ones in arrival order. On
     * timeout the request is withdrawn (the connection is closed, so the tracker drops it) and this throws
     * DEADLINE_EXCEEDED. A key the tracker would refuse (empty, or over 256 characters) is INVALID_ARGUMENT.
     * Blocks the caller; a virtual thread blocked here can be interrupted (CANCELLED), and
     * {@link #requestAsync} can be cancelled from any thread.
     *
     * <p>A server granted at the very moment the deadline passes is lost to this client; TVM's servers notice
     * that nobody came and offer themselves again under a new matchkey within a few seconds.
     */
    public TrackerGrant request(String key, int priority, Duration timeout) {
        return request(key, priority, timeout, s -> {
        });
    }

    /**
     * {@link #request} on a virtual thread of its own. Cancelling the future closes the request's connection
     * (even while it is still connecting), which withdraws it from the tracker's queue at once.
     */
    public CompletableFuture<TrackerGrant> requestAsync(String key, int priority, Duration timeout) {
        checkRequest(key, timeout);
        CompletableFuture<TrackerGrant> f = new CompletableFuture<>();
        AtomicReference<TvmSocket> open = new AtomicReference<>();
        LIVE_REQUEST_THREADS.incrementAndGet();
        try {
            Thread.ofVirtual().name("baton-tracker-request").start(() -> {
                try {
                    f.complete(request(key, priority, timeout, s -> {
                        open.set(s);
                        if (f.isDone()) {
                            s.close();
                        }
                    }));
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                } finally {
                    LIVE_REQUEST_THREADS.decrementAndGet();
                }
            });
        } catch (RuntimeException | Error e) {
            LIVE_REQUEST_THREADS.decrementAndGet();
            throw e;
        }
        f.whenComplete((grant, failure) -> {
            TvmSocket s = open.get();
            if (s != null) {
                s.close();
            }
        });
        return f;
    }

    /** The threads of {@link #requestAsync} still running (virtual threads, which thread dumps do not list). */
    static int liveRequestThreads() {
        return LIVE_REQUEST_THREADS.get();
    }

    /**
     * Registers a server listening on {@code port} under {@code key}, as TVM's servers do: UPDATE_INFO, then PUT
     * with a fresh matchkey, then a check every {@link Builder#pingInterval ping interval} (a new matchkey when
     * a client took the old one and did not come). {@code customAddr} is the address clients should use, or null
     * for the address the tracker sees. Connects before returning (UNAVAILABLE if it cannot); later losses of
     * the tracker are retried in the background. Close the registration to leave the tracker.
     * INVALID_ARGUMENT, before anything is sent, for a key that is empty or over 200 characters (its matchkeys
     * add up to 25), a port outside 1..65535, or a {@code customAddr} that is empty or over 256 characters.
     */
    public ServerRegistration register(String key, int port, String customAddr) {
        return ServerRegistration.start(this, key, port, customAddr);
    }

    /** {@link #request}; {@code onCreate} sees the connection before it connects (to close it from elsewhere). */
    private TrackerGrant request(String key, int priority, Duration timeout, Consumer<TvmSocket> onCreate) {
        checkRequest(key, timeout);
        long deadlineNs = TvmSocket.deadlineAfter(timeout);
        try (TvmSocket s = TvmSocket.create(ioTimeout)) {
            onCreate.accept(s);
            try {
                s.connect(tracker, connectTimeout, deadlineNs);
                s.send(TvmWire.message(TvmWire.REQUEST, new JsonPrimitive(key), new JsonPrimitive(""),
                        new JsonPrimitive(priority)));
                return grant(key, s.awaitReply());
            } catch (SocketTimeoutException e) {
                if (System.nanoTime() - deadlineNs >= 0) {
                    throw deadline(key, timeout);
                }
                throw timedOut(s, e, "the request for '" + key + "'");
            } catch (IOException e) {
                if (Thread.currentThread().isInterrupted()) {
                    throw Status.of(Status.Code.CANCELLED, "the request for '" + key + "' was interrupted")
                            .asException();
                }
                throw s.isConnected() ? unavailable("the tracker dropped the request for '" + key + "'", e)
                        : unreachable(e);
            } catch (ProtocolException e) {
                throw protocolError(e.getMessage());
            }
        }
    }

    private static void checkRequest(String key, Duration timeout) {
        if (key == null || key.isEmpty() || key.length() > TvmWire.MAX_NAME_CHARS) {
            throw invalid("a request's key must have 1.." + TvmWire.MAX_NAME_CHARS + " characters, had "
                    + (key == null ? "none" : key.length()));
        }
        checkTimeout(timeout);
    }

    private static void checkTimeout(Duration timeout) {
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw invalid("the timeout must be positive, was " + timeout);
        }
    }

    private static TrackerGrant grant(String key, JsonElement reply) {
        if (reply.isJsonArray() && reply.getAsJsonArray().size() == 2) {
            JsonArray a = reply.getAsJsonArray();
            if (isCode(a.get(0), TvmWire.SUCCESS) && a.get(1).isJsonArray() && a.get(1).getAsJsonArray().size() == 3) {
                JsonArray v = a.get(1).getAsJsonArray();
                try {
                    return new TrackerGrant(key, v.get(0).getAsString(), Integer.parseInt(v.get(1).getAsString()),
                            v.get(2).getAsString());
                } catch (RuntimeException e) {
                    throw protocolError("REQUEST answered " + TvmWire.excerpt(reply));
                }
            }
            if (isCode(a.get(0), TvmWire.FAIL)) {
                // Baton's tracker, when its maxRequestWait passed.
                throw Status.of(Status.Code.DEADLINE_EXCEEDED, "the tracker gave up: " + TvmWire.excerpt(a.get(1)))
                        .withRetrySafe(true).asException();
            }
        }
        throw protocolError("REQUEST answered " + TvmWire.excerpt(reply));
    }

    /**
     * One message, one reply, on a connection of its own, by {@code deadlineNs} ({@link TvmSocket#NO_DEADLINE}:
     * each wait within its own timeout); {@code budget} is the caller's timeout, for the error message.
     */
    private JsonElement exchange(JsonElement message, long deadlineNs, Duration budget) {
        try (TvmSocket s = TvmSocket.create(ioTimeout)) {
            try {
                s.connect(tracker, connectTimeout, deadlineNs);
                s.send(message);
                return s.receive();
            } catch (SocketTimeoutException e) {
                if (budget != null && System.nanoTime() - deadlineNs >= 0) {
                    throw Status.of(Status.Code.DEADLINE_EXCEEDED, "the tracker at " + tracker
                            + " did not answer within " + budget.toMillis() + " ms").asException();
                }
                throw timedOut(s, e, "the answer");
            } catch (IOException e) {
                throw s.isConnected() ? unavailable("the tracker at " + tracker + " closed the connection", e)
                        : unreachable(e);
            } catch (ProtocolException e) {
                throw protocolError(e.getMessage());
            }
        }
    }

    /** A wait cut by its own limit, not by the caller's deadline: connecting (UNAVAILABLE) or an answer. */
    private BatonException timedOut(TvmSocket s, SocketTimeoutException e, String what) {
        if (!s.isConnected()) {
            return unreachable(e);
        }
        return Status.of(Status.Code.DEADLINE_EXCEEDED, "the tracker at " + tracker + " did not answer within "
                + ioTimeout.toMillis() + " ms (" + what + ")").withRetrySafe(true).asException();
    }

    /** A new connection to the tracker, not connected yet (see {@link #connect}). */
    TvmSocket newSocket() {
        return TvmSocket.create(ioTimeout);
    }

    /** Connects {@code s} to the tracker and exchanges the magic, each within its own timeout. */
    void connect(TvmSocket s) throws IOException, ProtocolException {
        s.connect(tracker, connectTimeout, TvmSocket.NO_DEADLINE);
    }

    private BatonException unreachable(IOException e) {
        return unavailable("cannot reach the tracker at " + tracker, e);
    }

    static BatonException unavailable(String what, IOException e) {
        return Status.of(Status.Code.UNAVAILABLE, what + ": " + e).withCause(e).withRetrySafe(true).asException();
    }

    static BatonException invalid(String what) {
        return Status.of(Status.Code.INVALID_ARGUMENT, what).asException();
    }

    private static BatonException deadline(String key, Duration timeout) {
        return Status.of(Status.Code.DEADLINE_EXCEEDED, "no server of key '" + key + "' within " + timeout.toMillis()
                + " ms (the request was withdrawn)").withRetrySafe(true).asException();
    }

    static BatonException protocolError(String what) {
        return Status.of(Status.Code.PROTOCOL_ERROR, what).asException();
    }

    static boolean isCode(JsonElement e, int code) {
        return e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber() && e.getAsJsonPrimitive().getAsDouble() == code;
    }

    @Override
    public String toString() {
        return "TrackerClient{" + tracker + "}";
    }

    /** Builds a {@link TrackerClient}. Not thread-safe. */
    public static final class Builder {
        private final InetSocketAddress tracker;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration ioTimeout = DEFAULT_IO_TIMEOUT;
        private Duration pingInterval = DEFAULT_PING_INTERVAL;
        private Duration claimTimeout = DEFAULT_CLAIM_TIMEOUT;

        private Builder(InetSocketAddress tracker) {
            this.tracker = Objects.requireNonNull(tracker, "tracker");
        }

        /** How long connecting may take. Default 5 s. */
        public Builder connectTimeout(Duration connectTimeout) {
            this.connectTimeout = connectTimeout;
            return this;
        }

        /**
         * How long the tracker may take for each answer: the magic, a reply other than a REQUEST's grant, and the
         * rest of a grant once it has begun. Default 10 s.
         */
        public Builder ioTimeout(Duration ioTimeout) {
            this.ioTimeout = ioTimeout;
            return this;
        }

        /** How often a {@link ServerRegistration} checks its matchkey (GET_PENDING_MATCHKEYS). Default 2 s. */
        public Builder pingInterval(Duration pingInterval) {
            this.pingInterval = pingInterval;
            return this;
        }

        /**
         * How long a registration's matchkey may stay taken with no client arriving ({@link
         * ServerRegistration#beginSession}) before it offers a new one. Default 6 s.
         */
        public Builder claimTimeout(Duration claimTimeout) {
            this.claimTimeout = claimTimeout;
            return this;
        }

        public TrackerClient build() {
            positive("connectTimeout", connectTimeout);
            positive("ioTimeout", ioTimeout);
            positive("pingInterval", pingInterval);
            positive("claimTimeout", claimTimeout);
            return new TrackerClient(this);
        }

        private static void positive(String name, Duration d) {
            Objects.requireNonNull(d, name);
            if (d.toMillis() < 1) {
                throw new IllegalArgumentException(name + " must be at least 1 ms, was " + d);
            }
        }
    }
}
