package dev.baton.internal.rpc;

import java.util.concurrent.atomic.LongAdder;

/** The node's call and request counters behind {@link dev.baton.NodeStats}. Thread-safe, contention-free. */
final class NodeCounters {

    final LongAdder callsStarted = new LongAdder();
    final LongAdder callsSucceeded = new LongAdder();
    final LongAdder callsFailed = new LongAdder();
    final LongAdder localCalls = new LongAdder();
    final LongAdder requestsReceived = new LongAdder();
    final LongAdder requestsHandled = new LongAdder();
    final LongAdder requestsRefused = new LongAdder();
    final LongAdder lateResponses = new LongAdder();

    void callStarted() {
        callsStarted.increment();
    }

    void callEnded(boolean succeeded) {
        (succeeded ? callsSucceeded : callsFailed).increment();
    }

    void localCall() {
        localCalls.increment();
    }

    /** A request arrived for a server of this node (remote, or in process). */
    void requestReceived() {
        requestsReceived.increment();
    }

    /** A request was handed to a handler, or taken by a dealer. */
    void requestHandled() {
        requestsHandled.increment();
    }

    /** A request was refused before any handler saw it. */
    void requestRefused() {
        requestsRefused.increment();
    }

    void lateResponse() {
        lateResponses.increment();
    }
}
