package dev.baton.testkit.transport;

import dev.baton.NodeInfo;
import dev.baton.spi.FrameType;
import dev.baton.spi.HostIdentity;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.TransportSettings;
import dev.baton.testkit.Wait;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;
import java.util.function.IntSupplier;

/**
 * What one conformance test runs on: the transports it made from the factory under test (each an {@link Endpoint}
 * with its {@link RecordingHandler}), the frames it offered, and the latch that releases a stalled loop. Closing it
 * closes every transport, then checks what every test must leave true: no thread of its transports alive, no
 * breach of the handler contract, and every frame offered written or dropped exactly once (and every frame not
 * taken, never).
 *
 * <p>Thread names: a transport names its threads after {@link TransportContext#name()}; each fixture's names start
 * with a prefix of their own, so its leak check sees only its own threads.
 */
final class ConformanceFixture implements AutoCloseable {

    static final Duration WAIT = Duration.ofSeconds(10);
    private static final AtomicInteger FIXTURES = new AtomicInteger();
    private static final AtomicLong NODE_IDS = new AtomicLong(ThreadLocalRandom.current().nextLong(1L << 40));

    private final TransportFactory factory;
    private final String prefix = "conformance-" + FIXTURES.incrementAndGet() + "-";
    private final List<Endpoint> endpoints = new ArrayList<>();
    private final Queue<TrackedFrame> frames = new ConcurrentLinkedQueue<>();
    private final CountDownLatch unblock = new CountDownLatch(1);

    ConformanceFixture(TransportFactory factory) {
        this.factory = factory;
    }

    /**
     * One transport under test, listening on 127.0.0.1 (a free port), and the handler that records its events.
     * {@code node} is how a node would see it in the membership: its node id, address and this host's identity.
     */
    record Endpoint(String name, Transport transport, RecordingHandler handler, NodeInfo node) {

        InetSocketAddress address() {
            return node.address();
        }

        /** Connects to {@code server} as a node connects to a member: by its membership entry. */
        TransportConnection connect(Endpoint server) {
            return transport.connect(server.node(), c -> null);
        }

        /** Connects to a bare address, as a node connects to its master. */
        TransportConnection connect(InetSocketAddress remote) {
            return transport.connect(remote, c -> null);
        }
    }

    /** A client and a server connection of one connection, once both ends are open. */
    record Link(TransportConnection client, TransportConnection server) {
    }

    /** Settings as the suite's transports start from: defaults, with no keepalive PINGs to muddle the counts. */
    static TransportSettings.Builder settings() {
        return TransportSettings.builder().keepaliveInterval(Duration.ZERO).keepaliveTimeout(Duration.ZERO);
    }

    TransportFactory factory() {
        return factory;
    }

    /** A transport under test with the suite's {@link #settings()}. */
    Endpoint endpoint(String name) {
        return endpoint(name, settings().build());
    }

    Endpoint endpoint(String name, TransportSettings settings) {
        return endpoint(name, NODE_IDS.incrementAndGet(), PeerIdentity.ROLE_NODE, () -> 0, settings);
    }

    Endpoint endpoint(String name, long nodeId, int role, IntSupplier rank, TransportSettings settings) {
        RecordingHandler handler = new RecordingHandler(unblock);
        Transport t = factory.create(new TransportContext(prefix + name, nodeId, role, rank, handler, settings));
        handler.transport(t);
        try {
            InetSocketAddress address = t.listen(new InetSocketAddress("127.0.0.1", 0));
            Endpoint e = new Endpoint(name, t, handler, new NodeInfo(-1, nodeId, address, name, HostIdentity.current()));
            endpoints.add(e);
            return e;
        } catch (IOException | RuntimeException ex) {
            t.close();
            throw ex instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) ex;
        }
    }

    /** Connects {@code client} to {@code server} and waits until both ends are open. One connect at a time. */
    Link open(Endpoint client, Endpoint server) {
        int before = server.handler().opened().size();
        TransportConnection c = client.connect(server);
        Wait.until(() -> client.handler().opened().contains(c) && server.handler().opened().size() > before, WAIT,
                () -> "both ends of a connection from " + client.name() + " to " + server.name() + " open");
        return new Link(c, server.handler().opened().get(before));
    }

    /**
     * Stalls {@code server}'s loop (it must have one I/O thread): a BLOCK frame over a new connection from
     * {@code client} holds it until {@link #unblock()}. Until then new connections to {@code server} cannot complete
     * their handshake, so what is offered on them stays queued.
     */
    Link stall(Endpoint client, Endpoint server) throws InterruptedException {
        Link link = open(client, server);
        TrackedFrame block = frame(FrameType.REQUEST, 0, 0);
        block.setHeader(FrameType.REQUEST, FrameType.FLAG_ONE_WAY, 0, 0, 0, 0, RecordingHandler.BLOCK, 0);
        if (block.offerOn(link.client()) != TransportConnection.OFFERED) {
            throw new AssertionError("the BLOCK frame was not taken");
        }
        server.handler().awaitBlocked(WAIT);
        return link;
    }

    /** {@link TransportConnection#awaitCapacity} for 10 bytes, from now until {@code timeout}. */
    static boolean awaitCapacity(TransportConnection c, Duration timeout) {
        try {
            return c.awaitCapacity(10, System.nanoTime() + timeout.toNanos());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Releases a loop {@link #stall stalled}. */
    void unblock() {
        unblock.countDown();
    }

    /** A frame of {@code type} and {@code requestId} with a payload of {@code size} bytes (byte i is i * 31 + id). */
    TrackedFrame frame(int type, long requestId, int size) {
        return track(new TrackedFrame(type, 0, 0, requestId, 1, 0, 1, 0, payload(requestId, size)));
    }

    /** The payload {@link #frame} gives a frame of {@code requestId} and {@code size}. */
    static ByteBuffer payload(long requestId, int size) {
        ByteBuffer payload = ByteBuffer.allocate(size);
        for (int i = 0; i < size; i++) {
            payload.put(i, (byte) (i * 31 + requestId));
        }
        return payload;
    }

    /** Tracks a frame the test made itself, so the end-of-test check covers it. */
    TrackedFrame track(TrackedFrame f) {
        frames.add(f);
        return f;
    }

    /** Threads a test runs besides its own: {@link #join} waits for them and reports the first failure. */
    static final class Workers {
        private final List<Thread> threads = new ArrayList<>();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        /** Runs {@code body.accept(i)} on each of {@code n} new threads. */
        static Workers start(int n, IntConsumer body) {
            Workers w = new Workers();
            for (int i = 0; i < n; i++) {
                int index = i;
                w.threads.add(Thread.ofPlatform().name("conformance-worker-" + i).start(() -> {
                    try {
                        body.accept(index);
                    } catch (Throwable t) {
                        w.failure.compareAndSet(null, t);
                    }
                }));
            }
            return w;
        }

        /** Waits until every thread ended; fails if one is still running after {@code timeout} or one failed. */
        void join(Duration timeout) throws InterruptedException {
            long end = System.nanoTime() + timeout.toNanos();
            for (Thread t : threads) {
                t.join(Duration.ofNanos(Math.max(1, end - System.nanoTime())));
                if (t.isAlive()) {
                    throw new AssertionError(t.getName() + " still running after " + timeout);
                }
            }
            if (failure.get() != null) {
                throw new AssertionError("a worker failed", failure.get());
            }
        }
    }

    /** Live threads of this fixture's transports. */
    List<String> liveThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().contains(prefix)).map(Thread::getName).sorted().toList();
    }

    /** Closes every transport (latest first), then checks threads, handler contract and frame fates. */
    @Override
    public void close() {
        unblock();
        for (int i = endpoints.size() - 1; i >= 0; i--) {
            endpoints.get(i).transport().close();
        }
        Wait.until(() -> liveThreads().isEmpty(), WAIT, () -> "the transports' threads gone " + liveThreads());
        List<String> problems = new ArrayList<>();
        for (Endpoint e : endpoints) {
            for (String v : e.handler().violations()) {
                problems.add(e.name() + ": " + v);
            }
            if (e.transport().stats().openConnections() != 0) {
                problems.add(e.name() + ": connections still open after close: " + e.transport().stats());
            }
        }
        for (TrackedFrame f : frames) {
            int expected = f.offerResult() == TransportConnection.OFFERED ? 1 : 0;
            if (f.fates() != expected) {
                problems.add("expected " + expected + " of onWritten/onDropped, got " + f.fates() + ": " + f);
            }
        }
        if (!problems.isEmpty()) {
            throw new AssertionError("the transports broke the SPI contract:\n  " + String.join("\n  ", problems));
        }
    }
}
