package dev.baton.testkit.transport;

import dev.baton.BatonException;
import dev.baton.Metadata;
import dev.baton.Message;
import dev.baton.spi.FrameHandler;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.MessageAccess;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;
import dev.baton.testkit.Wait;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The conformance suite's {@link FrameHandler}: records every event, and notes each breach of the handler's side
 * of the contract it can see (an event off the transport's threads, a frame before {@code onOpen} or after
 * {@code onClose}, a second {@code onClose}, a PING or PONG reaching the handler). It copies each payload and
 * gives the lent buffer back, as the runtime does.
 *
 * <p>A frame whose method is {@link #BLOCK} holds the thread that delivers it until {@code unblock} opens (or 30 s
 * pass): the suite's way to stall a transport's loop, so that new connections cannot complete their handshake and
 * frames stay queued.
 *
 * <p>Thread-safe.
 */
final class RecordingHandler implements FrameHandler {

    /** The method of a frame that stalls the thread delivering it. */
    static final int BLOCK = 0xB10C;
    private static final MessageAccess MESSAGES = MessageAccess.get();

    /** What {@code onFrame} saw, and on which thread. */
    record Received(TransportConnection connection, int type, int flags, int status, long requestId, int serviceId,
                    int serverId, int method, long timeoutNs, byte[] payload, Metadata metadata, Thread thread,
                    boolean readByCurrentThread) {
    }

    private final CountDownLatch unblock;
    private final CountDownLatch blocked = new CountDownLatch(1);
    private volatile Transport transport;
    private volatile Consumer<Received> action = r -> { };
    private final List<TransportConnection> opened = new CopyOnWriteArrayList<>();
    private final Set<TransportConnection> openedSet = ConcurrentHashMap.newKeySet();
    private final Queue<Received> frames = new ConcurrentLinkedQueue<>();
    private final AtomicInteger frameCount = new AtomicInteger();
    private final Map<Long, Received> byRequestId = new ConcurrentHashMap<>();
    private final Map<TransportConnection, BatonException> closeCauses = new ConcurrentHashMap<>();
    private final Map<TransportConnection, Integer> closeCounts = new ConcurrentHashMap<>();
    private final List<String> violations = new CopyOnWriteArrayList<>();

    RecordingHandler(CountDownLatch unblock) {
        this.unblock = unblock;
    }

    void transport(Transport transport) {
        this.transport = transport;
    }

    /** Runs {@code action} for every frame after it was recorded, on the delivering thread. */
    void onEachFrame(Consumer<Received> action) {
        this.action = action;
    }

    // ------------------------------------------------------------------ FrameHandler

    @Override
    public void onOpen(TransportConnection c) {
        onTransportThread("onOpen");
        if (c.remoteIdentity() == null) {
            violations.add("onOpen before the peer's identity was known: " + c);
        }
        if (!openedSet.add(c)) {
            violations.add("onOpen twice for " + c);
        }
        if (closeCounts.containsKey(c)) {
            violations.add("onOpen after onClose for " + c);
        }
        opened.add(c);
    }

    @Override
    public void onFrame(TransportConnection c, InboundHeader h, Message payload) {
        onTransportThread("onFrame");
        if (!openedSet.contains(c)) {
            violations.add("a frame (type " + h.type() + ", id " + h.requestId() + ") before onOpen on " + c);
        }
        if (closeCounts.containsKey(c)) {
            violations.add("a frame after onClose on " + c);
        }
        int type = h.type();
        if (type == FrameType.PING || type == FrameType.PONG || type == FrameType.HELLO) {
            violations.add("frame type " + type + " reached the handler: it is the transport's own business");
        }
        if (payload.size() != h.length()) {
            violations.add("header length " + h.length() + " but a payload of " + payload.size() + " bytes");
        }
        Received r = new Received(c, type, h.flags(), h.status(), h.requestId(), h.serviceId(), h.serverId(),
                h.method(), h.timeoutNs(), payload.toByteArray(), h.metadata(), Thread.currentThread(),
                c.readByCurrentThread());
        MESSAGES.release(payload);
        byRequestId.putIfAbsent(r.requestId(), r);
        frames.add(r);
        frameCount.incrementAndGet();
        if (r.method() == BLOCK) {
            blocked.countDown();
            try {
                if (!unblock.await(30, TimeUnit.SECONDS)) {
                    violations.add("a BLOCK frame was never released");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        action.accept(r);
    }

    @Override
    public void onClose(TransportConnection c, BatonException cause) {
        onTransportThread("onClose");
        closeCauses.putIfAbsent(c, cause);
        if (closeCounts.merge(c, 1, Integer::sum) > 1) {
            violations.add("onClose twice for " + c);
        }
    }

    private void onTransportThread(String event) {
        Transport t = transport;
        if (t != null && !t.inTransportThread()) {
            violations.add(event + " on " + Thread.currentThread().getName() + ", which the transport does not "
                    + "count as its own (inTransportThread() is false there)");
        }
    }

    // ------------------------------------------------------------------ what was recorded

    List<TransportConnection> opened() {
        return List.copyOf(opened);
    }

    List<Received> frames() {
        return List.copyOf(frames);
    }

    /** The frames that arrived on {@code c}, in order. */
    List<Received> framesOn(TransportConnection c) {
        return frames.stream().filter(r -> r.connection() == c).toList();
    }

    /** Waits until at least {@code n} frames arrived in all; returns them all. */
    List<Received> awaitFrames(int n, Duration timeout) {
        Wait.until(() -> frameCount.get() >= n, timeout, () -> n + " frames (have " + frameCount.get() + ")");
        return frames();
    }

    /** Waits until a frame with {@code requestId} arrived; returns the first that did. */
    Received awaitFrame(long requestId, Duration timeout) {
        Wait.until(() -> byRequestId.containsKey(requestId), timeout, () -> "frame " + requestId);
        return byRequestId.get(requestId);
    }

    /** Waits until the frame with method {@link #BLOCK} holds a thread of the transport. */
    void awaitBlocked(Duration timeout) throws InterruptedException {
        if (!blocked.await(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
            throw new AssertionError("the BLOCK frame did not arrive within " + timeout);
        }
    }

    boolean closed(TransportConnection c) {
        return closeCounts.containsKey(c);
    }

    /** Waits until {@code onClose} was called for {@code c}; returns its cause. */
    BatonException awaitClosed(TransportConnection c, Duration timeout) {
        Wait.until(() -> closeCounts.containsKey(c), timeout, () -> "onClose of " + c);
        return closeCauses.get(c);
    }

    /** How many times {@code onClose} was called for {@code c}. */
    int closeCount(TransportConnection c) {
        return closeCounts.getOrDefault(c, 0);
    }

    /** How many connections were reported closed. */
    int closedConnections() {
        return closeCounts.size();
    }

    List<String> violations() {
        return List.copyOf(violations);
    }
}
