package dev.baton.isolation;

import dev.baton.AsyncHandler;
import dev.baton.ServerCall;
import dev.baton.Status;
import dev.baton.process.ChildJvm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * Supervised worker JVMs that run {@link IsolatedHandler}s, so that a handler that loops, exhausts its memory,
 * exits or crashes costs one call, never the server: Apache TVM's RPC server design (its popen workers) without
 * its faults.
 *
 * <pre>{@code
 * WorkerPool pool = WorkerPool.builder("tune")
 *         .workers(2).spares(1)                          // 3 JVMs, 2 calls at a time
 *         .jvmOptions(List.of("-Xmx512m"))
 *         .handler(RunCandidate.class)                   // public, public no-arg constructor
 *         .start();
 * node.newServer("runner").async(0, pool.handler(RunCandidate.class)).start();
 * ...
 * pool.close();                                         // every worker stopped, queued calls refused
 * }</pre>
 *
 * <h2>What a call gets</h2>
 * Each worker serves one call at a time. A call waits (in a queue of at most {@link Builder#maxQueued}) for a free
 * worker; a full queue refuses it with RESOURCE_EXHAUSTED, retry-safe ({@link ServerCall#refuse}). Its deadline
 * (the caller's, at most {@link Builder#maxCallTime}) bounds the wait and the work: at the deadline the caller gets
 * DEADLINE_EXCEEDED, and the worker's process tree is stopped (SIGTERM, {@link Builder#killGrace}, SIGKILL) and
 * replaced; a caller's cancellation does the same with CANCELLED. A worker that dies while serving (exit, halt, out
 * of memory, stack overflow, another {@link Error}, a signal, a native crash) fails its call with
 * {@link Status.Code#WORKER_CRASHED}, the description saying which, with the exit code or signal; the death is seen
 * when the worker's socket ends, at once. The next call goes to a spare, ready worker while a replacement starts.
 *
 * <h2>Processes</h2>
 * Workers run {@code WorkerMain} on this JVM's class path (or {@link Builder#classPath}), started through
 * {@link ChildJvm}, with {@code -XX:+ExitOnOutOfMemoryError}, {@code -XX:UserThreadWaitAttemptsAtExit=0} (an exiting
 * worker does not wait 300 ms for its threads blocked in native code) and the {@link Builder#jvmOptions}; on Linux each in a
 * session of its own ({@code setsid}), so that what a handler started is killed with its process group even after
 * the worker itself died. No worker outlives this JVM: each stops when its stdin (held by this JVM) ends, when its
 * parent exits or when its socket ends, SIGKILLing its descendants; {@link ChildJvm}'s exit hook kills their trees
 * when this JVM exits normally.
 *
 * <h2>Transport</h2>
 * One Unix-domain socket per worker, in a directory only this user can enter, removed on {@link #close()}:
 * length-prefixed frames, the request written from the caller's buffer (gathered with its header), the response
 * copied once into a heap buffer of its own (see docs/isolation.md for why not a direct one).
 *
 * <p>Thread-safe. Logs each crash once (WARNING, with the worker's last output lines); the workers' output goes to
 * this class's {@link System.Logger} at DEBUG.
 */
public final class WorkerPool implements AutoCloseable {

    static final long CANCEL_POLL_MS = 20;
    static final Duration EXIT_WAIT = Duration.ofSeconds(2);
    static final long OUTPUT_END_WAIT_MS = 300;
    static final int KEEP_LINES = 200;
    static final int LOG_LINES = 20;
    static final long FIRST_BACKOFF_MS = 100;
    static final long MAX_BACKOFF_MS = 5000;

    /** The pool's logger, for every class of the pool: crashes at WARNING, the workers' output at DEBUG. */
    static final System.Logger LOG = System.getLogger(WorkerPool.class.getName());

    // The public face only. The work is done, package-private, by PoolSupervisor (admitting, dispatching and
    // answering calls; starting, replacing and stopping workers), PoolState (the lock and the bookkeeping it
    // guards), Worker (one worker process and its socket), WorkerOutput (the workers' output lines), Job (one
    // call) and PoolSettings (the builder's checks and the fixed settings).
    private final PoolSettings settings;
    private final PoolSupervisor supervisor;

    private WorkerPool(PoolSettings settings) {
        this.settings = settings;
        this.supervisor = new PoolSupervisor(settings);
    }

    /** A builder of a pool called {@code name} (in process names, thread names and messages). */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    public String name() {
        return settings.name();
    }

    /** The directory of the workers' sockets (for tests). */
    Path directory() {
        return settings.dir();
    }

    /**
     * The handler to register on a server for {@code handlerClass} (one of the builder's {@link Builder#handler}
     * classes): {@code server.async(method, pool.handler(MyHandler.class))}. It returns at once; the call is
     * answered from the pool's threads.
     */
    public AsyncHandler handler(Class<? extends IsolatedHandler> handlerClass) {
        int index = settings.indexOf(handlerClass);
        return call -> {
            CompletableFuture<ByteBuffer> stage = new CompletableFuture<>();
            supervisor.submit(new Job.CallJob(call, index, stage, settings.deadline(call.deadlineNanos())));
            return stage;
        };
    }

    /**
     * Runs {@code handlerClass} on {@code request} in a worker, outside any server: for work that needs isolation
     * but no RPC (a tuner's builds, say). The future completes with the response, or exceptionally with a
     * {@link dev.baton.BatonException} as a call would fail; cancelling it stops the worker as a caller's
     * cancellation does. The request must not change until the future completes. The handler sees method -1.
     */
    public CompletableFuture<ByteBuffer> submit(Class<? extends IsolatedHandler> handlerClass, ByteBuffer request,
                                                Duration timeout) {
        int index = settings.indexOf(handlerClass);
        long timeoutNanos;
        try {
            timeoutNanos = timeout.toNanos();
        } catch (ArithmeticException tooLong) {
            timeoutNanos = Long.MAX_VALUE;
        }
        long deadline = settings.deadline(System.nanoTime() + Math.min(timeoutNanos, settings.maxCallNanos()));
        CompletableFuture<ByteBuffer> result = new CompletableFuture<>();
        supervisor.submit(new Job.FutureJob(request.duplicate(), index, deadline, result));
        return result;
    }

    /** What the pool is doing now. */
    public WorkerPoolStats stats() {
        return supervisor.state().stats();
    }

    /**
     * Waits until every worker is started and ready (or serving) and none is being stopped; false if that did not
     * happen within {@code timeout}, or the pool is closed.
     */
    public boolean awaitReady(Duration timeout) throws InterruptedException {
        return supervisor.state().awaitReady(timeout);
    }

    /**
     * Stops the pool: queued calls are refused (UNAVAILABLE, retry-safe), calls being served fail with CLOSED, every
     * worker is stopped (end of input, SIGTERM, SIGKILL of its process tree, each step bounded) and the socket
     * directory removed. Idempotent; returns once the workers are gone.
     */
    @Override
    public void close() {
        supervisor.close();
    }

    /** The directory of the workers' sockets (removed by {@link #close()}); for tests. */
    Path socketDirectory() {
        return settings.dir();
    }

    @Override
    public String toString() {
        return "WorkerPool[" + settings.name() + ", " + stats() + "]";
    }

    // ================================================================== builder

    /** How to build a pool. Not thread-safe; use once. Its checks are {@link PoolSettings}'. */
    public static final class Builder {

        private final String name;
        private int workers = 1;
        private int spares = 1;
        private int maxQueued = 64;
        private int maxCallsPerWorker;
        private Duration killGrace = Duration.ofSeconds(1);
        private Duration startTimeout = Duration.ofSeconds(60);
        private Duration maxCallTime = Duration.ofMinutes(10);
        private List<String> jvmOptions = List.of();
        private String classPath;
        private int maxMessageSize = 64 << 20;
        private final List<Class<? extends IsolatedHandler>> handlers = new ArrayList<>();

        private Builder(String name) {
            this.name = PoolSettings.checkName(name);
        }

        /** How many calls run at once, one per worker. Default: 1. */
        public Builder workers(int count) {
            this.workers = PoolSettings.positive("workers", count);
            return this;
        }

        /**
         * How many more workers are kept started and ready, so that a call after a worker's death is served at once
         * while a replacement starts. At least 1. Default: 1.
         */
        public Builder spares(int count) {
            this.spares = PoolSettings.positive("spares", count);
            return this;
        }

        /** How many calls may wait for a free worker; more are refused (RESOURCE_EXHAUSTED, retry-safe). Default: 64. */
        public Builder maxQueued(int count) {
            this.maxQueued = PoolSettings.notNegative("maxQueued", count);
            return this;
        }

        /**
         * How many calls a worker answers before it is replaced by a fresh one (as TVM's popen pool's maximum uses),
         * for handlers that leak memory, threads or native state; 0 for no limit. The worker is stopped after
         * answering, while a spare takes the next call. Default: 0.
         */
        public Builder maxCallsPerWorker(int calls) {
            this.maxCallsPerWorker = PoolSettings.notNegative("maxCallsPerWorker", calls);
            return this;
        }

        /** How long a worker stopped at a deadline gets between SIGTERM and SIGKILL. Default: 1 s. */
        public Builder killGrace(Duration grace) {
            this.killGrace = PoolSettings.notNegative("killGrace", grace);
            return this;
        }

        /** How long a worker may take to start and say it is ready before it is killed and retried. Default: 60 s. */
        public Builder startTimeout(Duration timeout) {
            this.startTimeout = PoolSettings.positive("startTimeout", timeout);
            return this;
        }

        /** The longest a call may run, whatever (or whether) its caller's deadline. Default: 10 min. */
        public Builder maxCallTime(Duration time) {
            this.maxCallTime = PoolSettings.positive("maxCallTime", time);
            return this;
        }

        /**
         * Options for the worker JVMs (e.g. {@code -Xmx512m}, {@code -XX:TieredStopAtLevel=1}). The pool adds
         * {@code -XX:+ExitOnOutOfMemoryError} and {@code -XX:UserThreadWaitAttemptsAtExit=0}. Default: none.
         */
        public Builder jvmOptions(List<String> options) {
            this.jvmOptions = List.copyOf(options);
            return this;
        }

        /** The workers' class path: it must hold Baton and the handler classes. Default: this JVM's. */
        public Builder classPath(String path) {
            this.classPath = Objects.requireNonNull(path, "path");
            return this;
        }

        /**
         * The largest request or response, in bytes: a larger request is refused (MESSAGE_TOO_LARGE, retry-safe), a
         * larger response fails its call (MESSAGE_TOO_LARGE) and the worker serves on. Default: 64 MiB.
         */
        public Builder maxMessageSize(int bytes) {
            this.maxMessageSize = PoolSettings.positive("maxMessageSize", bytes);
            return this;
        }

        /**
         * A handler class the workers make (each one instance, at start): public, not abstract, with a public
         * no-argument constructor.
         */
        public Builder handler(Class<? extends IsolatedHandler> handlerClass) {
            PoolSettings.checkHandlerClass(handlerClass);
            if (!handlers.contains(handlerClass)) {
                handlers.add(handlerClass);
            }
            return this;
        }

        /**
         * Makes the pool's socket directory and starts its workers, in parallel; returns at once
         * ({@link #awaitReady} waits for them). Calls that come before a worker is ready wait in the queue.
         */
        public WorkerPool start() throws IOException {
            if (handlers.isEmpty()) {
                throw new IllegalStateException("worker pool '" + name + "' has no handler class");
            }
            Path dir = PoolDirectories.create();
            WorkerPool pool = new WorkerPool(PoolSettings.of(name, workers, spares, maxQueued, maxCallsPerWorker,
                    killGrace, startTimeout, maxCallTime, jvmOptions, classPath, maxMessageSize, handlers, dir));
            pool.supervisor.start();
            return pool;
        }
    }
}
