package dev.baton.spi.connection;

import dev.baton.BatonException;
import dev.baton.Status;
import dev.baton.spi.FrameQueue;
import dev.baton.spi.FrameType;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportSettings;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The send side of a {@link FramedConnection}: the accounting that decides what {@code offer} accepts, and the
 * combining writer over the connection's byte sink.
 *
 * <p><b>Accounting.</b> REQUEST frames are held to {@code maxQueuedFrames} and {@code maxQueuedBytes}
 * ({@code BACK_PRESSURED} beyond); the room is reserved first and given back when that passed a limit, so
 * concurrent offers can never pass one together. Answers (RESPONSE, PONG) are never refused: the requests the
 * peer may have in progress bound them, so more than {@code maxConcurrentRequests} +
 * {@value TransportSettings#ANSWER_BACKLOG_RESERVE} of them unwritten means the peer sends but does not read,
 * and the connection is closed.
 *
 * <p><b>The writer role.</b> Any thread offers; the thread whose offer moves the work-in-progress counter
 * {@link #wip} from 0 becomes the writer and drains everyone's frames in {@link SendBatch}es, until the queue
 * is empty (it then gives the role back, looking again if anything was offered meanwhile) or the sink is full
 * (it hands the role to the loop thread, which writes again when the sink can take bytes). The loop holds the
 * role from the start until the handshake completes, so early frames just queue. Whoever holds the role after
 * a close drops what is left.
 */
final class CombiningWriter {

    /** Bytes written to the connection since it opened; only the writer role's holder adds to it. */
    private volatile long bytesWritten;
    private volatile long lastWriteNanos = System.nanoTime();
    private long bytesWrittenAtTick;        // the loop's tick only

    private static final System.Logger LOG = System.getLogger(CombiningWriter.class.getName());

    private final FramedConnection connection;
    private final FrameQueue queue = new FrameQueue();
    private final AtomicInteger wip = new AtomicInteger(1);          // the loop is the writer until OPEN
    private final AtomicLong queuedBytes = new AtomicLong();
    private final AtomicInteger queuedRequests = new AtomicInteger();
    private final AtomicInteger queuedAnswers = new AtomicInteger();
    private final Object capacityMonitor = new Object();
    private volatile int capacityWaiters;
    private final int maxQueuedFrames;
    private final long maxQueuedBytes;
    private final int maxQueuedAnswers;
    private final TransportCore core;

    // ---- owned by whoever holds the writer role
    private final SendBatch batch;
    private int wipAtFlush;             // wip when flushAll last began
    private long releasedBytes;         // room of frames written or dropped, not yet given back
    private int releasedRequests;
    private int releasedAnswers;

    // ---- the loop thread only
    private boolean loopOwnsRole = true;
    private final Runnable takeRole = this::takeRoleOnLoop;
    private final Runnable flushDeferred = this::writeLoop;

    CombiningWriter(FramedConnection connection, TransportCore core) {
        this.connection = connection;
        this.core = core;
        TransportSettings s = core.settings();
        this.maxQueuedFrames = s.maxQueuedFrames();
        this.maxQueuedBytes = s.maxQueuedBytes();
        this.maxQueuedAnswers = s.maxConcurrentRequests() + TransportSettings.ANSWER_BACKLOG_RESERVE;
        this.batch = new SendBatch(new Sink(), core.pool(), core::bufferHeld, new MessageCompression(core));
    }

    int offer(OutboundFrame frame) {
        if (connection.state() == FramedConnection.CLOSED) {
            return TransportConnection.CLOSED;
        }
        int size = frame.payloadSize();
        int type = frame.frameType();
        // (A request alone larger than the byte limit still goes when nothing else is queued.)
        long queued = queuedBytes.addAndGet(size);
        if (type == FrameType.REQUEST) {
            int requests = queuedRequests.incrementAndGet();
            if (requests > maxQueuedFrames || (queued - size > 0 && queued > maxQueuedBytes)) {
                queuedRequests.decrementAndGet();
                queuedBytes.addAndGet(-size);
                return TransportConnection.BACK_PRESSURED;
            }
        } else if (isAnswer(type) && queuedAnswers.incrementAndGet() > maxQueuedAnswers) {
            queuedAnswers.decrementAndGet();
            queuedBytes.addAndGet(-size);
            LOG.log(System.Logger.Level.WARNING, "closing connection {0}: more than {1} answers queued that it does "
                    + "not read", connection.remoteAddress(), maxQueuedAnswers);
            core.protocolError();
            connection.closeWith(Status.of(Status.Code.RESOURCE_EXHAUSTED, connection.remoteAddress()
                    + " does not read its answers").asException());
            return TransportConnection.CLOSED;
        }
        queue.offer(frame);
        ConnectionLoop loop = connection.loop();
        if (wip.getAndIncrement() == 0 && !(loop.inLoop() && loop.deferFlush(flushDeferred))) {
            writeLoop();
        }
        return TransportConnection.OFFERED;
    }

    private static boolean isAnswer(int type) {
        return type == FrameType.RESPONSE || type == FrameType.PONG;
    }

    boolean awaitCapacity(int bytes, long deadlineNanos) throws InterruptedException {
        synchronized (capacityMonitor) {
            capacityWaiters++;
            try {
                while (true) {
                    long queued = queuedBytes.get();
                    if (connection.state() == FramedConnection.CLOSED) {
                        return false;
                    }
                    if (queuedRequests.get() < maxQueuedFrames && (queued == 0 || queued + bytes <= maxQueuedBytes)) {
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

    /** Wakes callers waiting for capacity (the connection closed). */
    void wakeWaiters() {
        synchronized (capacityMonitor) {
            capacityMonitor.notifyAll();
        }
    }

    /** A frame left the queue (written or dropped): its room is given back with the batch's ({@link #giveBackRoom}). */
    private void released(OutboundFrame f) {
        releasedBytes += f.payloadSize();
        int type = f.frameType();
        if (type == FrameType.REQUEST) {
            releasedRequests++;
        } else if (isAnswer(type)) {
            releasedAnswers++;
        }
    }

    /**
     * Gives back the room of the frames released since the last call: one atomic update per counter for a whole
     * batch, not per frame. Writer only; at the end of every {@link #flushAll()}, so the room a batch frees is
     * counted free no later than the batch's writer gives up the role.
     */
    private void giveBackRoom() {
        if (releasedBytes == 0 && releasedRequests == 0 && releasedAnswers == 0) {
            return;
        }
        queuedBytes.addAndGet(-releasedBytes);
        if (releasedRequests != 0) {
            queuedRequests.addAndGet(-releasedRequests);
        }
        if (releasedAnswers != 0) {
            queuedAnswers.addAndGet(-releasedAnswers);
        }
        releasedBytes = 0;
        releasedRequests = 0;
        releasedAnswers = 0;
        if (capacityWaiters > 0) {
            wakeWaiters();
        }
    }

    long queuedBytes() {
        return queuedBytes.get();
    }

    /**
     * About how many frames were offered since the writer last flushed (or took the role): the work-in-progress
     * counter counts every offer while the role is held. Writer only.
     */
    int offeredSinceFlush() {
        return wip.get() - wipAtFlush;
    }

    /** When bytes last went out, to the loop's tick (as {@link FrameReader#lastReadNanos}). */
    long lastWriteNanos() {
        return lastWriteNanos;
    }

    /** On the loop's tick, before anything looks at {@link #lastWriteNanos()}. */
    void sampleActivity(long nowNanos) {
        long b = bytesWritten;
        if (b != bytesWrittenAtTick) {
            bytesWrittenAtTick = b;
            lastWriteNanos = nowNanos;
        }
    }

    boolean holdsBuffer() {
        return batch.holdsBuffer();
    }

    // ================================================================== the writer role

    /** Takes the writer role if it is free; the caller then ends with {@link #writeLoop()}. */
    boolean tryTakeRole() {
        return wip.getAndIncrement() == 0;
    }

    /** Runs while this thread holds the writer role; returns having released it or handed it to the loop. */
    void writeLoop() {
        int seen;
        do {
            seen = wip.get();
            if (!flushAll()) {
                connection.loop().execute(takeRole);
                return;
            }
            wipAtFlush = 0;     // for the next holder, whose count starts again from 0
        } while (!wip.compareAndSet(seen, 0));
    }

    /** On the loop thread: the sink was full; write again once it can take bytes. */
    private void takeRoleOnLoop() {
        loopOwnsRole = true;
        if (connection.state() == FramedConnection.CLOSED) {
            onWritable();
        } else {
            connection.requestWritable();
        }
    }

    /** The loop thread: the sink can take bytes again (or the handshake completed). */
    void onWritable() {
        loopOwnsRole = false;
        writeLoop();
    }

    /** The loop thread, after a close: if it holds the role waiting for the sink, it drops what is left. */
    void afterClose() {
        if (loopOwnsRole) {
            onWritable();
        }
    }

    /** After a close, any thread: whoever holds the role drops what is left; if nobody does, this thread. */
    void dropWhenFree() {
        if (wip.getAndIncrement() == 0) {
            writeLoop();
        }
    }

    /** The loop's tick: gives the send buffer back when the role is free and nothing went out for {@code idleNs}. */
    void releaseIfIdle(long nowNanos, long idleNs) {
        if (nowNanos - lastWriteNanos >= idleNs && wip.compareAndSet(0, 1)) {
            batch.releaseIfIdle();
            writeLoop();        // gives the role back (and writes what may have been offered meanwhile)
        }
    }

    /** Writes until the queue is empty (true) or the sink is full (false). Writer only. */
    boolean flushAll() {
        wipAtFlush = wip.get();
        try {
            return writeAll();
        } finally {
            giveBackRoom();
        }
    }

    private boolean writeAll() {
        while (true) {
            if (connection.state() == FramedConnection.CLOSED) {
                BatonException cause = connection.closeCause();
                batch.dropAll(queue, cause != null ? cause : FramedConnection.unavailable("connection to "
                        + connection.remoteAddress() + " closed", null));
                return true;
            }
            try {
                if (batch.pending() && !batch.write()) {
                    return false;
                }
                if (!batch.build(queue, connection.remoteIdentity())) {
                    return true;
                }
            } catch (IOException e) {
                connection.closeWith(FramedConnection.unavailable("write to " + connection.remoteAddress()
                        + " failed: " + e.getMessage(), null));
            } catch (RuntimeException e) {
                // E.g. a caller changed a payload buffer it had handed over. Never leave the writer role taken:
                // close, and the next pass drops (or reports) every frame still held.
                LOG.log(System.Logger.Level.ERROR, "send path of " + connection.remoteAddress() + " failed; closing it", e);
                connection.closeWith(Status.of(Status.Code.INTERNAL, "send path failed: " + e).withCause(e).asException());
            }
        }
    }

    long bytesWritten() {
        return bytesWritten;
    }

    /** The batch's sink: the connection's byte stream, and the frames' fates, with the accounting. */
    private final class Sink implements SendBatch.Sink {
        @Override
        public int write(ByteBuffer src) throws IOException {
            int n = connection.writeBytes(src);
            bytesWritten += n;      // only the writer role's holder writes it
            return n;
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            long n = connection.writeBytes(srcs, offset, length);
            bytesWritten += n;
            return n;
        }

        @Override
        public void written(OutboundFrame frame) {
            released(frame);
            TransportCore.written(frame);
        }

        @Override
        public void dropped(OutboundFrame frame, BatonException cause) {
            released(frame);
            TransportCore.dropped(frame, cause);
        }

        @Override
        public OutOfBandBodies outOfBand() {
            return connection.outOfBandBodies();
        }

        @Override
        public void wroteAside(int bytes) {
            bytesWritten += bytes;
        }
    }
}
