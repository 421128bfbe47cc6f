package dev.baton.internal.registry;

import dev.baton.BatonException;
import dev.baton.Message;
import dev.baton.Status;
import dev.baton.internal.wire.ControlFrame;
import dev.baton.internal.wire.ControlProtocol;
import dev.baton.spi.MessageAccess;
import dev.baton.spi.FrameHandler;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.IntSupplier;

/**
 * One connection to the master, with request/response matching for control calls. Used by the node's
 * registry client, an observer's too (a tool's single questions go through {@link ToolProbe}). Owns a one-thread
 * transport of its own, made by the node's transport factory (so a TLS transport covers the control plane too),
 * so the control plane never competes with the data path's I/O threads.
 */
public final class ControlClient implements FrameHandler, AutoCloseable {

    /** The control connection's own transport: one I/O thread, no spinning, a short keepalive until JOIN. */
    private static final TransportSettings SETTINGS = TransportSettings.builder()
            .ioThreads(1)
            .maxMessageSize(64 << 20)
            .keepaliveInterval(Duration.ofMillis(100))
            .keepaliveTimeout(Duration.ofSeconds(3))
            .build();

    private final Transport transport;
    private final TransportConnection connection;
    private final Map<Long, CompletableFuture<Message>> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final Consumer<Message> eventSink;
    private final Consumer<Message> kvEventSink;
    private final Consumer<BatonException> closeSink;
    private final CompletableFuture<Void> opened = new CompletableFuture<>();

    /**
     * Connects to the master at {@code master}. {@code eventSink} gets each EVENT payload (on the I/O thread);
     * {@code closeSink} is told once when the connection is lost.
     */
    public ControlClient(String name, long nodeId, int role, IntSupplier rank, InetSocketAddress master,
                         TransportFactory transports, Consumer<Message> eventSink, Consumer<BatonException> closeSink) {
        this(name, nodeId, role, rank, master, transports, eventSink, Message::close, closeSink);
    }

    /**
     * As above; {@code kvEventSink} gets each KV_EVENT payload (watch notifications, on the I/O thread, in the
     * order the master sent them) and must close it.
     */
    public ControlClient(String name, long nodeId, int role, IntSupplier rank, InetSocketAddress master,
                         TransportFactory transports, Consumer<Message> eventSink, Consumer<Message> kvEventSink,
                         Consumer<BatonException> closeSink) {
        this.eventSink = eventSink;
        this.kvEventSink = kvEventSink;
        this.closeSink = closeSink;
        this.transport = transports.create(new TransportContext(name + "-ctl", nodeId, role, rank, this, SETTINGS));
        TransportConnection c;
        try {
            c = transport.connect(master, x -> null);
        } catch (RuntimeException e) {
            transport.close();
            throw e;
        }
        this.connection = c;
    }

    /** Waits for the handshake with the master. */
    public void awaitOpen(Duration timeout) {
        try {
            opened.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw Status.of(Status.Code.UNAVAILABLE, "master " + connection.remoteAddress() + " did not answer within "
                    + timeout.toMillis() + " ms").withRetrySafe(true).asException();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof BatonException b ? b
                    : Status.of(Status.Code.UNAVAILABLE, e.getCause().toString()).asException();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.of(Status.Code.CANCELLED, "interrupted").asException();
        }
    }

    /** Sends a control request; the future completes with the answer or a {@link BatonException}. */
    public CompletableFuture<Message> call(int method, ByteBuffer body) {
        long id = ids.incrementAndGet();
        CompletableFuture<Message> f = new CompletableFuture<>();
        f.whenComplete((m, err) -> {
            if (m != null && f.isCancelled()) {
                m.close();
            }
        });
        pending.put(id, f);
        int r = connection.offer(new ControlFrame(FrameType.REQUEST, 0, 0, id, method, body));
        if (r != TransportConnection.OFFERED) {
            pending.remove(id);
            f.completeExceptionally(Status.of(Status.Code.UNAVAILABLE, "master connection "
                    + (r == TransportConnection.CLOSED ? "closed" : "saturated")).withRetrySafe(true).asException());
        }
        return f;
    }

    /** {@link #call} and wait up to {@code timeout}. */
    public Message callSync(int method, ByteBuffer body, Duration timeout) {
        CompletableFuture<Message> f = call(method, body);
        try {
            return f.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            pending.values().remove(f);
            f.cancel(false);
            throw Status.of(Status.Code.DEADLINE_EXCEEDED, "master " + connection.remoteAddress()
                            + " did not answer within " + timeout.toMillis() + " ms")
                    .asException();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof BatonException b ? b
                    : Status.of(Status.Code.INTERNAL, e.getCause().toString()).withCause(e.getCause()).asException();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.of(Status.Code.CANCELLED, "interrupted").asException();
        }
    }

    public boolean isOpen() {
        return connection.isOpen();
    }

    /** Sets this connection's liveness check (the node's lease renewal). */
    public void keepalive(Duration interval, Duration timeout) {
        connection.keepalive(interval, timeout);
    }

    @Override
    public void onOpen(TransportConnection c) {
        opened.complete(null);
    }

    @Override
    public void onFrame(TransportConnection c, InboundHeader h, Message frame) {
        Message payload = MessageAccess.get().own(frame);     // kept past this call: answers, events
        if (h.type() == FrameType.RESPONSE) {
            CompletableFuture<Message> f = pending.remove(h.requestId());
            if (f == null) {
                payload.close();
            } else if (h.status() == 0) {
                if (!f.complete(payload)) {
                    payload.close();    // the caller gave up (cancelled) before the answer came
                }
            } else {
                String why = StandardCharsets.UTF_8.decode(payload.buffer()).toString();
                payload.close();
                f.completeExceptionally(Status.of(Status.Code.of(h.status()), why).asException());
            }
        } else if (h.type() == FrameType.REQUEST && h.method() == ControlProtocol.EVENT) {
            eventSink.accept(payload);
        } else if (h.type() == FrameType.REQUEST && h.method() == ControlProtocol.KV_EVENT) {
            kvEventSink.accept(payload);
        } else {
            payload.close();
        }
    }

    @Override
    public void onClose(TransportConnection c, BatonException cause) {
        opened.completeExceptionally(cause);
        BatonException lost = Status.of(Status.Code.UNAVAILABLE, "master connection lost: " + cause.getMessage())
                .asException();
        pending.values().forEach(f -> f.completeExceptionally(lost));
        pending.clear();
        closeSink.accept(cause);
    }

    @Override
    public void close() {
        transport.close();
    }
}
