package dev.baton.internal.rpc;

import dev.baton.LatencyHistogram;
import dev.baton.Status;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The node's call and request counters behind {@link dev.baton.NodeStats}. Thread-safe, contention-free on the
 * success path (striped adders); failures count by status code, and one call in {@link #LATENCY_SAMPLE} has
 * its latency recorded. A call costs two increments: its start takes the next request id (so the calls started
 * are the ids taken, not a counter of their own), then it succeeded or failed; the calls in flight are the
 * difference, not a third counter.
 */
final class NodeCounters {

    /**
     * One call in this many (by request id) has its latency recorded: a clock read and a bucket increment per
     * call would cost more than the counting itself on the fastest paths, while a 1-in-16 sample keeps the
     * percentiles of any busy node exact to their bucket and costs one branch per call.
     */
    static final int LATENCY_SAMPLE = 16;

    /** The last request id taken: the calls started. One sequence per node, so ids are unique on each connection. */
    private final AtomicLong requestIds = new AtomicLong();
    final LongAdder callsSucceeded = new LongAdder();
    final LongAdder callsFailed = new LongAdder();
    final LongAdder localCalls = new LongAdder();
    final LongAdder requestsReceived = new LongAdder();
    final LongAdder requestsHandled = new LongAdder();
    final LongAdder requestsRefused = new LongAdder();
    final LongAdder lateResponses = new LongAdder();
    final LongAdder reroutes = new LongAdder();
    private final AtomicLongArray failures = new AtomicLongArray(Status.Code.values().length);
    private final AtomicLongArray latency = new AtomicLongArray(LatencyHistogram.BUCKETS);

    /** A call starts: returns its request id (1, 2, ...). */
    long callStarted() {
        return requestIds.incrementAndGet();
    }

    /** The calls started so far: the last request id taken. */
    long callsStarted() {
        return requestIds.get();
    }

    /** A call completed: {@code failure} is null when it succeeded. */
    void callEnded(Status.Code failure) {
        if (failure == null) {
            callsSucceeded.increment();
        } else {
            callsFailed.increment();
            failures.incrementAndGet(failure.ordinal());
        }
    }

    /**
     * Calls started and not yet ended. The ended calls are summed first: each was started before it ended, so the
     * result is never negative, and it is 0 only when every call started by then had ended (what a closing node
     * waits for). Not an atomic snapshot: a gauge, not a count to reconcile.
     */
    long callsInFlight() {
        long ended = callsSucceeded.sum() + callsFailed.sum();
        return requestIds.get() - ended;
    }

    /** Whether the call of {@code requestId} is one whose latency is recorded. */
    static boolean sampled(long requestId) {
        return (requestId & (LATENCY_SAMPLE - 1)) == 0;
    }

    void recordLatency(long nanos) {
        latency.incrementAndGet(LatencyHistogram.bucketOf(nanos));
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

    /** Failed calls by status code, the codes with none left out. */
    Map<Status.Code, Long> failuresByCode() {
        Map<Status.Code, Long> out = new EnumMap<>(Status.Code.class);
        for (Status.Code code : Status.Code.values()) {
            long n = failures.get(code.ordinal());
            if (n != 0) {
                out.put(code, n);
            }
        }
        return out;
    }

    /** The sampled call latencies since start. */
    LatencyHistogram latency() {
        long[] c = new long[LatencyHistogram.BUCKETS];
        for (int i = 0; i < c.length; i++) {
            c[i] = latency.get(i);
        }
        return LatencyHistogram.of(c);
    }
}
