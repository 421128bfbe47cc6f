package dev.baton.internal.rpc;

import dev.baton.BatonException;
import dev.baton.Message;
import dev.baton.MessageStream;
import dev.baton.Status;
import dev.baton.spi.MessageAccess;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * One side of a stream: the messages the other side sent that wait to be received, the credit this side has to
 * send more, and how the stream stands. Both {@link ClientStreamImpl} and {@link ServerStreamImpl} are one of these
 * and a {@link Link} to the other side (frames on a connection, or the other side's flow in process).
 *
 * <h2>Flow control</h2>
 * Each side starts with {@value MessageStream#WINDOW} bytes of credit. Sending a message spends its size; a message
 * may go when it fits the credit, or when the credit is whole (nothing in flight: a message larger than the window
 * goes alone). The receiver gives the bytes back as its user takes messages: once it has a quarter of the window to
 * give, or whenever the queue runs empty (so a sender waiting for a large message's room is never stuck behind
 * credit held back). A peer that sends beyond its credit breaks the protocol: the stream fails.
 *
 * <h2>Threads</h2>
 * Inbound events come from an I/O thread (or, in process, the other side's threads); {@link #send} and
 * {@link #receive} from the user's, one sender and one receiver at a time. One lock guards the state; waits are
 * bounded by the deadline, and re-check {@code cancelled} every {@value #CHECK_MS} ms (the server's call may be
 * cancelled without telling this object).
 */
final class StreamFlow {

    /** What one side uses to reach the other. Calls are made without the flow's lock held, in order. */
    interface Link {
        /** Sends a copy of a message ({@code message} may be null with {@code halfClose}). False when it cannot. */
        boolean data(ByteBuffer message, boolean halfClose);

        /** Gives the other side {@code bytes} more credit. */
        void credit(int bytes);
    }

    private static final MessageAccess MESSAGES = MessageAccess.get();
    private static final long CHECK_MS = 5;
    private static final int RETURN_AT = MessageStream.WINDOW / 4;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Message> inbox = new ArrayDeque<>();
    private volatile long deadlineNanos;
    /** A reason to stop that nothing reports (the served call cancelled); null when there is none. */
    private final Supplier<Status> externalFailure;
    private Link link;
    private long buffered;          // bytes in the inbox
    private long unreturned;        // bytes taken from the inbox whose credit is not given back yet
    private long credit = MessageStream.WINDOW;
    private boolean peerFinished;   // the other side sends nothing more
    private boolean finished;       // this side sends nothing more
    private boolean ended;          // the stream ended successfully: nothing more may be sent either way
    private Status failure;         // set once; the stream is over

    StreamFlow(long deadlineNanos, Supplier<Status> externalFailure) {
        this.deadlineNanos = deadlineNanos;
        this.externalFailure = externalFailure;
    }

    long deadlineNanos() {
        return deadlineNanos;
    }

    /** Sets the deadline (the opening call's, once known), before the stream is used. */
    void deadline(long nanos) {
        this.deadlineNanos = nanos;
    }

    /** Connects this side to the other; sends and credits wait for it (set once, before the user sees the stream). */
    void link(Link l) {
        lock.lock();
        try {
            this.link = l;
        } finally {
            lock.unlock();
        }
    }

    // ================================================================== from the other side

    /**
     * A message arrived; false (the message released, the stream failed) when it overflows the credit the other
     * side had. The flow owns {@code m} from here.
     */
    boolean onMessage(Message m) {
        int size = m.size();
        lock.lock();
        try {
            if (failure != null) {
                MESSAGES.release(m);        // the stream is over: late data is dropped
                return true;
            }
            if (peerFinished) {
                MESSAGES.release(m);
                failLocked(Status.of(Status.Code.PROTOCOL_ERROR, "the peer sent data after it finished sending"));
                return false;
            }
            long outstanding = buffered + unreturned;
            if (outstanding > 0 && outstanding + size > MessageStream.WINDOW) {
                MESSAGES.release(m);
                failLocked(Status.of(Status.Code.PROTOCOL_ERROR, "the peer sent " + size + " bytes with "
                        + outstanding + " of a " + MessageStream.WINDOW + "-byte window not yet given back"));
                return false;
            }
            inbox.add(m);
            buffered += size;
            changed.signalAll();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** The other side sends nothing more: the receiver gets null once the inbox is empty. */
    void onPeerFinished() {
        lock.lock();
        try {
            peerFinished = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The stream ended successfully (the caller's side learns it from the answer): receive drains, send refuses. */
    void onEnded() {
        lock.lock();
        try {
            peerFinished = true;
            ended = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The other side took {@code bytes}: this side may send that much more. */
    void onCredit(long bytes) {
        if (bytes <= 0) {
            return;
        }
        lock.lock();
        try {
            credit = Math.min(MessageStream.WINDOW, credit + bytes);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The stream is over with {@code status} (the first one wins): waiters wake, queued messages are released. */
    void fail(Status status) {
        lock.lock();
        try {
            failLocked(status);
        } finally {
            lock.unlock();
        }
    }

    private void failLocked(Status status) {
        if (failure != null) {
            return;
        }
        failure = status;
        Message m;
        while ((m = inbox.poll()) != null) {
            MESSAGES.release(m);
        }
        buffered = 0;
        changed.signalAll();
    }

    /** The status the stream failed with, or null. */
    Status failure() {
        lock.lock();
        try {
            return failure;
        } finally {
            lock.unlock();
        }
    }

    // ================================================================== from the user

    void send(ByteBuffer message) {
        int size = message.remaining();
        Link l;
        lock.lock();
        try {
            while (true) {
                checkUsable();
                if (ended) {
                    throw Status.of(Status.Code.CLOSED, "the server ended the stream").asException();
                }
                if (finished) {
                    throw Status.of(Status.Code.CLOSED, "this side of the stream already finished sending").asException();
                }
                if (link != null && (size <= credit || credit >= MessageStream.WINDOW)) {
                    credit -= size;
                    l = link;
                    break;
                }
                await("room to send " + size + " bytes");
            }
        } finally {
            lock.unlock();
        }
        if (!l.data(message, false)) {       // the link copies it
            fail(Status.of(Status.Code.UNAVAILABLE, "the stream's connection closed"));
            throw failure().asException();
        }
    }

    /** This side sends nothing more. Idempotent; does nothing once the stream is over. */
    void finish() {
        Link l;
        lock.lock();
        try {
            if (finished || failure != null || link == null) {
                return;
            }
            finished = true;
            l = link;
        } finally {
            lock.unlock();
        }
        l.data(null, true);
    }

    Message receive() {
        Message m;
        int giveBack = 0;
        Link l;
        lock.lock();
        try {
            while (true) {
                if (failure != null) {
                    throw failure.asException();
                }
                m = inbox.poll();
                if (m != null) {
                    int size = m.size();
                    buffered -= size;
                    unreturned += size;
                    if (!peerFinished && (unreturned >= RETURN_AT || inbox.isEmpty())) {
                        giveBack = (int) unreturned;
                        unreturned = 0;
                    }
                    break;
                }
                if (peerFinished) {
                    return null;
                }
                checkUsable();
                await("a message");
            }
            l = link;
        } finally {
            lock.unlock();
        }
        if (giveBack > 0 && l != null) {
            l.credit(giveBack);
        }
        return m;
    }

    /** Throws when the stream cannot go on: failed, cancelled from outside, or past its deadline. Lock held. */
    private void checkUsable() {
        if (failure != null) {
            throw failure.asException();
        }
        Status external = externalFailure == null ? null : externalFailure.get();
        if (external != null) {
            failLocked(external);
            throw external.asException();
        }
        if (deadlineNanos - System.nanoTime() <= 0) {
            failLocked(Status.of(Status.Code.DEADLINE_EXCEEDED, "the stream's deadline passed"));
            throw failure.asException();
        }
    }

    private void await(String what) {
        long left = deadlineNanos - System.nanoTime();
        try {
            changed.await(Math.min(Math.max(left, 1), TimeUnit.MILLISECONDS.toNanos(CHECK_MS)), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            Status s = Status.of(Status.Code.CANCELLED, "interrupted while waiting for " + what);
            failLocked(s);
            throw new BatonException(s);
        }
    }
}
