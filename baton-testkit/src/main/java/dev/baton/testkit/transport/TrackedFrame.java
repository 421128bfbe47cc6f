package dev.baton.testkit.transport;

import dev.baton.BatonException;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.TransportConnection;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A frame of the conformance suite that records its fate: how it was offered, then each {@code onWritten} and
 * {@code onDropped} the transport reports. The suite checks after every test that each frame offered ended exactly
 * once and each frame not taken never did.
 *
 * <p>Thread-safe.
 */
final class TrackedFrame extends OutboundFrame {

    /** {@link #offerResult()} of a frame never offered. */
    static final int NOT_OFFERED = -1;

    private final AtomicInteger fates = new AtomicInteger();
    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile int offerResult = NOT_OFFERED;
    private volatile boolean written;
    private volatile BatonException dropCause;

    TrackedFrame(int type, int flags, int status, long requestId, int serviceId, int serverId, int method,
                 long timeoutNs, ByteBuffer payload) {
        setHeader(type, flags, status, requestId, serviceId, serverId, method, timeoutNs);
        setPayload(payload);
    }

    /** Offers this frame on {@code c} and records the result. */
    int offerOn(TransportConnection c) {
        int r = c.offer(this);
        offerResult = r;
        return r;
    }

    int offerResult() {
        return offerResult;
    }

    @Override
    public void onWritten() {
        written = true;
        fates.incrementAndGet();
        ended.countDown();
    }

    @Override
    public void onDropped(BatonException cause) {
        dropCause = cause;
        fates.incrementAndGet();
        ended.countDown();
    }

    /** How many of onWritten and onDropped were reported (the contract: one if offered, else none). */
    int fates() {
        return fates.get();
    }

    boolean ended() {
        return fates.get() > 0;
    }

    boolean written() {
        return written;
    }

    /** The cause it was dropped with, or null. */
    BatonException dropCause() {
        return dropCause;
    }

    /** Waits for the frame's fate; fails after {@code timeout}. */
    TrackedFrame awaitEnd(Duration timeout) throws InterruptedException {
        if (!ended.await(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
            throw new AssertionError("frame " + frameRequestId() + " neither written nor dropped within " + timeout);
        }
        return this;
    }

    @Override
    public String toString() {
        return "TrackedFrame[type " + frameType() + ", id " + frameRequestId() + ", " + payloadSize() + " B, offer "
                + offerResult + ", fates " + fates.get() + (written ? ", written" : "")
                + (dropCause != null ? ", dropped: " + dropCause.getMessage() : "") + "]";
    }
}
