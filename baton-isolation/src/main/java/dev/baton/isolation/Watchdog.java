package dev.baton.isolation;

import dev.baton.CallObserver;
import dev.baton.Handler;
import dev.baton.Metadata;
import dev.baton.NodeOptions;
import dev.baton.ServerCall;
import dev.baton.ServerInterceptor;
import dev.baton.Status;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * Watchdog mode: bounds how long this process's handlers may run, and ends the process when one overruns, for
 * platforms where spawning worker processes ({@link WorkerPool}) is not wanted. A monitor restarts the process
 * ({@code bin/baton supervise}), and the restarted process registers again with its master (or tracker) by itself.
 *
 * <pre>{@code
 * try (Watchdog watchdog = Watchdog.builder().limit(Duration.ofSeconds(20)).grace(Duration.ofSeconds(2)).start();
 *      Node node = Node.join(watchdog.addTo(NodeOptions.builder().master(master)).build())) {
 *     node.newServer("tune").blocking(0, watchdog.guard(call -> run(call))).start();
 *     ...
 * }
 * }</pre>
 *
 * <p>Each request is armed when it starts, at {@code min(limit, the call's time left + grace)} from then; one daemon
 * platform thread, {@code baton-watchdog}, watches the armed requests (a sorted set: arming and disarming are
 * O(log n), and the thread wakes only for the earliest). When one passes, the watchdog writes one line to stderr
 * naming the service, method, request id and how long it ran, and halts the process ({@link Runtime#halt}: a hung
 * handler may hold locks that a normal exit would wait on) with {@link #EXIT_CODE}, unless an
 * {@link Builder#onOverrun} hook was given, which is called instead.
 *
 * <p>Two ways to arm, which may be combined:
 * <ul>
 *   <li>{@link #interceptor()} (or {@link #addTo}): every request of every server of the node, whatever its kind of
 *       handler, armed until the call is <em>answered</em>. A call that is cancelled or expires first is disarmed
 *       then (core tells nothing more about it), so this bounds the time to answer of calls whose deadline is
 *       longer than the limit.</li>
 *   <li>{@link #guard(Handler)}: one inline or blocking handler, armed until the handler <em>returns</em>. This one
 *       also catches a handler that is still running after its call expired or was cancelled: it has
 *       {@code grace} after the call's deadline to notice ({@link ServerCall#isCancelled()}) and return.</li>
 * </ul>
 *
 * <p>Thread-safe. {@link #close()} stops the thread; requests armed later are not watched.
 */
public final class Watchdog implements AutoCloseable {

    /** The exit code of a process the watchdog ended: 86. */
    public static final int EXIT_CODE = 86;

    /** The default {@link Builder#limit}: 60 s. */
    public static final Duration DEFAULT_LIMIT = Duration.ofSeconds(60);

    /** The default {@link Builder#grace}: 5 s. */
    public static final Duration DEFAULT_GRACE = Duration.ofSeconds(5);

    private final long limitNanos;
    private final long graceNanos;
    private final int exitCode;
    private final Consumer<Overrun> onOverrun;
    private final ConcurrentSkipListSet<Armed> armed = new ConcurrentSkipListSet<>();
    private final AtomicLong sequence = new AtomicLong();
    private final Thread thread;
    private final ServerInterceptor interceptor = this::arm;
    private volatile boolean closed;

    private Watchdog(Builder b) {
        this.limitNanos = nanos(b.limit);
        this.graceNanos = nanos(b.grace);
        this.exitCode = b.exitCode;
        this.onOverrun = b.onOverrun != null ? b.onOverrun : this::halt;
        this.thread = Thread.ofPlatform().daemon(true).name("baton-watchdog").unstarted(this::watch);
    }

    /** A builder with the defaults: limit 60 s, grace 5 s, exit code 86, halt on overrun. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The interceptor that arms every request a server sees until it is answered; the same instance every time.
     * Register it with {@link NodeOptions.Builder#serverInterceptor} (what {@link #addTo} does) or for one server.
     */
    public ServerInterceptor interceptor() {
        return interceptor;
    }

    /** Adds {@link #interceptor()} to {@code options} and returns it, for chaining. */
    public NodeOptions.Builder addTo(NodeOptions.Builder options) {
        return options.serverInterceptor(interceptor);
    }

    /**
     * {@code handler}, armed for each request from its start until it returns (or throws), for
     * {@code Server.Builder.inline} or {@code blocking}.
     */
    public Handler guard(Handler handler) {
        Objects.requireNonNull(handler, "handler");
        return call -> {
            Armed a = arm(call);
            try {
                handler.handle(call);
            } finally {
                if (a != null) {
                    a.disarm();
                }
            }
        };
    }

    /** The number of requests armed now (for tests and diagnostics). */
    public int armedCount() {
        return armed.size();
    }

    /** True while the watchdog thread runs. */
    public boolean isRunning() {
        return thread.isAlive();
    }

    /** Stops the watchdog thread, waiting for it; requests armed later are not watched. Idempotent. */
    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
        if (Thread.currentThread() != thread) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        armed.clear();
    }

    @Override
    public String toString() {
        return "Watchdog[limit=" + Duration.ofNanos(limitNanos) + ", grace=" + Duration.ofNanos(graceNanos)
                + ", armed=" + armed.size() + (closed ? ", closed" : "") + "]";
    }

    /** {@code d} in nanoseconds, at most 2^61 (73 years), so that due times compare by difference. */
    private static long nanos(Duration d) {
        return d.compareTo(Duration.ofNanos(1L << 61)) > 0 ? 1L << 61 : d.toNanos();
    }

    private Watchdog start() {
        thread.start();
        return this;
    }

    /** Arms {@code call} from now; null when closed. */
    private Armed arm(ServerCall call) {
        if (closed) {
            return null;
        }
        long now = System.nanoTime();
        long bound = limitNanos;
        boolean byDeadline = false;
        long deadline = call.deadlineNanos();
        if (deadline != Long.MAX_VALUE) {
            long left = Math.max(0, deadline - now);
            long withGrace = left > limitNanos ? Long.MAX_VALUE : left + graceNanos;
            if (withGrace < bound) {
                bound = withGrace;
                byDeadline = true;
            }
        }
        String service;
        try {
            service = call.server().service();
        } catch (RuntimeException e) {
            service = "?";
        }
        Armed a = new Armed(service, call.method(), call.requestId(), call.sourceRank(), now, now + bound,
                bound, byDeadline, sequence.incrementAndGet());
        armed.add(a);
        if (firstOrNull() == a) {                  // due before what the thread sleeps for: wake it
            LockSupport.unpark(thread);
        }
        return a;
    }

    private void watch() {
        while (!closed) {
            Armed first = firstOrNull();
            if (first == null) {
                LockSupport.park(this);
                continue;
            }
            long wait = first.dueNanos - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(this, wait);
                continue;
            }
            if (armed.remove(first)) {      // else disarmed meanwhile: the call ended in time
                Overrun o = first.overrun(System.nanoTime());
                try {
                    onOverrun.accept(o);
                } catch (RuntimeException | Error e) {
                    System.err.println("baton watchdog: the overrun hook failed: " + e);
                }
            }
        }
    }

    private Armed firstOrNull() {
        try {
            return armed.first();
        } catch (java.util.NoSuchElementException e) {
            return null;
        }
    }

    private void halt(Overrun o) {
        PrintStream err = System.err;
        err.println(o.message() + "; exiting with code " + exitCode);
        err.flush();
        Runtime.getRuntime().halt(exitCode);
    }

    /**
     * One request that ran past its bound.
     *
     * @param service    the service of the server that took it
     * @param method     the method number
     * @param requestId  the caller's request id
     * @param sourceRank the calling node's rank, -1 when unknown
     * @param ranFor     from the request's start (when it was armed) to now
     * @param bound      how long it was allowed: the limit, or the call's time left plus the grace
     * @param byDeadline true when the bound was the call's deadline plus the grace, false when it was the limit
     */
    public record Overrun(String service, int method, long requestId, int sourceRank, Duration ranFor,
                          Duration bound, boolean byDeadline) {

        /** The line the watchdog writes before it halts the process. */
        public String message() {
            return "baton watchdog: the handler of service " + service + " method " + method + " (request "
                    + requestId + (sourceRank >= 0 ? " from rank " + sourceRank : "") + ") ran for "
                    + millis(ranFor) + ", past its " + (byDeadline ? "deadline plus grace (" : "limit (")
                    + millis(bound) + ")";
        }

        private static String millis(Duration d) {
            return d.toMillis() + " ms";
        }
    }

    /** An armed request, ordered by when it is due; also the call's observer (disarmed when the call ends). */
    private final class Armed implements CallObserver, Comparable<Armed> {
        final String service;
        final int method;
        final long requestId;
        final int sourceRank;
        final long startNanos;
        final long dueNanos;
        final long boundNanos;
        final boolean byDeadline;
        final long seq;

        Armed(String service, int method, long requestId, int sourceRank, long startNanos, long dueNanos,
              long boundNanos, boolean byDeadline, long seq) {
            this.service = service;
            this.method = method;
            this.requestId = requestId;
            this.sourceRank = sourceRank;
            this.startNanos = startNanos;
            this.dueNanos = dueNanos;
            this.boundNanos = boundNanos;
            this.byDeadline = byDeadline;
            this.seq = seq;
        }

        @Override
        public void onEnd(Status status, Metadata responseMetadata) {
            disarm();
        }

        void disarm() {
            armed.remove(this);
        }

        Overrun overrun(long now) {
            return new Overrun(service, method, requestId, sourceRank, Duration.ofNanos(now - startNanos),
                    Duration.ofNanos(boundNanos), byDeadline);
        }

        @Override
        public int compareTo(Armed o) {
            int c = Long.compare(dueNanos - o.dueNanos, 0);   // nanoTime: compare by difference
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    /** Settings of a {@link Watchdog}; {@link #start()} makes one and starts its thread. Not thread-safe. */
    public static final class Builder {
        private Duration limit = DEFAULT_LIMIT;
        private Duration grace = DEFAULT_GRACE;
        private int exitCode = EXIT_CODE;
        private Consumer<Overrun> onOverrun;

        private Builder() {
        }

        /** The longest a request may run, whatever its deadline; positive. Default: 60 s. */
        public Builder limit(Duration limit) {
            if (Objects.requireNonNull(limit, "limit").isNegative() || limit.isZero()) {
                throw new IllegalArgumentException("limit must be positive, was " + limit);
            }
            this.limit = limit;
            return this;
        }

        /**
         * How long past its call's deadline a request may run (to notice the cancellation); not negative.
         * Default: 5 s.
         */
        public Builder grace(Duration grace) {
            if (Objects.requireNonNull(grace, "grace").isNegative()) {
                throw new IllegalArgumentException("grace must not be negative, was " + grace);
            }
            this.grace = grace;
            return this;
        }

        /** The exit code of the halted process, 1 to 255. Default: {@link #EXIT_CODE} (86). */
        public Builder exitCode(int exitCode) {
            if (exitCode < 1 || exitCode > 255) {
                throw new IllegalArgumentException("exitCode must be between 1 and 255, was " + exitCode);
            }
            this.exitCode = exitCode;
            return this;
        }

        /**
         * Called on the watchdog thread for each overrun instead of writing the line and halting (tests use it to
         * keep their JVM); null restores the default. It should be quick: the watchdog waits for it.
         */
        public Builder onOverrun(Consumer<Overrun> hook) {
            this.onOverrun = hook;
            return this;
        }

        /** Starts the watchdog's thread. */
        public Watchdog start() {
            return new Watchdog(this).start();
        }
    }
}
