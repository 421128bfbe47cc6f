package dev.baton.testkit.tls;

import dev.baton.BatonException;
import dev.baton.Message;
import dev.baton.spi.FrameHandler;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.TransportSettings;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

/** A bare transport for TLS tests: records the connections it opens and why they close, and the frames it gets. */
final class TlsPeer implements FrameHandler, AutoCloseable {

    static final Duration WAIT = Duration.ofSeconds(10);

    final Transport transport;
    final BlockingQueue<TransportConnection> opened = new LinkedBlockingQueue<>();
    final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    private final Map<TransportConnection, CompletableFuture<BatonException>> closes = new ConcurrentHashMap<>();

    TlsPeer(TransportFactory factory, String name) {
        this(factory, name, TransportSettings.builder().build());
    }

    TlsPeer(TransportFactory factory, String name, TransportSettings settings) {
        this(factory, name, settings, ThreadLocalRandom.current().nextLong(1L << 40), -1);
    }

    /** A peer whose handshakes say it is the node {@code nodeId} of rank {@code rank}: any claim a test needs. */
    TlsPeer(TransportFactory factory, String name, TransportSettings settings, long nodeId, int rank) {
        transport = factory.create(new TransportContext("tls-test-" + name, nodeId, PeerIdentity.ROLE_NODE,
                () -> rank, this, settings));
    }

    InetSocketAddress listen() throws java.io.IOException {
        return transport.listen(new InetSocketAddress("127.0.0.1", 0));
    }

    TransportConnection connect(InetSocketAddress to) {
        return transport.connect(to, c -> null);
    }

    /** The next connection this side opened (its handshake completed), within {@link #WAIT}. */
    TransportConnection nextOpened() throws InterruptedException {
        TransportConnection c = opened.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertNotNull(c, "no connection opened within " + WAIT);
        return c;
    }

    /** Why {@code c} closed, waiting up to {@code within}. */
    BatonException closeCause(TransportConnection c, Duration within) throws Exception {
        try {
            return future(c).get(within.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            return fail(c + " did not close within " + within);
        }
    }

    /**
     * Connects to {@code to} and waits up to {@code within} for the handshake: null when it completed (the
     * connection is then closed again), else why the connection closed.
     */
    BatonException attempt(InetSocketAddress to, Duration within) {
        TransportConnection c = connect(to);
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() - deadline < 0) {
            if (opened.remove(c)) {
                c.close();
                return null;
            }
            try {
                return future(c).get(20, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException notYet) {
                // neither opened nor closed yet
            } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e);
            }
        }
        return fail(c + " neither opened nor closed within " + within);
    }

    byte[] nextReceived() throws InterruptedException {
        byte[] b = received.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertNotNull(b, "no frame arrived within " + WAIT);
        return b;
    }

    static void send(TransportConnection c, long id, byte[] payload) {
        OutboundFrame f = new OutboundFrame() {
            @Override
            public void onWritten() {
            }

            @Override
            public void onDropped(BatonException cause) {
            }
        };
        f.setHeader(FrameType.REQUEST, 0, 0, id, 1, 0, 0, 0);
        f.setPayload(ByteBuffer.wrap(payload));
        if (c.offer(f) != TransportConnection.OFFERED) {
            fail("could not offer a frame to " + c);
        }
    }

    /**
     * Sends the master at the other end of {@code c} a JOIN (method 1 of the control service 0, docs/protocol.md) that
     * says it is node {@code nodeId} asking for rank {@code rank}, named {@code name}, with no servers: what a node
     * that lost its master connection sends to take its place back. Returns the rank the master gave.
     */
    int join(TransportConnection c, long nodeId, int rank, String name) throws InterruptedException {
        ByteBuffer join = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN).putLong(nodeId).putInt(rank);
        for (Object field : new Object[] {"127.0.0.1", 9, name, "", 0}) {   // host, port, name, host id, servers
            if (field instanceof String text) {
                join.putInt(text.length()).put(text.getBytes(StandardCharsets.US_ASCII));
            } else {
                join.putInt((Integer) field);
            }
        }
        OutboundFrame frame = new OutboundFrame() {
            @Override
            public void onWritten() {
            }

            @Override
            public void onDropped(BatonException cause) {
            }
        };
        frame.setHeader(FrameType.REQUEST, 0, 0, 1, 0, -1, 1, 0);
        frame.setPayload(join.flip());
        if (c.offer(frame) != TransportConnection.OFFERED) {
            fail("could not offer the JOIN to " + c);
        }
        return ByteBuffer.wrap(nextReceived()).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    private CompletableFuture<BatonException> future(TransportConnection c) {
        return closes.computeIfAbsent(c, k -> new CompletableFuture<>());
    }

    @Override
    public void onOpen(TransportConnection connection) {
        opened.add(connection);
    }

    @Override
    public void onFrame(TransportConnection connection, InboundHeader header, Message payload) {
        try (payload) {
            ByteBuffer b = payload.buffer();
            byte[] copy = new byte[b.remaining()];
            b.duplicate().get(copy);
            received.add(copy);
        }
    }

    @Override
    public void onClose(TransportConnection connection, BatonException cause) {
        future(connection).complete(cause);
    }

    @Override
    public void close() {
        transport.close();
    }
}
