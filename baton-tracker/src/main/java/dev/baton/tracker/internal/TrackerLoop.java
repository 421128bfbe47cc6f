package dev.baton.tracker.internal;

import com.google.gson.JsonObject;
import dev.baton.Status;
import dev.baton.tracker.TrackerOptions;
import jdk.net.ExtendedSocketOptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The tracker's one thread: a selector over the listening socket and every peer connection. It accepts (up to
 * {@code maxConnections}), reads and splits frames, hands messages to the {@link TrackerConductor}, writes
 * replies without ever blocking, and on a tick closes peers that stall (no magic, half a frame, or unread
 * replies for too long) and resumes accepting if accepting failed. Every bad peer costs only its own connection. Thread-safe where public: other threads
 * only post tasks ({@link #summary()}) and ask it to stop ({@link #close(Duration)}).
 */
public final class TrackerLoop implements TrackerConductor.Outbound, FrameDecoder.Sink {

    private static final int READ_BUFFER_BYTES = 64 * 1024;
    /** Reads of one connection per wake-up, so that one busy peer cannot starve the others. */
    private static final int MAX_READS_PER_WAKEUP = 8;
    /** Unread replies of one peer past which it gets no more: the next reply closes it instead. */
    static final long MAX_OUTBOUND_BYTES_PER_CONNECTION = 8L << 20;
    /** Bytes held for all peers together (unfinished frames and unread replies) before the next to grow is closed. */
    static final long MAX_BUFFERED_BYTES = 256L << 20;
    /** After an accept failure, how long before the next is logged at WARNING again (the others at DEBUG). */
    private static final long ACCEPT_WARNING_QUIET_NS = 60_000_000_000L;
    private static final int TCP_KEEPALIVE_IDLE_SECONDS = 30;
    private static final int TCP_KEEPALIVE_INTERVAL_SECONDS = 10;
    private static final int TCP_KEEPALIVE_COUNT = 3;

    /** Accepts one connection, or returns null if none is pending. */
    interface Acceptor {
        SocketChannel accept(ServerSocketChannel server) throws IOException;
    }

    /**
     * What the tests may change: the byte caps (to reach them with little data), the peers' socket send buffer
     * (0: the system's, which grows; a fixed small one makes replies wait in the tracker), and how connections
     * are accepted (to make accepting fail).
     */
    record Tuning(long maxOutboundBytesPerConnection, long maxBufferedBytes, int sendBufferBytes, Acceptor acceptor) {
        static final Tuning DEFAULT = new Tuning(MAX_OUTBOUND_BYTES_PER_CONNECTION, MAX_BUFFERED_BYTES, 0,
                ServerSocketChannel::accept);
    }

    private final TrackerOptions options;
    private final Tuning tuning;
    private final Counters counters;
    private final Selector selector;
    private final ServerSocketChannel server;
    private final InetSocketAddress address;
    private final TrackerConductor conductor;
    private final NativeConductor natives = new NativeConductor();
    private final PeerLog peerLog = new PeerLog();
    private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(READ_BUFFER_BYTES);
    private final LinkedHashSet<TvmConnection> connections = new LinkedHashSet<>();
    private final List<TvmConnection> failed = new ArrayList<>();
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final CountDownLatch terminatedLatch = new CountDownLatch(1);
    private final long frameTimeoutNs;
    private final long writeTimeoutNs;
    private final long tickNs;
    private volatile boolean stopping;
    private volatile boolean terminated;
    private long bufferedBytes;
    /** The connection whose bytes the decoder is feeding, for the {@link FrameDecoder.Sink} callbacks. */
    private TvmConnection reading;
    private long readingNowNs;
    private Thread thread;
    private SelectionKey acceptKey;
    /** Accepting is off (interest dropped) after a failure, since {@link #acceptPausedSinceNs}. */
    private boolean acceptPaused;
    private long acceptPausedSinceNs;
    private boolean acceptWarned;
    private long lastAcceptWarningNs;
    /** Accept failures since the last one logged at WARNING. */
    private long acceptFailuresUnwarned;

    private TrackerLoop(TrackerOptions options, Tuning tuning, Counters counters, Selector selector,
                        ServerSocketChannel server) throws IOException {
        this.options = options;
        this.tuning = tuning;
        this.counters = counters;
        this.selector = selector;
        this.server = server;
        this.address = (InetSocketAddress) server.getLocalAddress();
        this.frameTimeoutNs = options.frameTimeout().toNanos();
        this.writeTimeoutNs = options.writeTimeout().toNanos();
        this.tickNs = Math.clamp(Math.min(frameTimeoutNs, writeTimeoutNs) / 10, 5_000_000L, 250_000_000L);
        Duration wait = options.maxRequestWait();
        this.conductor = new TrackerConductor(this, counters, options.stopKey(), wait == null ? 0 : wait.toNanos(),
                natives);
    }

    /**
     * Binds as {@code options} say and starts the loop's thread. Throws {@link UncheckedIOException} if it cannot
     * listen (the port is taken, say), having released whatever it opened.
     */
    public static TrackerLoop start(TrackerOptions options, Counters counters) {
        return start(options, counters, Tuning.DEFAULT);
    }

    static TrackerLoop start(TrackerOptions options, Counters counters, Tuning tuning) {
        Selector selector = null;
        ServerSocketChannel server = null;
        try {
            selector = Selector.open();
            server = ServerSocketChannel.open();
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(options.bind(), 128);
            server.configureBlocking(false);
            SelectionKey acceptKey = server.register(selector, SelectionKey.OP_ACCEPT);
            TrackerLoop loop = new TrackerLoop(options, tuning, counters, selector, server);
            loop.acceptKey = acceptKey;
            loop.thread = Thread.ofPlatform().daemon(true).name("baton-tracker-" + loop.address.getPort())
                    .start(loop::run);
            return loop;
        } catch (IOException | RuntimeException e) {
            closeQuietly(server);
            closeQuietly(selector);
            if (e instanceof IOException io) {
                throw new UncheckedIOException("tracker: cannot listen on " + options.bind() + ": " + io.getMessage(),
                        io);
            }
            throw (RuntimeException) e;
        }
    }

    public InetSocketAddress address() {
        return address;
    }

    /** The summary, computed on the loop thread; fails with CLOSED if the tracker stops first. */
    public CompletableFuture<JsonObject> summary() {
        CompletableFuture<JsonObject> f = new CompletableFuture<>();
        tasks.add(() -> {
            if (stopping) {
                f.completeExceptionally(Status.Code.CLOSED.withDescription("the tracker is stopped").asException());
            } else {
                f.complete(conductor.summary());
            }
        });
        selector.wakeup();
        if (terminated) {   // the loop may have drained its tasks before this one was added
            f.completeExceptionally(Status.Code.CLOSED.withDescription("the tracker is stopped").asException());
        }
        return f;
    }

    /**
     * Runs {@code task} on the loop thread, with the Baton side's state ({@link NativeConductor}); false if the
     * tracker is stopped (the task will not run).
     */
    boolean post(java.util.function.Consumer<NativeConductor> task) {
        if (terminated) {
            return false;
        }
        tasks.add(() -> task.accept(natives));
        selector.wakeup();
        return true;
    }

    /** True once the loop has ended (closed, or stopped by a STOP message) and released its sockets. */
    public boolean isTerminated() {
        return terminated;
    }

    /** Waits for the loop to end; false if it did not within {@code timeout}. */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return terminatedLatch.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Stops the loop and waits up to {@code timeout} for it to end; false if it did not. Idempotent. */
    public boolean close(Duration timeout) {
        stopping = true;
        selector.wakeup();
        if (Thread.currentThread() == thread) {
            return false;
        }
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return awaitTermination(timeout);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void run() {
        try {
            long lastSweepNs = System.nanoTime();
            while (!stopping) {
                long now = System.nanoTime();
                long waitNs = Math.min(tickNs, Math.min(conductor.nanosToNextDeadline(now),
                        natives.nanosToNextDeadline(now)));
                selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(waitNs + 999_999)));
                runTasks();
                for (SelectionKey k : selector.selectedKeys()) {
                    onReady(k);
                    if (stopping) {
                        break;
                    }
                }
                selector.selectedKeys().clear();
                now = System.nanoTime();
                if (acceptPaused && now - acceptPausedSinceNs >= tickNs) {
                    acceptPaused = false;
                    acceptKey.interestOps(SelectionKey.OP_ACCEPT);   // try again, a tick after it failed
                }
                closeFailed();
                conductor.expire(now);
                natives.tick(now);
                closeFailed();
                if (now - lastSweepNs >= tickNs) {
                    lastSweepNs = now;
                    sweep(now);
                }
            }
        } catch (Throwable t) {
            PeerLog.LOG.log(System.Logger.Level.ERROR, "tracker: the loop failed and the tracker stops", t);
        } finally {
            shutdown();
        }
    }

    private void runTasks() {
        Runnable task;
        while ((task = tasks.poll()) != null) {
            task.run();
        }
    }

    private void onReady(SelectionKey k) {
        if (!k.isValid()) {
            return;
        }
        if (k.isAcceptable()) {
            accept();
            return;
        }
        TvmConnection c = (TvmConnection) k.attachment();
        if (k.isReadable()) {
            onReadable(c);
        }
        if (!c.released && k.isValid() && k.isWritable()) {
            onWritable(c);
        }
    }

    private void accept() {
        while (true) {
            SocketChannel ch;
            try {
                ch = tuning.acceptor().accept(server);
            } catch (IOException e) {
                pauseAccepting(e);
                return;
            }
            if (ch == null) {
                return;
            }
            long now = System.nanoTime();
            try {
                InetSocketAddress peer = (InetSocketAddress) ch.getRemoteAddress();
                if (connections.size() >= options.maxConnections()) {
                    counters.refused.incrementAndGet();
                    peerLog.closed(peer.getAddress(), "a connection from " + peer,
                            "the tracker has its maximum of " + options.maxConnections() + " connections open", now);
                    ch.close();
                    continue;
                }
                configure(ch);
                TvmConnection c = new TvmConnection(ch, peer, now, TvmWire.MAX_FRAME_BYTES);
                c.selectionKey = ch.register(selector, SelectionKey.OP_READ, c);
                connections.add(c);
                counters.accepted.incrementAndGet();
                counters.open.incrementAndGet();
            } catch (IOException e) {
                closeQuietly(ch);
            }
        }
    }

    /**
     * Accepting failed (out of file descriptors, say): the pending connection is still pending, so the selector
     * would report it again at once. Stop listening for it until the next tick, and log at most once a minute.
     */
    private void pauseAccepting(IOException e) {
        long now = System.nanoTime();
        acceptPaused = true;
        acceptPausedSinceNs = now;
        acceptKey.interestOps(0);
        if (!acceptWarned || now - lastAcceptWarningNs >= ACCEPT_WARNING_QUIET_NS) {
            PeerLog.LOG.log(System.Logger.Level.WARNING, "tracker: accepting a connection failed: {0}; accepting"
                    + " pauses for {1} ms each time it fails, and failures are logged at DEBUG for a minute ({2} were"
                    + " since the last warning)", e.toString(), tickNs / 1_000_000, acceptFailuresUnwarned);
            acceptWarned = true;
            lastAcceptWarningNs = now;
            acceptFailuresUnwarned = 0;
        } else {
            acceptFailuresUnwarned++;
            PeerLog.LOG.log(System.Logger.Level.DEBUG, "tracker: accepting a connection failed: {0}", e.toString());
        }
    }

    private void configure(SocketChannel ch) throws IOException {
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        if (tuning.sendBufferBytes() > 0) {
            ch.setOption(StandardSocketOptions.SO_SNDBUF, tuning.sendBufferBytes());
        }
        // A peer whose host dies or drops off the network sends no FIN: keepalive probes find it in about a
        // minute (where the platform lets us set them), and its servers and requests leave with it.
        ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
        setIfSupported(ch, ExtendedSocketOptions.TCP_KEEPIDLE, TCP_KEEPALIVE_IDLE_SECONDS);
        setIfSupported(ch, ExtendedSocketOptions.TCP_KEEPINTERVAL, TCP_KEEPALIVE_INTERVAL_SECONDS);
        setIfSupported(ch, ExtendedSocketOptions.TCP_KEEPCOUNT, TCP_KEEPALIVE_COUNT);
    }

    private static void setIfSupported(SocketChannel ch, SocketOption<Integer> option, int value) throws IOException {
        if (ch.supportedOptions().contains(option)) {
            ch.setOption(option, value);
        }
    }

    private void onReadable(TvmConnection c) {
        for (int i = 0; i < MAX_READS_PER_WAKEUP && !c.closed && !stopping; i++) {
            readBuffer.clear();
            int n;
            try {
                n = c.channel.read(readBuffer);
            } catch (IOException e) {
                close(c);   // reset by the peer: as normal a way to leave as a FIN
                return;
            }
            if (n < 0) {
                close(c);
                return;
            }
            if (n == 0) {
                return;
            }
            readBuffer.flip();
            reading = c;
            readingNowNs = System.nanoTime();
            try {
                c.decoder.feed(readBuffer, readingNowNs, this);
            } catch (ProtocolException e) {
                reject(c, e);
                return;
            } finally {
                reading = null;
            }
            int held = c.decoder.heldBytes();
            bufferedBytes += held - c.countedHeldBytes;
            c.countedHeldBytes = held;
            if (bufferedBytes > tuning.maxBufferedBytes()) {
                reject(c, new ProtocolException(ProtocolException.Kind.LIMIT, "the tracker holds over "
                        + tuning.maxBufferedBytes() + " bytes for its peers"));
                return;
            }
        }
    }

    @Override
    public void onMagic() {
        send(reading, TvmWire.magic());
    }

    @Override
    public void onFrame(byte[] body, int length) throws ProtocolException {
        if (reading.closed || stopping) {
            return;
        }
        TvmMessage m = TvmMessage.parse(TvmWire.parse(body, length));
        conductor.onMessage(reading, m, readingNowNs);
    }

    private void onWritable(TvmConnection c) {
        try {
            while (!c.out.isEmpty()) {
                ByteBuffer b = c.out.peek();
                int written = c.channel.write(b);
                c.outBytes -= written;
                bufferedBytes -= written;
                if (b.hasRemaining()) {
                    if (written > 0) {
                        c.writeBlockedSinceNs = System.nanoTime();   // progress: the peer reads, slowly
                    }
                    return;
                }
                c.out.poll();
            }
        } catch (IOException e) {
            close(c);
            return;
        }
        c.writeBlockedSinceNs = 0;
        c.selectionKey.interestOpsAnd(~SelectionKey.OP_WRITE);
    }

    @Override
    public boolean send(TvmConnection c, ByteBuffer frame) {
        if (c.closed) {
            return false;
        }
        if (c.out.isEmpty()) {
            try {
                c.channel.write(frame);
            } catch (IOException e) {
                fail(c);
                return false;
            }
            if (!frame.hasRemaining()) {
                return true;
            }
        }
        int n = frame.remaining();
        // The per-connection cap is on what already waits: one reply, however large, is always queued.
        String refused = c.outBytes >= tuning.maxOutboundBytesPerConnection()
                ? "it left " + c.outBytes + " bytes of replies unread, and " + n + " more would make "
                        + (c.outBytes + n) + " (at most " + tuning.maxOutboundBytesPerConnection() + " may wait)"
                : bufferedBytes + n > tuning.maxBufferedBytes()
                        ? "a reply of " + n + " bytes would take the tracker over the " + tuning.maxBufferedBytes()
                                + " bytes it holds for its peers"
                        : null;
        if (refused != null) {
            counters.protocolErrors.incrementAndGet();
            peerLog.closed(c.peer.getAddress(), c.toString(), refused, System.nanoTime());
            fail(c);
            return false;
        }
        c.out.add(frame);
        c.outBytes += n;
        bufferedBytes += n;
        if (c.writeBlockedSinceNs == 0) {
            c.writeBlockedSinceNs = System.nanoTime();
        }
        c.selectionKey.interestOpsOr(SelectionKey.OP_WRITE);
        return true;
    }

    @Override
    public void stop() {
        stopping = true;
    }

    /**
     * Marks {@code c} dead now: nothing more goes to it, and what it held in the tracker (free servers, requests)
     * leaves at once. Its socket is closed after the work being done (which may be a grant to it).
     */
    private void fail(TvmConnection c) {
        if (c.closed) {
            return;
        }
        c.closed = true;
        failed.add(c);
        conductor.onFail(c);
    }

    private void closeFailed() {
        for (int i = 0; i < failed.size(); i++) {
            close(failed.get(i));
        }
        failed.clear();
    }

    private void reject(TvmConnection c, ProtocolException e) {
        counters.protocolErrors.incrementAndGet();
        peerLog.closed(c.peer.getAddress(), c.toString(), e.kind() + ": " + e.getMessage(), System.nanoTime());
        close(c);
    }

    /** Closes peers that stalled: no magic, an unfinished frame, or unread replies, for too long. */
    private void sweep(long now) {
        List<TvmConnection> stalled = null;
        for (TvmConnection c : connections) {
            String why = null;
            if (!c.decoder.magicSeen() && now - c.openedNs > frameTimeoutNs) {
                why = "no tracker magic within " + options.frameTimeout().toMillis() + " ms of connecting";
            } else if (c.decoder.midFrame() && now - c.decoder.frameStartNs() > frameTimeoutNs) {
                why = "it stalled mid-frame for over " + options.frameTimeout().toMillis() + " ms";
            } else if (c.writeBlockedSinceNs != 0 && now - c.writeBlockedSinceNs > writeTimeoutNs) {
                why = "it did not read its replies for over " + options.writeTimeout().toMillis() + " ms";
            }
            if (why != null) {
                if (stalled == null) {
                    stalled = new ArrayList<>();
                }
                stalled.add(c);
                counters.stalled.incrementAndGet();
                peerLog.closed(c.peer.getAddress(), c.toString(), why, now);
            }
        }
        if (stalled != null) {
            stalled.forEach(this::close);
        }
    }

    private void close(TvmConnection c) {
        if (c.released) {
            return;
        }
        c.released = true;
        c.closed = true;
        connections.remove(c);
        conductor.onClose(c);
        bufferedBytes -= c.countedHeldBytes + c.outBytes;
        c.out.clear();
        c.outBytes = 0;
        if (c.selectionKey != null) {
            c.selectionKey.cancel();
        }
        closeQuietly(c.channel);
        counters.open.decrementAndGet();
    }

    private void shutdown() {
        stopping = true;
        for (TvmConnection c : new ArrayList<>(connections)) {
            flushQuietly(c);   // the last replies (a STOP's 0) go out if the socket takes them
            close(c);
        }
        closeQuietly(server);
        closeQuietly(selector);
        terminated = true;
        natives.reset();
        runTasks();   // they see stopping and fail with CLOSED
        terminatedLatch.countDown();
        PeerLog.LOG.log(System.Logger.Level.DEBUG, "tracker on {0} stopped", address);
    }

    private static void flushQuietly(TvmConnection c) {
        try {
            for (ByteBuffer b : c.out) {
                c.channel.write(b);
                if (b.hasRemaining()) {
                    return;
                }
            }
        } catch (IOException e) {
            // closing anyway
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException e) {
            // nothing left to do with it
        }
    }
}
