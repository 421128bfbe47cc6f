package dev.baton.testkit.transport;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The connections of one {@link LoopbackLoop} that have something to do (bytes to read, room to write), in the
 * order they were signalled: the loopback transport's stand-in for a selector's ready set.
 *
 * <p>Intrusive, so signalling allocates nothing: each connection owns one {@link Node}, and a node is in the queue
 * at most once (a connection pushes it only when its ready bits go from none to some, see
 * {@link LoopbackConnection#signal}). It is a multi-producer, single-consumer linked queue with a permanent stub
 * node: a producer swaps its node in as the newest with one atomic exchange, then links the previous newest to it;
 * the consumer follows the links from the oldest. Between a producer's exchange and its link, {@link #poll} may
 * return null although a node is queued; {@link #isEmpty} is false then, so the loop does not sleep on it.
 *
 * <p>Thread-safe for any number of producers; {@link #poll} and {@link #isEmpty} belong to the loop thread.
 */
final class ReadyQueue {

    /** A connection's place in the queue. */
    static final class Node {
        final LoopbackConnection connection;
        @SuppressWarnings("unused")     // through NEXT
        private volatile Node next;

        Node(LoopbackConnection connection) {
            this.connection = connection;
        }
    }

    private static final VarHandle NEXT;
    private static final VarHandle NEWEST;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            NEXT = lookup.findVarHandle(Node.class, "next", Node.class);
            NEWEST = lookup.findVarHandle(ReadyQueue.class, "newest", Node.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Node stub = new Node(null);
    @SuppressWarnings("unused")         // through NEWEST
    private volatile Node newest = stub;
    private Node oldest = stub;         // the consumer's

    /** Adds {@code node} as the newest; never blocks. Any thread. */
    void push(Node node) {
        NEXT.setRelease(node, (Node) null);
        Node previous = (Node) NEWEST.getAndSet(this, node);
        NEXT.setRelease(previous, node);
    }

    /** Removes and returns the oldest node, or null when none is reachable. The loop thread. */
    Node poll() {
        Node first = oldest;
        Node next = (Node) NEXT.getAcquire(first);
        if (first == stub) {
            if (next == null) {
                return null;
            }
            oldest = next;
            first = next;
            next = (Node) NEXT.getAcquire(next);
        }
        if (next != null) {
            oldest = next;
            return first;
        }
        if (first != NEWEST.getVolatile(this)) {
            return null;        // a producer swapped itself in behind `first` and has not linked it yet
        }
        // `first` is the only node: queue the stub behind it, so taking `first` leaves a link to follow.
        push(stub);
        next = (Node) NEXT.getAcquire(first);
        if (next != null) {
            oldest = next;
            return first;
        }
        return null;
    }

    /**
     * True only when nothing is queued, not even by a producer half-way through {@link #push}: the loop may sleep.
     * The loop thread.
     */
    boolean isEmpty() {
        return oldest == stub && NEWEST.getVolatile(this) == stub;
    }
}
