package dev.baton.spi;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The send queue of one connection: many threads {@link #offer} frames, one thread at a time (the
 * connection's writer) {@link #poll}s them, in offer order. Unbounded and intrusive: each frame is its own
 * link (a frame is in at most one queue at a time, which the {@link OutboundFrame} ownership rule guarantees),
 * so the queue allocates nothing per frame and an empty queue costs two references and one small object,
 * whatever load it carried before. The bounds on what may queue are the transport's accounting, not the
 * queue's (see {@link TransportConnection#offer}).
 *
 * <p>The algorithm is Dmitry Vyukov's intrusive multi-producer, single-consumer node queue: a producer swaps
 * itself in as the newest frame with one atomic exchange, then links the previous newest to itself; the
 * consumer follows the links from the oldest. Between the exchange and the link a producer's frame is
 * already queued but not yet reachable: {@link #poll} may then return null although the queue is not
 * empty. A writer that uses this queue must therefore be told of every offer after it completes (a
 * work-in-progress counter that the producer increments after {@code offer} returns, as
 * {@link dev.baton.spi.connection.FramedConnection} does), and look again when told.
 *
 * <p>Thread-safe for any number of producers; {@link #poll} must be serialised by the caller.
 */
public final class FrameQueue {

    private static final VarHandle NEXT;
    private static final VarHandle NEWEST;

    static {
        try {
            NEXT = MethodHandles.lookup().findVarHandle(OutboundFrame.class, "queueNext", OutboundFrame.class);
            NEWEST = MethodHandles.lookup().findVarHandle(FrameQueue.class, "newest", OutboundFrame.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Stands in for "no frame" at the consumer's end, so the queue is never truly empty of links. */
    private final OutboundFrame stub = new Stub();
    @SuppressWarnings("unused")         // through NEWEST
    private volatile OutboundFrame newest = stub;
    private OutboundFrame oldest = stub;    // the consumer's

    /** Adds {@code frame} as the newest. Never blocks, never fails; any thread. */
    public void offer(OutboundFrame frame) {
        NEXT.setRelease(frame, (OutboundFrame) null);
        OutboundFrame previous = (OutboundFrame) NEWEST.getAndSet(this, frame);
        NEXT.setRelease(previous, frame);
    }

    /**
     * Removes and returns the oldest frame, or null when none is reachable (the queue is empty, or a
     * producer is between its exchange and its link). One consumer at a time.
     */
    public OutboundFrame poll() {
        OutboundFrame first = oldest;
        OutboundFrame next = (OutboundFrame) NEXT.getAcquire(first);
        if (first == stub) {
            if (next == null) {
                return null;
            }
            oldest = next;
            first = next;
            next = (OutboundFrame) NEXT.getAcquire(next);
        }
        if (next != null) {
            oldest = next;
            return first;
        }
        if (first != NEWEST.getAcquire(this)) {
            return null;        // a producer has swapped itself in after `first` but not linked it yet
        }
        // `first` is the only frame: put the stub behind it, so taking `first` leaves a link to follow.
        offer(stub);
        next = (OutboundFrame) NEXT.getAcquire(first);
        if (next != null) {
            oldest = next;
            return first;
        }
        return null;
    }

    /** True when no frame is reachable; the same caveat as {@link #poll} applies. Consumer only. */
    public boolean isEmpty() {
        OutboundFrame first = oldest;
        return first == stub && NEXT.getAcquire(first) == null;
    }

    private static final class Stub extends OutboundFrame {
        @Override
        public void onWritten() {
        }

        @Override
        public void onDropped(dev.baton.BatonException cause) {
        }
    }
}
