package dev.baton.internal.tcp;

import dev.baton.BatonException;
import dev.baton.Message;
import dev.baton.Status;
import dev.baton.internal.buffer.BufferPool;
import dev.baton.internal.buffer.MessageAccess;
import dev.baton.internal.util.MpscArrayQueue;
import dev.baton.internal.wire.FrameCodec;
import dev.baton.spi.FrameType;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.TransportConnection;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP connection: the combining send path and the frame reader.
 *
 * <h2>Sending</h2>
 * Any thread calls {@link #offer}: the frame goes into a bounded multi-producer queue and the caller that
 * moves the work-in-progress counter from 0 becomes the <em>writer</em>. The writer drains the queue in
 * batches ({@link SendBatch}: small payloads copied next to their headers, large ones written from the
 * caller's buffer by a gathering write). When the socket would block, the writer role
 * passes to the I/O thread (OP_WRITE) and the caller returns; other callers only enqueue meanwhile.
 * During connect and handshake the I/O thread holds the writer role, so frames offered early just queue.
 *
 * <p>Batching on the I/O thread: while it dispatches a read batch it holds the writer role of the connection
 * it reads, so the answers (and follow-up calls) of the batch share writes, sent every
 * {@value #MID_BATCH_FLUSH_FRAMES} frames and at the end of the batch; a connection whose writer role it takes
 * meanwhile is written once at the end of the selector round ({@link IoLoop#deferFlush}).
 *
 * <h2>Receiving</h2>
 * One thread reads at a time: the I/O thread, or a caller that polls the connection while it spins for its
 * response ({@link #poll()}); the {@code reading} flag decides. Frames that fit the 64 KiB read buffer are
 * parsed in place and their payload copied once into a pooled buffer; a larger frame's payload is read
 * straight into its own pooled buffer.
 * The declared length is checked against the maximum before anything is allocated.
 */
final class TcpConnection implements TransportConnection, IoLoop.Handler {

    private static final System.Logger LOG = System.getLogger(TcpConnection.class.getName());
    /** The connection the calling thread is polling (dispatching frames of), if any. */
    private static final ThreadLocal<TcpConnection> POLLING = new ThreadLocal<>();
    private static final MessageAccess MESSAGES = MessageAccess.get();

    private static final int CONNECTING = 0;
    private static final int HANDSHAKE = 1;
    private static final int OPEN = 2;
    private static final int CLOSED = 3;

    private static final int READ_BUFFER_SIZE = 64 * 1024;
    private static final int MAX_READS_PER_EVENT = 16;
    private static final int MID_BATCH_FLUSH_FRAMES = 16;
    private static final int INITIAL_LARGE_ALLOCATION = BufferPool.MAX_POOLED_SIZE;

    private final TcpTransport transport;
    private final IoLoop loop;
    private final SocketChannel channel;
    private final String remoteAddress;
    private final boolean outbound;
    private final BufferPool pool;
    private final int maxMessageSize;
    private final AtomicInteger state = new AtomicInteger();
    private volatile BatonException closeCause;
    private volatile PeerIdentity remoteIdentity;
    private volatile Object attachment;
    private SelectionKey key;
    private final long createdNanos = System.nanoTime();

    // ---- send side: shared
    private final MpscArrayQueue<OutboundFrame> queue;
    private final AtomicInteger wip = new AtomicInteger(1);          // the I/O thread is the writer until OPEN
    private final AtomicLong queuedBytes = new AtomicLong();
    private final AtomicInteger queuedRequests = new AtomicInteger();
    private final AtomicInteger queuedFrames = new AtomicInteger();     // every frame held, requests or not
    private final Object capacityMonitor = new Object();
    private volatile int capacityWaiters;

    // ---- send side: owned by whoever holds the writer role
    private final SendBatch sendBatch = new SendBatch(this::frameWritten, this::frameDropped);

    // ---- reader state: owned by whoever holds `reading` (the I/O thread, or a polling caller)
    private final java.util.concurrent.atomic.AtomicBoolean reading = new java.util.concurrent.atomic.AtomicBoolean();
    /** True while the I/O thread dispatches a read batch holding the writer role (see readAsWriter). */
    private boolean dispatchingAsWriter;

    // ---- I/O thread only
    private boolean ioOwnsWriter = true;
    private volatile long lastReadNanos = System.nanoTime();
    private long lastPingNanos;
    private volatile long keepaliveIntervalNs;
    private volatile long keepaliveTimeoutNs;
    private final ByteBuffer readBuffer = ByteBuffer.allocateDirect(READ_BUFFER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    private final FrameHeader header = new FrameHeader();
    private final Runnable takeWriterRole = this::takeWriterRole;
    private ByteBuffer largeTarget;
    private int largeLength;

    TcpConnection(TcpTransport transport, IoLoop loop, SocketChannel channel, String remoteAddress, boolean outbound) {
        this.transport = transport;
        this.loop = loop;
        this.channel = channel;
        this.remoteAddress = remoteAddress;
        this.outbound = outbound;
        this.pool = transport.pool();
        this.maxMessageSize = transport.settings().maxMessageSize();
        // Requests are held to maxQueuedFrames; the rest of the ring is for responses and control frames,
        // which are bounded by the requests the peer has in progress here and must never be refused.
        this.queue = new MpscArrayQueue<>(2 * transport.settings().maxQueuedFrames());
        this.state.set(outbound ? CONNECTING : HANDSHAKE);
        keepalive(transport.settings().keepaliveIntervalMs(), transport.settings().keepaliveTimeoutMs());
    }

    // ------------------------------------------------------------------------------------------ set-up

    /** Registers with the loop and starts the handshake (or the connect). I/O thread. */
    void register(boolean connectPending) {
        try {
            key = channel.register(loop.selector(), connectPending ? SelectionKey.OP_CONNECT : SelectionKey.OP_READ, this);
            loop.addTickHandler(this);
            if (!connectPending) {
                startHandshake();
            }
        } catch (IOException | RuntimeException e) {
            markClosed(unavailable("cannot register connection to " + remoteAddress, e));
        }
    }

    private void startHandshake() throws IOException {
        state.compareAndSet(CONNECTING, HANDSHAKE);
        ByteBuffer hello = ByteBuffer.allocate(FrameCodec.PREFACE_LENGTH + FrameCodec.HEADER_LENGTH + FrameCodec.HELLO_LENGTH)
                .order(ByteOrder.LITTLE_ENDIAN);
        FrameCodec.putPreface(hello);
        int p = hello.position();
        hello.putInt(p, FrameCodec.HELLO_LENGTH).put(p + FrameCodec.OFF_TYPE, (byte) FrameType.HELLO);
        hello.position(p + FrameCodec.HEADER_LENGTH);
        hello.putLong(transport.context().nodeId())
                .putInt(transport.context().rank().getAsInt())
                .put((byte) transport.context().role())
                .put((byte) 0).putShort((short) 0)
                .putLong(maxMessageSize);
        hello.flip();
        // 72 bytes into an empty socket buffer: a short write here means the peer is not reading at all.
        channel.write(hello);
        if (hello.hasRemaining()) {
            throw new IOException("handshake could not be written");
        }
        key.interestOps(SelectionKey.OP_READ);
    }

    @Override
    public void onReady(SelectionKey k) throws IOException {
        int ready = k.readyOps();
        if ((ready & SelectionKey.OP_CONNECT) != 0) {
            finishConnect();
            return;
        }
        if ((ready & SelectionKey.OP_WRITE) != 0) {
            k.interestOps(k.interestOps() & ~SelectionKey.OP_WRITE);
            resumeWriting();
        }
        if ((ready & SelectionKey.OP_READ) != 0 && state.get() != CLOSED) {
            onReadable();
        }
    }

    private void finishConnect() {
        try {
            if (channel.finishConnect()) {
                startHandshake();
            }
        } catch (IOException e) {
            markClosed(unavailable("cannot connect to " + remoteAddress + ": " + e.getMessage(), null));
        }
    }

    @Override
    public void keepalive(long intervalMs, long timeoutMs) {
        keepaliveIntervalNs = Math.max(0, intervalMs) * 1_000_000L;
        keepaliveTimeoutNs = Math.max(0, timeoutMs) * 1_000_000L;
    }

    @Override
    public void onTick(long nowNanos) {
        int s = state.get();
        if (s == OPEN) {
            long silent = nowNanos - lastReadNanos;
            long timeout = keepaliveTimeoutNs;
            long interval = keepaliveIntervalNs;
            if (timeout > 0 && silent > timeout) {
                LOG.log(System.Logger.Level.WARNING, "closing connection {0}: nothing received for {1} ms",
                        remoteAddress, silent / 1_000_000L);
                markClosed(unavailable("connection to " + remoteAddress + " timed out: nothing received for "
                        + silent / 1_000_000L + " ms", null));
            } else if (interval > 0 && (silent > interval || nowNanos - sendBatch.lastWriteNanos() > interval)
                    && nowNanos - lastPingNanos > interval) {
                // Ping when we heard nothing (is the peer alive?) and when we sent nothing (the peer's own
                // timeout counts what it receives: a node that only listens must still renew its lease).
                lastPingNanos = nowNanos;
                offer(new ControlFrame(FrameType.PING, nowNanos));
            }
            return;
        }
        if ((s == CONNECTING || s == HANDSHAKE)
                && nowNanos - createdNanos > transport.settings().handshakeTimeoutMs() * 1_000_000L) {
            LOG.log(System.Logger.Level.WARNING, "closing connection {0}: no handshake within {1} ms",
                    remoteAddress, transport.settings().handshakeTimeoutMs());
            markClosed(unavailable("handshake with " + remoteAddress + " timed out", null));
        }
    }

    @Override
    public void onFailure(Throwable t) {
        if (t instanceof IOException) {
            markClosed(unavailable("connection to " + remoteAddress + " broke: " + t.getMessage(), null));
        } else {
            LOG.log(System.Logger.Level.ERROR, "unexpected error on connection " + remoteAddress, t);
            markClosed(Status.of(Status.Code.INTERNAL, "connection " + remoteAddress + ": " + t).withCause(t).asException());
        }
    }

    // ------------------------------------------------------------------------------------------ sending

    @Override
    public int offer(OutboundFrame frame) {
        if (state.get() == CLOSED) {
            return TransportConnection.CLOSED;
        }
        int size = frame.payloadSize();
        // Responses, cancels and pongs are bounded by the requests the peer sent us (which the runtime caps),
        // and refusing them would lose answers: only requests are held to the limits. The room is reserved
        // first and given back if that passed a limit, so concurrent offers can never pass one together.
        // (A request alone larger than the byte limit still goes when nothing else is queued.)
        boolean request = frame.frameType() == FrameType.REQUEST;
        long queued = queuedBytes.addAndGet(size);
        if (request) {
            int requests = queuedRequests.incrementAndGet();
            if (requests > transport.settings().maxQueuedFrames()
                    || (queued - size > 0 && queued > transport.settings().maxQueuedBytes())) {
                queuedRequests.decrementAndGet();
                queuedBytes.addAndGet(-size);
                return BACK_PRESSURED;
            }
        }
        queuedFrames.incrementAndGet();
        if (!queue.offer(frame)) {
            releaseQueued(frame);
            return BACK_PRESSURED;
        }
        if (wip.getAndIncrement() == 0 && !(loop.inLoop() && loop.deferFlush(this))) {
            writeLoop();
        }
        return OFFERED;
    }

    /** Writes what queued while the I/O thread held the writer role to the end of its round. Loop thread. */
    void flushDeferred() {
        writeLoop();
    }

    @Override
    public boolean awaitCapacity(int bytes, long deadlineNanos) throws InterruptedException {
        long max = transport.settings().maxQueuedBytes();
        synchronized (capacityMonitor) {
            capacityWaiters++;
            try {
                while (true) {
                    long queued = queuedBytes.get();
                    if (state.get() == CLOSED) {
                        return false;
                    }
                    if (queuedRequests.get() < transport.settings().maxQueuedFrames() && queuedFrames.get() < queue.capacity()
                            && (queued == 0 || queued + bytes <= max)) {
                        return true;
                    }
                    long waitNs = deadlineNanos - System.nanoTime();
                    if (waitNs <= 0) {
                        return false;
                    }
                    capacityMonitor.wait(Math.max(1, waitNs / 1_000_000L), (int) (waitNs % 1_000_000L));
                }
            } finally {
                capacityWaiters--;
            }
        }
    }

    private void releaseQueued(OutboundFrame f) {
        queuedBytes.addAndGet(-f.payloadSize());
        queuedFrames.decrementAndGet();
        if (f.frameType() == FrameType.REQUEST) {
            queuedRequests.decrementAndGet();
        }
        if (capacityWaiters > 0) {
            synchronized (capacityMonitor) {
                capacityMonitor.notifyAll();
            }
        }
    }

    /** Runs while this thread holds the writer role; returns having released it or handed it to the I/O thread. */
    private void writeLoop() {
        int seen;
        do {
            seen = wip.get();
            if (!flushAll()) {
                handOffToLoop();
                return;
            }
        } while (!wip.compareAndSet(seen, 0));
    }

    private void resumeWriting() {
        ioOwnsWriter = false;
        writeLoop();
    }

    private void handOffToLoop() {
        loop.execute(takeWriterRole);
    }

    /** On the I/O thread: the socket was full; write again once it is writable. One instance per connection. */
    private void takeWriterRole() {
        ioOwnsWriter = true;
        if (state.get() == CLOSED) {
            resumeWriting();
        } else {
            key.interestOps(key.interestOps() | SelectionKey.OP_WRITE);
        }
    }

    /** Writes until the queue is empty (true) or the socket is full (false). Writer only. */
    private boolean flushAll() {
        while (true) {
            if (state.get() == CLOSED) {
                sendBatch.dropAll(queue, closeCause != null ? closeCause
                        : unavailable("connection to " + remoteAddress + " closed", null));
                return true;
            }
            try {
                if (sendBatch.pending() && !sendBatch.write(channel)) {
                    return false;
                }
                PeerIdentity peer = remoteIdentity;
                if (!sendBatch.build(queue, peer == null ? Long.MAX_VALUE : peer.maxMessageSize())) {
                    return true;
                }
            } catch (IOException e) {
                markClosed(unavailable("write to " + remoteAddress + " failed: " + e.getMessage(), null));
            } catch (RuntimeException e) {
                // E.g. a caller changed a payload buffer it had handed over. Never leave the writer role
                // taken: close, and the next pass drops (or reports) every frame still held.
                LOG.log(System.Logger.Level.ERROR, "send path of " + remoteAddress + " failed; closing it", e);
                markClosed(Status.of(Status.Code.INTERNAL, "send path failed: " + e).withCause(e).asException());
            }
        }
    }

    private void frameWritten(OutboundFrame f) {
        releaseQueued(f);
        transport.frameWritten(f);
    }

    private void frameDropped(OutboundFrame f, BatonException cause) {
        releaseQueued(f);
        transport.frameDropped(f, cause);
    }

    @Override
    public long queuedBytes() {
        return queuedBytes.get();
    }

    // ------------------------------------------------------------------------------------------ receiving

    /**
     * Reads and dispatches. While it does, the I/O thread holds the writer role (when it is free), so the
     * answers inline handlers give to a whole batch of requests go out in one gathering write at the end
     * instead of one write each.
     */
    private void onReadable() throws IOException {
        if (!reading.compareAndSet(false, true)) {
            return;     // a caller is polling this connection right now; epoll reports again if data is left
        }
        try {
            readAsWriter();
        } finally {
            reading.set(false);
        }
    }

    private void readAsWriter() throws IOException {
        boolean writer = state.get() == OPEN && wip.getAndIncrement() == 0;
        dispatchingAsWriter = writer;
        try {
            readAndDispatch();
        } finally {
            dispatchingAsWriter = false;
            if (writer) {
                writeLoop();
            }
        }
    }

    /**
     * Reads and dispatches what has arrived, on the calling thread, if no other thread is reading. A caller
     * that spins for its response calls this instead of waiting for the I/O thread to wake up: on a machine
     * where a cross-core wake-up costs 20-40 µs, that is most of a round trip.
     */
    @Override
    public boolean poll() {
        if (state.get() != OPEN || !reading.compareAndSet(false, true)) {
            return false;
        }
        TcpConnection outer = POLLING.get();
        POLLING.set(this);
        try {
            long before = lastReadNanos;
            // Not as the writer: a handler or continuation run from here may send on this connection and
            // must be able to write it itself.
            readAndDispatch();
            return lastReadNanos != before;
        } catch (IOException e) {
            markClosed(unavailable("connection to " + remoteAddress + " broke: " + e.getMessage(), null));
            return false;
        } catch (RuntimeException e) {
            onFailure(e);
            return false;
        } finally {
            POLLING.set(outer);     // not remove(): the thread's entry stays, so the next poll allocates none
            reading.set(false);
        }
    }

    /** True while the calling thread dispatches frames through {@link #poll()}. */
    static boolean isPolling() {
        return POLLING.get() != null;
    }

    @Override
    public boolean readByCurrentThread() {
        return loop.inLoop() || POLLING.get() == this;
    }

    private void readAndDispatch() throws IOException {
        for (int i = 0; i < MAX_READS_PER_EVENT && state.get() != CLOSED; i++) {
            if (largeTarget != null) {
                int n = channel.read(largeTarget);
                if (n < 0) {
                    eof();
                    return;
                }
                if (n > 0) {
                    lastReadNanos = System.nanoTime();
                }
                if (!largeTarget.hasRemaining()) {
                    if (largeTarget.limit() < largeLength) {
                        growLargeTarget();
                        continue;
                    }
                    ByteBuffer target = largeTarget;
                    largeTarget = null;
                    deliver(MESSAGES.lend(target.limit(largeLength).position(0), pool));
                    continue;
                }
                if (n == 0) {
                    return;
                }
                continue;
            }
            int n = channel.read(readBuffer);
            if (n < 0) {
                eof();
                return;
            }
            if (n == 0) {
                return;
            }
            lastReadNanos = System.nanoTime();
            readBuffer.flip();
            try {
                parse();
            } finally {
                readBuffer.compact();
            }
        }
    }

    private void growLargeTarget() {
        ByteBuffer old = largeTarget;
        int size = (int) Math.min(largeLength, (long) old.capacity() * 2);
        ByteBuffer bigger = pool.acquire(size);
        bigger.put(0, old, 0, old.limit());
        bigger.limit(size).position(old.limit());
        pool.recycle(old);
        largeTarget = bigger;
    }

    private void eof() {
        markClosed(unavailable("connection closed by " + remoteAddress, null));
    }

    private void parse() {
        ByteBuffer b = readBuffer;
        if (state.get() == HANDSHAKE && !parseHandshake()) {
            return;
        }
        while (state.get() == OPEN && b.remaining() >= FrameCodec.HEADER_LENGTH) {
            int p = b.position();
            long length = Integer.toUnsignedLong(b.getInt(p + FrameCodec.OFF_LENGTH));
            int type = b.get(p + FrameCodec.OFF_TYPE);
            if (type <= FrameType.HELLO || type > FrameType.MAX) {
                protocolError("unknown frame type " + type);
                return;
            }
            if (length > maxMessageSize) {
                protocolError("frame declares " + length + " payload bytes, more than the maximum " + maxMessageSize);
                return;
            }
            header.read(b, p, (int) length);
            int len = (int) length;
            if (b.remaining() >= FrameCodec.HEADER_LENGTH + len) {
                Message payload;
                if (len == 0) {
                    payload = Message.empty();
                } else {
                    ByteBuffer target = pool.acquire(len);
                    target.put(0, b, p + FrameCodec.HEADER_LENGTH, len);
                    payload = MESSAGES.lend(target.limit(len).position(0), pool);
                }
                b.position(p + FrameCodec.HEADER_LENGTH + len);
                deliver(payload);
                if (dispatchingAsWriter && queuedFrames.get() >= MID_BATCH_FLUSH_FRAMES) {
                    // Send what the batch produced so far, so the peer works on it while we go on: 64
                    // pipelined calls, one connection: 0.76 M -> 1.2-1.3 M calls/s. (It costs syscalls:
                    // 4 x 64 calls spread over 2 servers, CPU-bound on 2 cores: 1.7 M -> 1.35 M.)
                    flushAll();
                }
            } else if (FrameCodec.HEADER_LENGTH + len > b.capacity()) {
                // Up to 16 MiB the payload's final buffer is allocated at once and read into directly (no
                // second copy for common large messages). Beyond that it grows (doubling) as bytes actually
                // arrive: a peer that declares a huge frame and sends little can make us reserve at most
                // 16 MiB on its connection, and only after a valid handshake.
                ByteBuffer target = pool.acquire(Math.min(len, INITIAL_LARGE_ALLOCATION));
                int have = b.remaining() - FrameCodec.HEADER_LENGTH;
                target.put(0, b, p + FrameCodec.HEADER_LENGTH, have);
                target.limit(Math.min(len, target.capacity())).position(have);
                b.position(b.limit());
                largeTarget = target;
                largeLength = len;
                return;
            } else {
                return;
            }
        }
    }

    private boolean parseHandshake() {
        ByteBuffer b = readBuffer;
        int p = b.position();
        if (b.remaining() >= 4 && b.getInt(p) != FrameCodec.MAGIC) {
            protocolError("bad preface: not a Baton peer");
            return false;
        }
        int total = FrameCodec.PREFACE_LENGTH + FrameCodec.HEADER_LENGTH + FrameCodec.HELLO_LENGTH;
        if (b.remaining() < FrameCodec.PREFACE_LENGTH) {
            return false;
        }
        int version = Short.toUnsignedInt(b.getShort(p + 4));
        if (version != FrameCodec.VERSION) {
            protocolError("unsupported protocol version " + version + " (this node speaks " + FrameCodec.VERSION + ")");
            return false;
        }
        if (b.remaining() < total) {
            return false;
        }
        int h = p + FrameCodec.PREFACE_LENGTH;
        if (b.get(h + FrameCodec.OFF_TYPE) != FrameType.HELLO || b.getInt(h) != FrameCodec.HELLO_LENGTH) {
            protocolError("expected HELLO");
            return false;
        }
        int q = h + FrameCodec.HEADER_LENGTH;
        long nodeId = b.getLong(q);
        int rank = b.getInt(q + 8);
        int role = b.get(q + 12);
        long peerMax = b.getLong(q + 16);
        b.position(p + total);
        remoteIdentity = new PeerIdentity(nodeId, rank, role, (int) Math.max(0, Math.min(Integer.MAX_VALUE, peerMax)));
        if (!state.compareAndSet(HANDSHAKE, OPEN)) {
            return false;
        }
        transport.connectionOpened(this);
        // The I/O thread held the writer role through the handshake: send what queued meanwhile.
        resumeWriting();
        return true;
    }

    private void deliver(Message payload) {
        // Liveness is the transport's business: PING is answered here, PONG only proves the peer alive.
        if (header.type == FrameType.PING) {
            MESSAGES.release(payload);
            offer(new ControlFrame(FrameType.PONG, header.requestId));
            return;
        }
        if (header.type == FrameType.PONG) {
            MESSAGES.release(payload);
            return;
        }
        transport.context().handler().onFrame(this, header, payload);
    }

    /** A PING or PONG: no payload, nothing to report back. */
    private static final class ControlFrame extends OutboundFrame {
        ControlFrame(int type, long id) {
            setHeader(type, 0, 0, id, 0, 0, 0, 0);
        }

        @Override
        public void onWritten() {
        }

        @Override
        public void onDropped(BatonException cause) {
        }
    }

    private void protocolError(String why) {
        LOG.log(System.Logger.Level.WARNING, "closing connection {0}: protocol error: {1}", remoteAddress, why);
        transport.protocolErrors.incrementAndGet();
        markClosed(Status.of(Status.Code.PROTOCOL_ERROR, remoteAddress + ": " + why).asException());
    }

    // ------------------------------------------------------------------------------------------ closing

    @Override
    public void close() {
        markClosed(Status.of(Status.Code.CLOSED, "connection to " + remoteAddress + " closed locally").asException());
    }

    /**
     * Any thread, idempotent. Closes the socket, reports the close, then lets the writer (whoever holds the
     * role) drop what was not sent.
     */
    private void markClosed(BatonException cause) {
        if (closeCause == null) {
            closeCause = cause;     // before CLOSED is visible, so a writer that sees CLOSED drops with it
        }
        int s;
        do {
            s = state.get();
            if (s == CLOSED) {
                return;
            }
        } while (!state.compareAndSet(s, CLOSED));
        if (key != null) {
            key.cancel();
        }
        try {
            channel.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing channel", e);
        }
        synchronized (capacityMonitor) {
            capacityMonitor.notifyAll();
        }
        // Reported from the loop's task queue, never inline: the thread that noticed may be a sender holding
        // its own locks (the master's coordination lock, say), and the handler takes others.
        loop.post(() -> transport.connectionClosed(this, cause));
        loop.execute(() -> {
            loop.removeTickHandler(this);
            if (largeTarget != null && reading.compareAndSet(false, true)) {
                pool.recycle(largeTarget);
                largeTarget = null;
                reading.set(false);
            }
            if (ioOwnsWriter) {
                resumeWriting();
            }
        });
        if (wip.getAndIncrement() == 0) {
            writeLoop();
        }
    }

    @Override
    public PeerIdentity remoteIdentity() {
        return remoteIdentity;
    }

    @Override
    public String remoteAddress() {
        return remoteAddress;
    }

    @Override
    public boolean isOpen() {
        return state.get() != CLOSED;
    }

    @Override
    public Object attachment() {
        return attachment;
    }

    @Override
    public void attach(Object attachment) {
        this.attachment = attachment;
    }

    @Override
    public String toString() {
        return "TcpConnection[" + remoteAddress + (outbound ? ", outbound" : ", inbound") + ", " + state.get() + "]";
    }

    private static BatonException unavailable(String message, Throwable cause) {
        Status s = Status.of(Status.Code.UNAVAILABLE, message);
        return (cause == null ? s : s.withCause(cause)).asException();
    }
}
