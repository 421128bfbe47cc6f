package dev.baton.shm;

import dev.baton.Message;
import dev.baton.spi.connection.OutOfBandBodies;

import java.nio.ByteBuffer;
import java.util.concurrent.Executor;

/**
 * The large-message path of one shared-memory connection: bodies of {@value #THRESHOLD} bytes or more go into
 * payload files beside the rings ({@link PayloadOutbox} this way, {@link PayloadInbox} the other), and the rings
 * carry only their descriptors. A 1 MiB echo then costs two copies (each body into its file) instead of four (into
 * the ring and out of it, each way), a body as large as the maximum message needs no ring of its size, and small
 * calls queued behind a large one wait only for its descriptor.
 *
 * <p>Made once both sides said in the ring file's header that they read payload files ({@link RingFile}).
 * Thread-safe.
 */
final class ShmPayloads implements OutOfBandBodies {

    /** Bodies from this size on go beside the ring: below it, the ring's copy costs less than a file's bookkeeping. */
    static final int THRESHOLD = 64 * 1024;

    private final PayloadOutbox outbox;
    private final PayloadInbox inbox;

    ShmPayloads(ShmDirectory directory, long budget, Executor later) {
        this.outbox = new PayloadOutbox(directory, budget);
        this.inbox = new PayloadInbox(directory, later);
    }

    @Override
    public int threshold() {
        return THRESHOLD;
    }

    @Override
    public int put(ByteBuffer body, ByteBuffer dst, int offset) {
        return outbox.put(body, dst, offset);
    }

    @Override
    public Message take(ByteBuffer src, int offset, int length, int maxLength) {
        return inbox.take(src, offset, length, maxLength);
    }

    /** Gives back what idleness allows: files this side no longer uses, files the peer retired. The loop's tick. */
    void tick(long nowNanos) {
        outbox.trim(nowNanos);
        inbox.sweep();
    }

    void close() {
        outbox.close();
        inbox.close();
    }
}
