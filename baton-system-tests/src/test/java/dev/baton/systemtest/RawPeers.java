package dev.baton.systemtest;

import dev.baton.spi.FrameType;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.connection.FrameLayout;
import dev.baton.spi.connection.Handshake;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.IntPredicate;
import java.util.stream.IntStream;

/**
 * A crowd of raw TCP connections from the test JVM to one node (or master), each following the same
 * {@link Script}: Baton's wire format written by hand, or no bytes at all. The peers a node must survive:
 * silent ones, slowloris ones that trickle their opening, ones that declare a huge frame and trickle it.
 *
 * <p>{@link #connect} connects the sockets one after another (blocking, on the calling thread), writes each
 * one's first bytes at once and hands it to the crowd's thread ({@code raw-peers-<port>}), which from then on
 * owns it: reads and discards whatever the node sends, notes when the node closes it (end of stream or reset)
 * and whether the node had sent anything before (a node sends its opening as soon as it admits a connection,
 * so one closed before any byte came was refused), and writes what the script says on its schedule.
 * {@link #close()} closes what is left (with a reset if asked: {@link #closeWithReset()}) and ends the thread.
 *
 * <p>Thread-safe: the counters may be read from any thread.
 */
final class RawPeers implements AutoCloseable {

    static final String THREAD_PREFIX = "raw-peers-";
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private static final long SELECT_MS = 5;
    private static final long KEEPALIVE_NS = 1_000_000_000L;
    private static final long NEVER = Long.MAX_VALUE / 4;

    /**
     * What each connection of a crowd does: writes {@code first} on connect, then {@code chunk} bytes of
     * {@code trickle} every {@code period} (until they run out; null: zeros forever), and with {@code keepalive}
     * a PING every second (so that the node's keepalive timeout never closes it).
     */
    record Script(byte[] first, byte[] trickle, int chunk, Duration period, boolean keepalive) {

        /** Connects and says nothing, ever. */
        static Script silent() {
            return new Script(new byte[0], new byte[0], 0, Duration.ZERO, false);
        }

        /** Completes the handshake, then says nothing at all. */
        static Script mute() {
            return new Script(opening(), new byte[0], 0, Duration.ZERO, false);
        }

        /** Completes the handshake, then says nothing but a PING a second: an idle peer. */
        static Script idle() {
            return new Script(opening(), new byte[0], 0, Duration.ZERO, true);
        }

        /** Slowloris: sends its opening one byte per {@code period}, never finishing it before the timeout. */
        static Script slowOpening(Duration period) {
            return new Script(new byte[0], opening(), 1, period, false);
        }

        /**
         * Completes the handshake, then sends the 40-byte header of a REQUEST that declares {@code length}
         * payload bytes, then {@code chunk} zero bytes of it every {@code period}, forever.
         */
        static Script trickledFrame(int length, int chunk, Duration period) {
            byte[] opening = opening();
            ByteBuffer b = ByteBuffer.allocate(opening.length + FrameLayout.HEADER_LENGTH)
                    .order(ByteOrder.LITTLE_ENDIAN);
            b.put(opening);
            FrameLayout.putHeader(b, length, FrameType.REQUEST, 0, 0, 1, 1, -1, 0, 0);
            return new Script(b.array(), null, chunk, period, false);
        }
        /** Not a Baton peer at all: {@code length} random bytes, then silence. */
        static Script garbage(Random random, int length) {
            byte[] bytes = new byte[length];
            random.nextBytes(bytes);
            return new Script(bytes, new byte[0], 0, Duration.ZERO, false);
        }

        /** The first {@code length} bytes of an opening (fewer than {@link Handshake#LENGTH}), then silence. */
        static Script truncatedOpening(int length) {
            return new Script(Arrays.copyOf(opening(), length), new byte[0], 0, Duration.ZERO, false);
        }

        /**
         * Completes the handshake, then sends the header of a REQUEST that declares {@code declared} payload bytes
         * (within the read buffer: no budget to reserve) and only part of them, then silence.
         */
        static Script truncatedFrame(Random random, int declared) {
            byte[] opening = opening();
            int sent = random.nextInt(declared);
            ByteBuffer b = ByteBuffer.allocate(opening.length + FrameLayout.HEADER_LENGTH + sent)
                    .order(ByteOrder.LITTLE_ENDIAN);
            b.put(opening);
            FrameLayout.putHeader(b, declared, FrameType.REQUEST, 0, 0, 1, 1, -1, 0, 0);
            return new Script(b.array(), new byte[0], 0, Duration.ZERO, false);
        }

        /**
         * Completes the handshake claiming a random role (node, master or tool) and a rank from -1 to 3 (those of
         * the first legitimate members), then sends {@code frames} frames of random types (known and unknown),
         * flags, ids and lengths (some beyond any limit, some negative), each header followed by up to 64 random
         * payload bytes whatever its length says, then silence.
         */
        static Script randomFrames(Random random, int frames) {
            byte[] opening = opening(random.nextLong(), random.nextInt(5) - 1, random.nextInt(3));
            ByteBuffer b = ByteBuffer.allocate(opening.length + frames * (FrameLayout.HEADER_LENGTH + 64))
                    .order(ByteOrder.LITTLE_ENDIAN);
            b.put(opening);
            for (int f = 0; f < frames; f++) {
                int payload = random.nextInt(65);
                int length = switch (random.nextInt(4)) {
                    case 0 -> payload;
                    case 1 -> random.nextInt(1 << 20);
                    case 2 -> Integer.MAX_VALUE - random.nextInt(16);
                    default -> random.nextInt();
                };
                FrameLayout.putHeader(b, length, random.nextInt(16), random.nextInt(256), random.nextInt(256),
                        random.nextLong(), random.nextInt(8), random.nextInt(8) - 1, random.nextInt(4), 0);
                byte[] bytes = new byte[payload];
                random.nextBytes(bytes);
                b.put(bytes);
            }
            return new Script(Arrays.copyOf(b.array(), b.position()), new byte[0], 0, Duration.ZERO, false);
        }
    }

    private final int port;
    private final Script script;
    private final SocketChannel[] channels;
    private final long[] connectedNanos;            // each written before its index is handed to the owner
    private final AtomicLongArray closedNanos;      // 0 while open (as far as the node is concerned)
    private final AtomicLongArray received;
    private final AtomicLongArray sent;
    private final AtomicInteger closedByNode = new AtomicInteger();
    private final Queue<Integer> handedOver = new ConcurrentLinkedQueue<>();
    private final long[] nextWriteNanos;            // owner thread only
    private final int[] owned;                      // owner thread only: the indexes it took, in order
    private int ownedCount;                         // owner thread only
    private final Selector selector;
    private final Thread owner;
    private volatile boolean stopping;
    private volatile boolean reset;
    private boolean closed;     // guarded by this

    private RawPeers(InetSocketAddress target, int count, Script script) throws IOException {
        this.port = target.getPort();
        this.script = script;
        channels = new SocketChannel[count];
        connectedNanos = new long[count];
        closedNanos = new AtomicLongArray(count);
        received = new AtomicLongArray(count);
        sent = new AtomicLongArray(count);
        nextWriteNanos = new long[count];
        owned = new int[count];
        selector = Selector.open();
        owner = Thread.ofPlatform().daemon(true).name(THREAD_PREFIX + port).unstarted(this::run);
    }

    /** The opening of a tool (rank -1): the preface and a HELLO. */
    static byte[] opening() {
        return opening(0x5EED_0000L, -1, PeerIdentity.ROLE_TOOL);
    }

    /** A valid opening that claims to be {@code role} with {@code rank} (which it may not be). */
    static byte[] opening(long nodeId, int rank, int role) {
        ByteBuffer b = ByteBuffer.allocate(Handshake.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        Handshake.encode(b, nodeId, rank, role, 0, 1 << 20);
        return b.array();
    }

    /**
     * Opens {@code count} connections to {@code target}, one after another; each writes {@code script}'s first
     * bytes as soon as it is connected and goes to the crowd's thread at once, so that a close by the node is
     * seen while the others still connect. Closes what it opened if one fails.
     */
    static RawPeers connect(InetSocketAddress target, int count, Script script) throws IOException {
        RawPeers peers = new RawPeers(target, count, script);
        peers.owner.start();
        try {
            for (int i = 0; i < count; i++) {
                SocketChannel ch = SocketChannel.open();
                peers.channels[i] = ch;
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ch.socket().connect(target, (int) CONNECT_TIMEOUT.toMillis());
                peers.connectedNanos[i] = System.nanoTime();
                ch.configureBlocking(false);
                ByteBuffer first = ByteBuffer.wrap(script.first());
                ch.write(first);        // a new socket's send buffer takes a few hundred bytes at once
                if (first.hasRemaining()) {
                    throw new IOException("the first " + first.limit() + " bytes did not fit into a new socket");
                }
                peers.sent.set(i, first.limit());
                peers.handedOver.add(i);
                peers.selector.wakeup();
            }
            return peers;
        } catch (IOException | RuntimeException e) {
            peers.close();
            throw e;
        }
    }

    int size() {
        return channels.length;
    }

    /** Connections the node has closed so far. */
    int closedByNode() {
        return closedByNode.get();
    }

    /** Connections the node closed before sending them anything: refused without a handshake. */
    int refused() {
        return (int) indexes(this::refused).count();
    }

    private boolean refused(int i) {
        return closedNanos.get(i) != 0 && received.get(i) == 0;
    }

    /** The fewest bytes any connection has written so far. */
    long minSent() {
        return IntStream.range(0, channels.length).mapToLong(sent::get).min().orElse(0);
    }

    /** The fewest bytes any connection has received from the node so far. */
    long minReceived() {
        return IntStream.range(0, channels.length).mapToLong(received::get).min().orElse(0);
    }

    /** For each connection the node closed, how long after its connect this side saw it, in ms; ascending. */
    long[] closedAfterMs() {
        return closedAfterMs(i -> closedNanos.get(i) != 0);
    }

    /** For each connection the node refused (closed before sending anything), ms from connect to close; ascending. */
    long[] refusedAfterMs() {
        return closedAfterMs(this::refused);
    }

    private long[] closedAfterMs(IntPredicate which) {
        return indexes(which).mapToLong(i -> (closedNanos.get(i) - connectedNanos[i]) / 1_000_000L).sorted().toArray();
    }

    private IntStream indexes(IntPredicate which) {
        return IntStream.range(0, channels.length).filter(which);
    }

    /** Waits until the node has closed at least {@code count} of these connections; returns how long it took. */
    Duration awaitClosedByNode(int count, Duration timeout) {
        return Wait.until(() -> closedByNode.get() >= count, timeout, () -> this + ": the node closed only "
                + closedByNode.get() + ", expected " + count);
    }

    private void run() {
        try {
            ByteBuffer sink = ByteBuffer.allocate(64 * 1024);
            while (!stopping) {
                for (Integer i; (i = handedOver.poll()) != null; ) {
                    channels[i].register(selector, SelectionKey.OP_READ, i);
                    nextWriteNanos[i] = connectedNanos[i] + firstDelayNanos();
                    owned[ownedCount++] = i;
                }
                selector.select(SELECT_MS);
                for (SelectionKey key : selector.selectedKeys()) {
                    drain(key, sink);
                }
                selector.selectedKeys().clear();
                writeDue(System.nanoTime());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("raw peers to port " + port + " failed", e);
        } catch (ClosedSelectorException e) {
            // closed under us: the test is over
        }
    }

    private long firstDelayNanos() {
        if (script.chunk() > 0) {
            return script.period().toNanos();
        }
        return script.keepalive() ? KEEPALIVE_NS : NEVER;
    }

    private void drain(SelectionKey key, ByteBuffer sink) {
        int i = (Integer) key.attachment();
        try {
            int n;
            while ((n = channels[i].read(sink.clear())) > 0) {
                received.addAndGet(i, n);
            }
            if (n < 0) {
                closedByNode(i, key);
            }
        } catch (IOException e) {
            closedByNode(i, key);       // reset by the node
        }
    }

    private void closedByNode(int i, SelectionKey key) {
        if (closedNanos.compareAndSet(i, 0, System.nanoTime())) {
            closedByNode.incrementAndGet();
        }
        if (key != null) {
            key.cancel();
        }
        closeQuietly(channels[i]);
    }

    private void writeDue(long now) {
        for (int k = 0; k < ownedCount; k++) {
            int i = owned[k];
            if (closedNanos.get(i) != 0 || now - nextWriteNanos[i] < 0) {
                continue;
            }
            try {
                if (script.chunk() > 0) {
                    nextWriteNanos[i] = now + script.period().toNanos();
                    sent.addAndGet(i, trickle(i));
                } else if (script.keepalive()) {
                    nextWriteNanos[i] = now + KEEPALIVE_NS;
                    sent.addAndGet(i, channels[i].write(ping()));
                } else {
                    nextWriteNanos[i] = NEVER;
                }
            } catch (IOException e) {
                closedByNode(i, channels[i].keyFor(selector));
            }
        }
    }

    /** Writes the next chunk (a full send buffer just takes fewer); returns the bytes written. */
    private int trickle(int i) throws IOException {
        byte[] bytes = script.trickle();
        if (bytes == null) {
            return channels[i].write(ByteBuffer.allocate(script.chunk()));
        }
        int from = (int) (sent.get(i) - script.first().length);
        int n = Math.min(script.chunk(), bytes.length - from);
        return n > 0 ? channels[i].write(ByteBuffer.wrap(bytes, from, n)) : 0;
    }

    private static ByteBuffer ping() {
        ByteBuffer b = ByteBuffer.allocate(FrameLayout.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        FrameLayout.putHeader(b, 0, FrameType.PING, 0, 0, 7, 0, 0, 0, 0);
        return b.flip();
    }

    /** Closes every connection with a reset (SO_LINGER 0) instead of an orderly end of stream. */
    void closeWithReset() {
        reset = true;
        close();
    }

    /** Ends the crowd's thread and closes every connection still open. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        stopping = true;
        selector.wakeup();
        try {
            owner.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (SocketChannel ch : channels) {
            if (ch == null) {
                continue;
            }
            if (reset && ch.isOpen()) {
                try {
                    ch.setOption(StandardSocketOptions.SO_LINGER, 0);
                } catch (IOException e) {
                    // reset by the node already: closing is all that is left
                }
            }
            closeQuietly(ch);
        }
        try {
            selector.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // a socket the node reset
        }
    }

    @Override
    public String toString() {
        return "RawPeers[port " + port + ", " + channels.length + " connections, " + closedByNode.get()
                + " closed by the node, " + refused() + " of them refused]";
    }
}
