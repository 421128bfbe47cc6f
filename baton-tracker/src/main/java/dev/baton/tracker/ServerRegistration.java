package dev.baton.tracker;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.baton.BatonException;
import dev.baton.tracker.internal.ProtocolException;
import dev.baton.tracker.internal.TvmSocket;
import dev.baton.tracker.internal.TvmWire;

import java.io.IOException;
import java.security.SecureRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A server's place in a tracker, kept the way TVM's servers keep it ({@link TrackerClient#register}): one
 * connection to the tracker; UPDATE_INFO {@code {"key": "server:<key>", "addr": [customAddr, port]}}; PUT with
 * a one-use matchkey ({@code "<key>:<random>"}); then, every ping interval, GET_PENDING_MATCHKEYS: when the
 * matchkey was handed to a client that did not come within the claim timeout, a new one is PUT.
 *
 * <p>The server's side of a session: a client presents {@code "client:<matchkey>"} on the data port;
 * {@link #beginSession} checks it against the current matchkey and, if it matches, takes the server out of the
 * pool; {@link #endSession} offers it again under a fresh matchkey. If the tracker goes away, the registration
 * reconnects (backing off from the ping interval up to 30 s) and registers again by itself.
 *
 * <p>Thread-safe. One platform daemon thread per registration, {@code baton-tracker-registration-<key>}, does
 * the periodic checks and reconnects. {@link #beginSession} never waits for the network (at most for a PUT
 * round trip in progress); {@link #endSession} sends its PUT on the caller's thread, bounded by the client's I/O
 * timeout. {@link #close()} leaves the tracker at once: it closes the registration's connection, or the one
 * it is opening (a reconnect in progress is aborted, not waited for), and the tracker drops every entry of a
 * connection that closes.
 */
public final class ServerRegistration implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger("dev.baton.tracker");
    private static final long MAX_BACKOFF_NS = TimeUnit.SECONDS.toNanos(30);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Longest key: its matchkeys, {@code "<key>:<random double>"}, must stay within the tracker's 256. */
    static final int MAX_KEY_CHARS = 200;

    private final TrackerClient client;
    private final String key;
    private final int port;
    private final String customAddr;
    /** The tracker connection: one exchange at a time. Taken before {@link #state}, never after it. */
    private final ReentrantLock io = new ReentrantLock();
    /** Guards {@link #matchKey} and {@link #inSession}; held at most for one PUT round trip. */
    private final Object state = new Object();
    private final CountDownLatch closing = new CountDownLatch(1);
    private final Thread pinger;
    /** Written with {@link #io} held. */
    private volatile TvmSocket socket;
    /** The connection being opened (before it becomes {@link #socket}), for {@link #close()} to abort. */
    private volatile TvmSocket connecting;
    private volatile boolean closed;
    /** The matchkey offered now; null between a session's end and the next offer. */
    private String matchKey;
    private boolean inSession;
    /** When the current matchkey was first seen taken (not pending), or 0. With {@link #io} held. */
    private long takenSinceNs;

    private ServerRegistration(TrackerClient client, String key, int port, String customAddr) {
        this.client = client;
        this.key = key;
        this.port = port;
        this.customAddr = customAddr;
        this.pinger = Thread.ofPlatform().daemon(true).name("baton-tracker-registration-" + key).unstarted(this::run);
    }

    static ServerRegistration start(TrackerClient client, String key, int port, String customAddr) {
        if (key == null || key.isEmpty() || key.length() > MAX_KEY_CHARS) {
            throw TrackerClient.invalid("a registration's key must have 1.." + MAX_KEY_CHARS + " characters, had "
                    + (key == null ? "none" : key.length()));
        }
        if (port < 1 || port > 65535) {
            throw TrackerClient.invalid("a registration's port must be 1..65535, was " + port);
        }
        if (customAddr != null && (customAddr.isEmpty() || customAddr.length() > TvmWire.MAX_NAME_CHARS)) {
            throw TrackerClient.invalid("customAddr must have 1.." + TvmWire.MAX_NAME_CHARS
                    + " characters (or be null for the address the tracker sees), had " + customAddr.length());
        }
        ServerRegistration r = new ServerRegistration(client, key, port, customAddr);
        r.io.lock();
        try {
            r.connect();
        } catch (IOException e) {
            throw TrackerClient.unavailable("registering '" + key + "' with the tracker at " + client.tracker()
                    + " failed", e);
        } catch (ProtocolException e) {
            throw TrackerClient.protocolError(e.getMessage());
        } finally {
            r.io.unlock();
        }
        r.pinger.start();
        return r;
    }

    public String key() {
        return key;
    }

    public int port() {
        return port;
    }

    /** The matchkey offered now (a client must present {@code "client:" + matchKey()}), or null if none is. */
    public String matchKey() {
        synchronized (state) {
            return matchKey;
        }
    }

    /** True while the registration holds a connection to the tracker. */
    public boolean isConnected() {
        return socket != null;
    }

    /**
     * A client arrived presenting {@code clientKey} (TVM's handshake key, {@code "client:<matchkey>"}, maybe
     * followed by options such as {@code " -timeout=10"}). True if it is the current matchkey and no session
     * is running: the session begins and the server is not offered again until {@link #endSession}. False
     * otherwise (TVM's servers answer such a client with RPC_CODE_MISMATCH).
     */
    public boolean beginSession(String clientKey) {
        String first = clientKey == null ? "" : clientKey.strip().split("\\s+", 2)[0];
        synchronized (state) {
            if (closed || inSession || matchKey == null || !first.equals("client:" + matchKey)) {
                return false;
            }
            inSession = true;
            return true;
        }
    }

    /**
     * The session ended: the server is offered again under a fresh matchkey (a PUT, on this thread). The used
     * matchkey opens nothing any more. If the tracker cannot be reached now, the server is offered once the
     * registration has reconnected.
     */
    public void endSession() {
        io.lock();
        try {
            synchronized (state) {
                if (!inSession) {
                    return;
                }
                inSession = false;
                matchKey = null;
                if (socket != null) {
                    try {
                        offer();
                    } catch (IOException | ProtocolException | BatonException e) {
                        lost(e);
                    }
                }
            }
        } finally {
            io.unlock();
        }
    }

    /**
     * Leaves the tracker (closes the connection, or aborts the one being opened) and stops the registration's
     * thread, waiting briefly for it. Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        closing.countDown();
        // `connecting` before `socket`: connect() publishes `socket` before it clears `connecting`, so one of the
        // two reads sees the connection; and it checks `closed` after publishing each.
        TvmSocket c = connecting;
        if (c != null) {
            c.close();   // aborts a reconnect in progress
        }
        TvmSocket s = socket;
        if (s != null) {
            s.close();   // aborts an exchange in progress; the thread sees `closed` and ends
        }
        if (Thread.currentThread() != pinger && pinger.isAlive()) {
            try {
                pinger.join(client.connectTimeout().toMillis() + 1_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void run() {
        long backoffNs = client.pingInterval().toNanos();
        try {
            while (!closed) {
                if (!pause(socket != null ? client.pingInterval().toNanos() : backoffNs)) {
                    return;
                }
                io.lock();
                boolean connected = socket != null;
                try {
                    if (closed) {
                        return;
                    }
                    if (!connected) {
                        connect();
                        backoffNs = client.pingInterval().toNanos();
                        LOG.log(System.Logger.Level.INFO, "registration ''{0}'': registered with the tracker at {1}"
                                + " again", key, client.tracker());
                    } else {
                        check();
                    }
                } catch (IOException | ProtocolException | BatonException e) {
                    if (connected) {
                        lost(e);
                    } else {
                        LOG.log(System.Logger.Level.DEBUG, "registration ''{0}'': reconnecting failed: {1}", key,
                                e.toString());
                        backoffNs = Math.min(MAX_BACKOFF_NS, backoffNs * 2);
                    }
                } finally {
                    io.unlock();
                }
            }
        } finally {
            io.lock();
            try {
                TvmSocket s = socket;
                socket = null;
                if (s != null) {
                    s.close();
                }
            } finally {
                io.unlock();
            }
        }
    }

    /** Waits {@code nanos}; false if the registration is closing. */
    private boolean pause(long nanos) {
        try {
            return !closing.await(nanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            return false;   // only close() should stop the thread, but an interrupt is honoured the same way
        }
    }

    /** GET_PENDING_MATCHKEYS; a new matchkey when the old one was taken and nobody came for too long. io held. */
    private void check() throws IOException, ProtocolException {
        socket.send(TvmWire.message(TvmWire.GET_PENDING_MATCHKEYS));
        JsonElement pending = socket.receive();
        if (!pending.isJsonArray()) {
            throw TrackerClient.protocolError("GET_PENDING_MATCHKEYS answered " + TvmWire.excerpt(pending));
        }
        synchronized (state) {
            if (inSession || matchKey == null || pending.getAsJsonArray().contains(new JsonPrimitive(matchKey))) {
                takenSinceNs = 0;
                return;
            }
            long now = System.nanoTime();
            if (takenSinceNs == 0) {
                takenSinceNs = now;
            } else if (now - takenSinceNs >= client.claimTimeout().toNanos()) {
                LOG.log(System.Logger.Level.INFO, "registration ''{0}'': matchkey taken but no client came within {1}"
                        + " ms; offering a new one", key, client.claimTimeout().toMillis());
                offer();
            }
        }
    }

    /** Connects, describes the server (UPDATE_INFO) and, unless in a session, offers it (PUT). io held. */
    private void connect() throws IOException, ProtocolException {
        TvmSocket s = client.newSocket();
        connecting = s;
        try {
            if (closed) {
                throw new IOException("closed before connecting");
            }
            client.connect(s);
            JsonObject info = new JsonObject();
            info.addProperty("key", "server:" + key);
            JsonArray addr = new JsonArray();
            addr.add(customAddr == null ? JsonNull.INSTANCE : new JsonPrimitive(customAddr));
            addr.add(port);
            info.add("addr", addr);
            s.send(TvmWire.message(TvmWire.UPDATE_INFO, info));
            expectSuccess(s.receive(), "UPDATE_INFO");
            socket = s;
            if (closed) {
                throw new IOException("closed while connecting");
            }
            synchronized (state) {
                if (!inSession) {
                    offer();
                }
            }
        } catch (IOException | ProtocolException | RuntimeException e) {
            s.close();
            socket = null;
            throw e;
        } finally {
            connecting = null;
        }
    }

    /** PUT under a fresh matchkey. io and state held, socket open. */
    private void offer() throws IOException, ProtocolException {
        String fresh;
        do {
            fresh = key + ":" + RANDOM.nextDouble();
        } while (fresh.equals(matchKey));
        JsonArray value = new JsonArray(2);
        value.add(port);
        value.add(fresh);
        socket.send(TvmWire.message(TvmWire.PUT, new JsonPrimitive(key), value,
                customAddr == null ? JsonNull.INSTANCE : new JsonPrimitive(customAddr)));
        expectSuccess(socket.receive(), "PUT");
        matchKey = fresh;
        takenSinceNs = 0;
    }

    private static void expectSuccess(JsonElement reply, String what) {
        if (!TrackerClient.isCode(reply, TvmWire.SUCCESS)) {
            throw TrackerClient.protocolError(what + " answered " + TvmWire.excerpt(reply));
        }
    }

    /** The tracker connection broke: drop it; the thread reconnects. io held. */
    private void lost(Exception e) {
        TvmSocket s = socket;
        socket = null;
        if (s != null) {
            s.close();
        }
        if (!closed) {
            LOG.log(System.Logger.Level.WARNING, "registration ''{0}'': lost the tracker at {1}: {2}; reconnecting",
                    key, client.tracker(), e.toString());
        }
    }

    @Override
    public String toString() {
        return "ServerRegistration{" + key + " port " + port + " at " + client.tracker() + "}";
    }
}
