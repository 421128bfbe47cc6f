package dev.baton.tracker;

import dev.baton.BatonException;
import dev.baton.Status;
import dev.baton.tracker.internal.Counters;
import dev.baton.tracker.internal.TrackerLoop;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An embedded device tracker that speaks Apache TVM's RPC tracker protocol, so that TVM's unmodified servers
 * ({@code python -m tvm.exec.rpc_server --tracker=HOST:PORT --key=K}, the C++ {@code tvm_rpc} and Android
 * servers), clients ({@code rpc.connect_tracker(HOST, PORT).request(K)}) and {@code query_rpc_tracker} work
 * with it, as does Baton's {@link TrackerClient}. Servers offer themselves under a key (a device kind); clients
 * request a server of a key with a priority; higher priorities are served first, equal ones in arrival order; a
 * server handed out is that client's alone until it offers itself again after its session. docs/tracker.md
 * describes the protocol as implemented and every difference from TVM's tracker.
 *
 * <pre>{@code
 * try (Tracker tracker = Tracker.start(TrackerOptions.builder().port(9190).build())) {
 *     System.out.println("tracker on port " + tracker.port());
 *     TrackerSummary now = tracker.summary();
 *     ...
 * }
 * }</pre>
 *
 * <h2>What it does that TVM's does not</h2>
 * A connection that closes takes its servers with it, UPDATE_INFO or not (no stale "free" entry); a client
 * that disconnects while waiting leaves no request behind; requests can be given a deadline
 * ({@link TrackerOptions#maxRequestWait()}); bad input (a bad magic, a frame length of zero or less or over
 * 1 MiB, bytes that are not JSON, an unknown code, a peer that stalls mid-frame) closes only that connection;
 * connections, frames, queues and buffers are all bounded.
 *
 * <h2>Threads and blocking</h2>
 * Thread-safe. One platform daemon thread, {@code baton-tracker-<port>}, does all the work (a selector loop:
 * it never blocks on a peer). {@link #summary()} and {@link #close()} block the caller briefly.
 *
 * <h2>Stopping</h2>
 * {@link #close()} stops it (idempotent): every connection is closed, TVM servers reconnect with their own retry
 * and register again with the next tracker. A STOP message carrying {@link #stopKey()} stops it too, as TVM's
 * {@code Tracker.terminate()} does; {@link #awaitStopped(Duration)} waits for either.
 */
public final class Tracker implements AutoCloseable {

    private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);
    private static final long SUMMARY_WAIT_MS = 10_000;

    private final TrackerOptions options;
    private final Counters counters;
    private final TrackerLoop loop;
    private final java.util.concurrent.atomic.AtomicBoolean served = new java.util.concurrent.atomic.AtomicBoolean();

    private Tracker(TrackerOptions options, Counters counters, TrackerLoop loop) {
        this.options = options;
        this.counters = counters;
        this.loop = loop;
    }

    /**
     * Starts a tracker listening as {@code options} say. Throws {@link java.io.UncheckedIOException} if it cannot
     * listen (the port is taken, the address is not local).
     */
    public static Tracker start(TrackerOptions options) {
        Counters counters = new Counters();
        return new Tracker(options, counters, TrackerLoop.start(options, counters));
    }

    /** The address it listens on, with the real port when the options asked for port 0. */
    public InetSocketAddress address() {
        return loop.address();
    }

    /** The port it listens on. */
    public int port() {
        return loop.address().getPort();
    }

    public TrackerOptions options() {
        return options;
    }

    /** The key a STOP message must carry to stop this tracker. Keep it to yourself. */
    public String stopKey() {
        return options.stopKey();
    }

    /**
     * What it holds now: the same as a SUMMARY over the wire. Blocks until the tracker's thread answers (at most
     * 10 s). Throws {@link BatonException} with CLOSED once the tracker is stopped.
     */
    public TrackerSummary summary() {
        try {
            return TrackerSummary.fromJson(loop.summary().get(SUMMARY_WAIT_MS, TimeUnit.MILLISECONDS));
        } catch (ExecutionException e) {
            throw e.getCause() instanceof BatonException b ? b : new BatonException(
                    Status.of(Status.Code.INTERNAL, "tracker summary failed").withCause(e.getCause()));
        } catch (TimeoutException e) {
            throw Status.of(Status.Code.DEADLINE_EXCEEDED, "the tracker did not answer within "
                    + SUMMARY_WAIT_MS + " ms").asException();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.of(Status.Code.CANCELLED, "interrupted while asking the tracker").asException();
        }
    }

    /** True for the first {@link TrackerService} of this tracker (until it is released). */
    boolean claimService() {
        return served.compareAndSet(false, true);
    }

    void releaseService() {
        served.set(false);
    }

    /** Its loop, for {@link TrackerService}. */
    TrackerLoop loop() {
        return loop;
    }

    /** Its counters now. Does not block. */
    public TrackerStats stats() {
        return new TrackerStats(counters.open(), counters.accepted(), counters.refused(), counters.protocolErrors(),
                counters.stalled(), counters.grants(), counters.expired(), counters.abandoned(), counters.waiting());
    }

    /** True once it has stopped (closed, or a STOP message with its key). */
    public boolean isStopped() {
        return loop.isTerminated();
    }

    /** Waits until it has stopped; false if it is still running after {@code timeout}. */
    public boolean awaitStopped(Duration timeout) throws InterruptedException {
        return loop.awaitTermination(timeout);
    }

    /**
     * Stops it: closes every connection and the listening socket, and waits (up to 5 s) for its thread to end.
     * Idempotent.
     */
    @Override
    public void close() {
        if (!loop.close(CLOSE_WAIT)) {
            System.getLogger("dev.baton.tracker").log(System.Logger.Level.WARNING,
                    "tracker on {0}: its thread did not end within {1} ms", address(), CLOSE_WAIT.toMillis());
        }
    }

    @Override
    public String toString() {
        return "Tracker{" + address() + (isStopped() ? ", stopped" : "") + "}";
    }
}
