package dev.baton.internal.registry;

import dev.baton.BatonException;
import dev.baton.Health;
import dev.baton.Membership;
import dev.baton.Message;
import dev.baton.NodeStatus;
import dev.baton.Probe;
import dev.baton.Status;
import dev.baton.internal.wire.ControlFrame;
import dev.baton.internal.wire.ControlProtocol;
import dev.baton.internal.wire.StatusCodec;
import dev.baton.internal.wire.WireReader;
import dev.baton.spi.FrameHandler;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.MessageAccess;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.TransportSettings;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * {@link Probe}: one transport of its own (one I/O thread, made on first use, role tool) and one connection per
 * target, kept open for the next question (a status page asks every node every second) until the target hangs
 * up or the probe closes. Answers are matched to questions by request id per connection.
 */
public final class ToolProbe implements Probe, FrameHandler {

    private static final TransportSettings SETTINGS = TransportSettings.builder()
            .ioThreads(1)
            .maxMessageSize(64 << 20)
            .keepaliveInterval(Duration.ofSeconds(1))
            .keepaliveTimeout(Duration.ofSeconds(5))
            .build();

    /** One target's connection: its handshake, and the questions waiting for answers. */
    private static final class Target {
        final CompletableFuture<Void> opened = new CompletableFuture<>();
        final Map<Long, CompletableFuture<Message>> pending = new ConcurrentHashMap<>();
        final AtomicLong ids = new AtomicLong();
        /** The target said GOAWAY (it is closing): ask nothing new here, hang up once answered. */
        volatile boolean goingAway;
    }

    private final TransportFactory transports;
    private final Map<InetSocketAddress, TransportConnection> connections = new ConcurrentHashMap<>();
    private Transport transport;        // guarded by this; made on first use
    private boolean closed;             // guarded by this

    public ToolProbe(TransportFactory transports) {
        this.transports = transports;
    }

    @Override
    public Health health(InetSocketAddress target, Duration timeout) {
        return ask("baton process", target, ControlProtocol.HEALTH, timeout, StatusCodec::readHealth);
    }

    @Override
    public NodeStatus nodeStatus(InetSocketAddress node, Duration timeout) {
        return ask("node", node, ControlProtocol.NODE_STATUS, timeout, StatusCodec::readNodeStatus);
    }

    @Override
    public Membership membership(InetSocketAddress target, Duration timeout) {
        return ask("baton process", target, ControlProtocol.SNAPSHOT, timeout, ControlProtocol::readSnapshot);
    }

    @Override
    public java.util.SortedMap<Integer, Duration> leaseAges(InetSocketAddress master, Duration timeout) {
        return ask("master", master, ControlProtocol.LEASES, timeout, StatusCodec::readLeaseAges);
    }

    private <T> T ask(String kind, InetSocketAddress at, int method, Duration timeout, Function<WireReader, T> read) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            return askOnce(kind, at, method, timeout, deadline, read);
        } catch (BatonException e) {
            // Every question is read-only, so asking again is safe. A connection lost under the question (the
            // process is leaving, and its GOAWAY crossed the question) is replaced once, within the deadline.
            if (e.code() != Status.Code.UNAVAILABLE || System.nanoTime() - deadline >= 0) {
                throw e;
            }
            return askOnce(kind, at, method, timeout, deadline, read);
        }
    }

    private <T> T askOnce(String kind, InetSocketAddress at, int method, Duration timeout, long deadline,
                          Function<WireReader, T> read) {
        TransportConnection c = connection(at);
        Target t = (Target) c.attachment();
        // The question is pending before the handshake ends: a leaving process sends GOAWAY right after it,
        // and a connection with a question pending is not hung up until the answer comes.
        long id = t.ids.incrementAndGet();
        CompletableFuture<Message> answer = new CompletableFuture<>();
        t.pending.put(id, answer);
        try {
            await(t.opened, deadline, kind, at, "did not answer within " + timeout.toMillis() + " ms",
                    Status.Code.UNAVAILABLE);
            int r = c.offer(new ControlFrame(FrameType.REQUEST, 0, 0, id, method, ByteBuffer.allocate(0)));
            if (r != TransportConnection.OFFERED) {
                throw Status.of(Status.Code.UNAVAILABLE, kind + " " + at + ": the connection "
                        + (r == TransportConnection.CLOSED ? "closed" : "is saturated")).withRetrySafe(true)
                        .asException();
            }
            Message m = await(answer, deadline, kind, at, "did not answer within " + timeout.toMillis() + " ms",
                    Status.Code.DEADLINE_EXCEEDED);
            try (m) {
                return read.apply(new WireReader(m.buffer()));
            }
        } finally {
            t.pending.remove(id);
            hangUpIfIdle(c, t);
        }
    }

    /** The open connection to {@code at}, or a new one (its handshake under way). */
    private TransportConnection connection(InetSocketAddress at) {
        TransportConnection c = connections.get(at);
        if (usable(c)) {
            return c;
        }
        Transport tr = transport();
        synchronized (connections) {        // one connection per target; connect runs outside the map's locks
            c = connections.get(at);
            if (!usable(c)) {
                c = tr.connect(at, x -> new Target());
                connections.put(at, c);
            }
            return c;
        }
    }

    private static boolean usable(TransportConnection c) {
        return c != null && c.isOpen() && !((Target) c.attachment()).goingAway;
    }

    private synchronized Transport transport() {
        if (closed) {
            throw Status.of(Status.Code.CLOSED, "the probe is closed").asException();
        }
        if (transport == null) {
            transport = transports.create(new TransportContext("baton-probe", ThreadLocalRandom.current().nextLong(),
                    PeerIdentity.ROLE_TOOL, () -> -1, this, SETTINGS));
        }
        return transport;
    }

    private static <T> T await(CompletableFuture<T> f, long deadline, String kind, InetSocketAddress at,
                               String late, Status.Code lateCode) {
        try {
            return f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw Status.of(lateCode, kind + " " + at + " " + late).asException();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof BatonException b ? b
                    : Status.of(Status.Code.UNAVAILABLE, kind + " " + at + ": " + e.getCause()).asException();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.of(Status.Code.CANCELLED, "interrupted").asException();
        }
    }

    // ------------------------------------------------------------------ transport callbacks (its I/O thread)

    @Override
    public void onOpen(TransportConnection c) {
        ((Target) c.attachment()).opened.complete(null);
    }

    @Override
    public void onFrame(TransportConnection c, InboundHeader h, Message frame) {
        Target t = (Target) c.attachment();
        if (h.type() == FrameType.GOAWAY) {
            // A closing node waits for its peers to hang up: the next question opens a new connection.
            MessageAccess.get().release(frame);
            t.goingAway = true;
            connections.values().remove(c);
            hangUpIfIdle(c, t);
            return;
        }
        Message payload = MessageAccess.get().own(frame);     // kept past this call
        CompletableFuture<Message> f = h.type() == FrameType.RESPONSE ? t.pending.remove(h.requestId()) : null;
        if (f == null) {
            payload.close();        // late (the asker gave up), or not an answer
        } else if (h.status() == 0) {
            if (!f.complete(payload)) {
                payload.close();
            }
        } else {
            String why = StandardCharsets.UTF_8.decode(payload.buffer()).toString();
            payload.close();
            f.completeExceptionally(Status.of(Status.Code.of(h.status()), why).asException());
        }
        hangUpIfIdle(c, t);
    }

    private static void hangUpIfIdle(TransportConnection c, Target t) {
        if (t.goingAway && t.pending.isEmpty()) {
            c.close();
        }
    }

    @Override
    public void onClose(TransportConnection c, BatonException cause) {
        Target t = (Target) c.attachment();
        connections.values().remove(c);
        t.opened.completeExceptionally(cause);
        BatonException lost = Status.of(Status.Code.UNAVAILABLE, "connection to " + c.remoteAddress() + " lost: "
                + cause.getMessage()).asException();
        t.pending.values().forEach(f -> f.completeExceptionally(lost));
    }

    @Override
    public void close() {
        Transport tr;
        synchronized (this) {
            closed = true;
            tr = transport;
        }
        if (tr != null) {
            tr.close();
        }
    }
}
