package dev.baton.isolation;

import dev.baton.AsyncHandler;
import dev.baton.Metadata;
import dev.baton.ServerCall;
import dev.baton.Status;
import dev.baton.isolation.internal.FrameChannel;
import dev.baton.isolation.internal.WorkerMain;
import dev.baton.process.ChildJvm;
import dev.baton.process.ChildJvmException;

import java.io.IOException;
import java.lang.reflect.Modifier;
import java.net.ProtocolException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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

    private static final System.Logger LOG = System.getLogger(WorkerPool.class.getName());
    private static final String SETSID = findSetsid();

    private final String name;
    private final int concurrency;
    private final int target;
    private final int maxQueued;
    private final int maxCallsPerWorker;
    private final Duration killGrace;
    private final Duration startTimeout;
    private final long maxCallNanos;
    private final List<String> jvmOptions;
    private final String classPath;
    private final int maxMessageSize;
    private final List<String> handlerNames;
    private final Map<Class<?>, Integer> handlerIndex;
    private final Path dir;

    private final Object lock = new Object();
    private final ArrayDeque<Worker> idle = new ArrayDeque<>();          // ready, most recently used first
    private final Set<Worker> workers = new LinkedHashSet<>();           // starting, idle or busy: not retired
    private final ArrayDeque<Job> queue = new ArrayDeque<>();
    private int busy;
    private int starting;
    private int stopping;
    private boolean closed;
    private int startFailuresInARow;
    private int nextWorkerId;
    private long nextCallId;
    private long served;
    private long restarts;
    private long deadlineKills;
    private long cancelKills;
    private long recycled;
    private long queueFull;
    private final EnumMap<CrashKind, Long> crashes = new EnumMap<>(CrashKind.class);

    private final ScheduledThreadPoolExecutor timer;
    private final BlockingQueue<ChildJvm.Line> output = new LinkedBlockingQueue<>();
    private final Map<String, Worker> byChildName = new ConcurrentHashMap<>();
    private final Thread outputThread;

    private WorkerPool(Builder b, Path dir) {
        this.name = b.name;
        this.concurrency = b.workers;
        this.target = b.workers + b.spares;
        this.maxQueued = b.maxQueued;
        this.maxCallsPerWorker = b.maxCallsPerWorker;
        this.killGrace = b.killGrace;
        this.startTimeout = b.startTimeout;
        this.maxCallNanos = b.maxCallTime.toNanos();
        List<String> opts = new ArrayList<>(b.jvmOptions);
        opts.add("-XX:+ExitOnOutOfMemoryError");
        // A JVM that exits waits up to 300 ms for its threads blocked in native code (the worker's stdin watcher
        // is one): measured 700 ms from System.exit or Runtime.halt to the socket's end without this, 25-40 with.
        opts.add("-XX:UserThreadWaitAttemptsAtExit=0");
        this.jvmOptions = List.copyOf(opts);
        this.classPath = b.classPath;
        this.maxMessageSize = b.maxMessageSize;
        this.handlerNames = b.handlers.stream().map(Class::getName).toList();
        Map<Class<?>, Integer> index = new LinkedHashMap<>();
        for (Class<?> c : b.handlers) {
            index.put(c, index.size());
        }
        this.handlerIndex = Map.copyOf(index);
        this.dir = dir;
        this.timer = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().daemon(true)
                .name("baton-isolation-" + name + "-timer").unstarted(r));
        timer.setRemoveOnCancelPolicy(true);
        this.outputThread = Thread.ofPlatform().daemon(true).name("baton-isolation-" + name + "-output")
                .unstarted(this::drainOutput);
    }

    /** A builder of a pool called {@code name} (in process names, thread names and messages). */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    public String name() {
        return name;
    }

    /**
     * The handler to register on a server for {@code handlerClass} (one of the builder's {@link Builder#handler}
     * classes): {@code server.async(method, pool.handler(MyHandler.class))}. It returns at once; the call is
     * answered from the pool's threads.
     */
    public AsyncHandler handler(Class<? extends IsolatedHandler> handlerClass) {
        int index = indexOf(handlerClass);
        return call -> {
            CompletableFuture<ByteBuffer> stage = new CompletableFuture<>();
            submit(new CallJob(call, index, stage, deadline(call.deadlineNanos())));
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
        int index = indexOf(handlerClass);
        long timeoutNanos;
        try {
            timeoutNanos = timeout.toNanos();
        } catch (ArithmeticException tooLong) {
            timeoutNanos = Long.MAX_VALUE;
        }
        long deadline = deadline(System.nanoTime() + Math.min(timeoutNanos, maxCallNanos));
        CompletableFuture<ByteBuffer> result = new CompletableFuture<>();
        submit(new FutureJob(request.duplicate(), index, deadline, result));
        return result;
    }

    /** What the pool is doing now. */
    public WorkerPoolStats stats() {
        synchronized (lock) {
            List<Long> pids = new ArrayList<>();
            for (Worker w : workers) {
                if (w.ready) {
                    pids.add(w.child.pid());
                }
            }
            return new WorkerPoolStats(name, pids.size(), busy, starting, queue.size(), served, restarts,
                    deadlineKills, cancelKills, queueFull, recycled, new EnumMap<>(crashes), pids);
        }
    }

    /**
     * Waits until every worker is started and ready (or serving) and none is being stopped; false if that did not
     * happen within {@code timeout}, or the pool is closed.
     */
    public boolean awaitReady(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        synchronized (lock) {
            while (!closed && !(idle.size() + busy == target && starting == 0 && stopping == 0)) {
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(lock, left);
            }
            return !closed;
        }
    }

    /**
     * Stops the pool: queued calls are refused (UNAVAILABLE, retry-safe), calls being served fail with CLOSED, every
     * worker is stopped (end of input, SIGTERM, SIGKILL of its process tree, each step bounded) and the socket
     * directory removed. Idempotent; returns once the workers are gone.
     */
    @Override
    public void close() {
        List<Job> queued;
        List<Job> running = new ArrayList<>();
        List<Worker> all;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            queued = new ArrayList<>(queue);
            queue.clear();
            queued.forEach(j -> j.done = true);
            all = new ArrayList<>(workers);
            for (Worker w : all) {
                if (w.job != null) {
                    w.job.done = true;
                    running.add(w.job);
                }
                retireLocked(w);
            }
            lock.notifyAll();
        }
        for (Job j : queued) {
            j.answer(null, Status.of(Status.Code.UNAVAILABLE, "worker pool '" + name + "' is closed"), true);
        }
        for (Job j : running) {
            j.answer(null, Status.of(Status.Code.CLOSED, "worker pool '" + name + "' was closed while a worker ran the call"),
                    false);
        }
        List<ChildJvm> children = new ArrayList<>();
        List<Worker> started = new ArrayList<>();
        for (Worker w : all) {
            w.closeChannel();
            ChildJvm c = w.child;
            if (c != null && claimStop(w)) {
                children.add(c);
                started.add(w);
            }   // else its starting thread finds it retired once its process exists, and stops it (counted below)
        }
        ChildJvm.stopAll(children, note -> LOG.log(System.Logger.Level.INFO, note));
        for (Worker w : started) {
            w.killProcessGroup();
            stopFinished(w);
        }
        synchronized (lock) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            boolean interrupted = false;
            while (stopping > 0 && System.nanoTime() < end) {
                try {
                    lock.wait(100);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        timer.shutdownNow();
        outputThread.interrupt();
        deleteDirectory();
    }

    /** The directory of the workers' sockets (removed by {@link #close()}); for tests. */
    Path socketDirectory() {
        return dir;
    }

    @Override
    public String toString() {
        return "WorkerPool[" + name + ", " + stats() + "]";
    }

    // ================================================================== calls

    private int indexOf(Class<? extends IsolatedHandler> handlerClass) {
        Integer index = handlerIndex.get(Objects.requireNonNull(handlerClass, "handlerClass"));
        if (index == null) {
            throw new IllegalArgumentException(handlerClass.getName() + " is not a handler of worker pool '" + name
                    + "' (its builder's handler(...) classes: " + handlerNames + ")");
        }
        return index;
    }

    /** The call's deadline (nanoTime; {@link Long#MAX_VALUE} for none), at most {@code maxCallTime} from now. */
    private long deadline(long callDeadline) {
        long now = System.nanoTime();
        return callDeadline != Long.MAX_VALUE && callDeadline - now < maxCallNanos ? callDeadline : now + maxCallNanos;
    }

    private void submit(Job j) {
        Status refusal = null;
        List<Job> sends = null;
        // Scheduled before the call can be answered, so that whoever answers it cancels the timer (a timer left
        // behind would hold the call until its deadline).
        try {
            j.expiry = timer.schedule(() -> expire(j, false), Math.max(0, j.deadline - System.nanoTime()),
                    TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException closedAlready) {
            // The pool is closed: refused below.
        }
        synchronized (lock) {
            if (closed) {
                refusal = Status.of(Status.Code.UNAVAILABLE, "worker pool '" + name + "' is closed");
            } else if (j.request.remaining() > maxMessageSize) {
                refusal = Status.of(Status.Code.MESSAGE_TOO_LARGE, "request of " + j.request.remaining()
                        + " bytes exceeds worker pool '" + name + "''s maximum message size " + maxMessageSize);
            } else if (queue.size() >= maxQueued && !(busy < concurrency && !idle.isEmpty())) {
                queueFull++;
                refusal = Status.of(Status.Code.RESOURCE_EXHAUSTED, "worker pool '" + name + "': " + queue.size()
                        + " calls wait for a worker already (its limit); the call did not run");
            } else {
                j.callId = ++nextCallId;
                queue.addLast(j);
                sends = dispatchLocked();
            }
        }
        if (refusal != null) {
            j.cancelExpiry();
            j.answer(null, refusal, true);
            return;
        }
        send(sends);
    }

    /** Gives queued calls to free workers, up to the concurrency; the caller sends them, outside the lock. */
    private List<Job> dispatchLocked() {
        List<Job> sends = null;
        while (!queue.isEmpty() && busy < concurrency && !idle.isEmpty()) {
            Job j = queue.pollFirst();
            Worker w = idle.pollFirst();
            busy++;
            w.job = j;
            j.worker = w;
            if (sends == null) {
                sends = new ArrayList<>(2);
            }
            sends.add(j);
        }
        return sends;
    }

    private void send(List<Job> sends) {
        if (sends == null) {
            return;
        }
        for (Job j : sends) {
            // An idle worker has read everything before: a request that fits the socket's send buffer is written
            // without blocking, on the dispatching thread; a larger one on a thread of its own.
            if (j.request.remaining() + FrameChannel.HEADER + FrameChannel.CALL_FIXED + Metadata.MAX_ENCODED_SIZE
                    <= j.worker.channel.sendBuffer()) {
                write(j);
            } else {
                Thread.ofVirtual().name("baton-isolation-" + name + "-write").start(() -> write(j));
            }
        }
    }

    private void write(Job j) {
        Worker w = j.worker;
        try {
            synchronized (w.writeLock) {
                Metadata md = j.metadata;
                int mdSize = md.isEmpty() ? 0 : md.encodedSize();
                int fixed = FrameChannel.CALL_FIXED + mdSize;
                ByteBuffer h = w.channel.startFrame(FrameChannel.CALL, j.callId, fixed, fixed + j.request.remaining());
                h.putInt(j.method).putInt(j.handler).putLong(j.deadline - System.nanoTime()).putInt(mdSize);
                if (mdSize > 0) {
                    md.encode(h);
                }
                w.channel.write(j.request.duplicate());
            }
        } catch (IOException e) {
            // The worker is gone or being stopped: its reader sees the end and answers the call.
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "worker pool '" + name + "': cannot send a call to " + w, e);
            w.closeChannel();   // its reader answers the call (WORKER_CRASHED) and replaces it
        }
    }

    /** The call's deadline passed, or ({@code cancelled}) its caller cancelled it. */
    private void expire(Job j, boolean cancelled) {
        Worker w;
        List<Job> sends = null;
        int waiting;
        synchronized (lock) {
            if (j.done) {
                return;
            }
            j.done = true;
            w = j.worker;
            waiting = queue.size();
            if (w == null) {
                queue.remove(j);
            } else {
                if (cancelled) {
                    cancelKills++;
                } else {
                    deadlineKills++;
                }
                retireLocked(w);
                sends = dispatchLocked();
            }
        }
        j.cancelExpiry();
        String what;
        if (w == null) {
            what = cancelled ? "cancelled while waiting for a worker of pool '" + name + "'"
                    : "no worker of pool '" + name + "' was free within the call's deadline (" + waiting + " calls waiting)";
        } else {
            what = (cancelled ? "cancelled" : "the handler ran past the call's deadline") + " in " + w
                    + "; its process tree is being stopped (SIGTERM, " + millis(killGrace) + " ms, SIGKILL) and replaced";
        }
        j.answer(null, Status.of(cancelled ? Status.Code.CANCELLED : Status.Code.DEADLINE_EXCEEDED, what), false);
        send(sends);
        if (w != null) {
            stopAndReplace(w);
        }
    }

    /** Every {@value #CANCEL_POLL_MS} ms: calls whose caller cancelled them (their deadline is the timer's). */
    private void pollCancellations() {
        List<Job> cancelled = null;
        synchronized (lock) {
            for (Worker w : workers) {
                Job j = w.job;
                if (j != null && !j.done && j.isCancelled()) {
                    (cancelled == null ? cancelled = new ArrayList<>() : cancelled).add(j);
                }
            }
            for (Job j : queue) {
                if (j.isCancelled()) {
                    (cancelled == null ? cancelled = new ArrayList<>() : cancelled).add(j);
                }
            }
        }
        if (cancelled != null) {
            long now = System.nanoTime();
            for (Job j : cancelled) {
                expire(j, now - j.deadline < 0);   // past its deadline: the deadline's, not the caller's
            }
        }
    }

    // ================================================================== workers

    private void startWorker(boolean replacement) {
        Worker w;
        synchronized (lock) {
            if (closed) {
                return;
            }
            w = new Worker(nextWorkerId++);
            workers.add(w);
            starting++;
            if (replacement) {
                restarts++;
            }
        }
        // A platform thread, blocked in read(2) itself: a virtual thread's read would go through the JDK's poller
        // thread, one more wake-up per answer (measured: p50 of a 16 B call 25-30 us slower). One per worker.
        Thread.ofPlatform().daemon(true).name("baton-isolation-" + w.childName).start(() -> launchAndServe(w));
    }

    private void launchAndServe(Worker w) {
        ServerSocketChannel listener = null;
        ScheduledFuture<?> timeout = null;
        try {
            listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            listener.bind(UnixDomainSocketAddress.of(w.socket));
            List<String> args = new ArrayList<>(List.of(w.socket.toString(), Integer.toString(w.id),
                    Integer.toString(maxMessageSize)));
            args.addAll(handlerNames);
            byChildName.put(w.childName, w);
            ChildJvm.Builder cb = ChildJvm.builder(w.childName, WorkerMain.class).jvmOptions(jvmOptions)
                    .args(args).lines(output).keepLines(KEEP_LINES).describeLines(LOG_LINES)
                    .stopGrace(Duration.ZERO, killGrace).readerThreadName("baton-isolation-" + w.childName + "-out");
            if (classPath != null) {
                cb.classPath(classPath);
            }
            if (SETSID != null) {
                cb.commandPrefix(List.of(SETSID));
            }
            ChildJvm child = cb.start();
            synchronized (lock) {
                w.child = child;
                if (w.retired) {
                    throw new IOException("the pool was closed while the worker started");
                }
            }
            ServerSocketChannel l = listener;
            timeout = timer.schedule(() -> {
                closeQuietly(l);
                w.closeChannel();
            }, startTimeout.toNanos(), TimeUnit.NANOSECONDS);
            ProcessHandle.of(child.pid()).ifPresent(p -> p.onExit().thenRun(() -> closeQuietly(l)));
            SocketChannel sc = listener.accept();
            listener.close();
            Files.deleteIfExists(w.socket);
            FrameChannel ch = new FrameChannel(sc);
            synchronized (lock) {
                w.channel = ch;
                if (w.retired) {
                    throw new IOException("the pool was closed while the worker started");
                }
            }
            if (!ch.next(64) || ch.type() != FrameChannel.HELLO || ch.bodyLength() != 12) {
                throw new IOException("the worker did not say HELLO");
            }
            ByteBuffer hello = ch.bodyInBuffer();
            int id = hello.getInt();
            long pid = hello.getLong();
            if (id != w.id || pid != child.pid()) {
                throw new IOException("the HELLO of worker " + id + " (pid " + pid + ") came to the socket of " + w);
            }
            timeout.cancel(false);
            List<Job> sends;
            synchronized (lock) {
                if (w.retired) {
                    throw new IOException("the pool was closed while the worker started");
                }
                starting--;
                w.ready = true;
                startFailuresInARow = 0;
                w.readyNanos = System.nanoTime();
                idle.addLast(w);    // behind the warm workers: taken when they are all busy
                sends = dispatchLocked();
                lock.notifyAll();
            }
            send(sends);
        } catch (IOException | RuntimeException e) {
            if (timeout != null) {
                timeout.cancel(false);
            }
            closeQuietly(listener);
            startFailed(w, e);
            return;
        }
        readLoop(w);
    }

    private void startFailed(Worker w, Exception e) {
        long backoffMs;
        boolean wasClosed;
        synchronized (lock) {
            wasClosed = closed || w.retired;
            retireLocked(w);
            backoffMs = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS << Math.min(6, startFailuresInARow++));
        }
        if (!wasClosed) {
            LOG.log(System.Logger.Level.WARNING, "worker pool '" + name + "': " + w + " did not start (" + e
                    + "); retrying in " + backoffMs + " ms" + (w.child == null ? "" : ". " + w.child.describe()));
        }
        stop(w);
        if (!wasClosed) {
            try {
                timer.schedule(() -> startWorker(false), backoffMs, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException closedMeanwhile) {
                // close() shut the timer down.
            }
        }
    }

    /** Reads the worker's answers until its socket ends; then the worker is gone (or being stopped). */
    private void readLoop(Worker w) {
        FrameChannel ch = w.channel;
        int maxBody = Math.max(maxMessageSize, FrameChannel.SCRATCH);
        try {
            while (ch.next(maxBody)) {
                long id = ch.callId();
                int len = ch.bodyLength();
                switch (ch.type()) {
                    case FrameChannel.REPLY -> {
                        // A heap buffer: the response is the caller's to keep (core has no hook to give a buffer
                        // back), and a fresh direct buffer costs its page faults, 2.8 ms per MiB measured here,
                        // against 0.1-0.2 ms for the JDK's copy through its cached per-thread direct buffer.
                        ByteBuffer response = ByteBuffer.allocate(len);
                        if (len <= FrameChannel.SCRATCH) {
                            response.put(ch.bodyInBuffer()).flip();
                        } else {
                            ch.readBody(response, len);
                            response.flip();
                        }
                        answered(w, id, response, null);
                    }
                    case FrameChannel.FAILED -> {
                        checkMessage(len);
                        ByteBuffer body = ch.bodyInBuffer();
                        Status.Code code = Status.Code.of(body.getInt());
                        answered(w, id, null, Status.of(code == Status.Code.OK ? Status.Code.UNKNOWN : code,
                                StandardCharsets.UTF_8.decode(body).toString()));
                    }
                    case FrameChannel.FATAL -> {
                        checkMessage(len);
                        ByteBuffer body = ch.bodyInBuffer();
                        byte kind = body.get();
                        String message = StandardCharsets.UTF_8.decode(body).toString();
                        fatal(w, id, kind == FrameChannel.FATAL_STACK_OVERFLOW ? CrashKind.STACK_OVERFLOW
                                : CrashKind.ERROR, message);
                        return;
                    }
                    default -> throw new ProtocolException("unexpected frame type " + ch.type());
                }
            }
        } catch (ProtocolException e) {
            w.protocolError = e.getMessage();       // a worker that broke the frames: stopped, and said so
        } catch (IOException e) {
            // The worker died, or we closed its socket to stop it; died() tells which.
        }
        died(w);
    }

    private static void checkMessage(int len) throws IOException {
        if (len > 4 + FrameChannel.MAX_MESSAGE) {
            throw new ProtocolException("a failure message of " + len + " bytes");
        }
    }

    /** A worker answered call {@code id}: with a response, or a handler's failure (it keeps serving). */
    private void answered(Worker w, long id, ByteBuffer response, Status failure) {
        Job j;
        List<Job> sends;
        boolean recycle;
        synchronized (lock) {
            j = w.job;
            if (j == null || j.callId != id || w.retired) {
                return;     // the call expired first; the worker is being stopped
            }
            j.done = true;
            served++;
            recycle = maxCallsPerWorker > 0 && ++w.calls >= maxCallsPerWorker;
            if (recycle) {
                recycled++;
                retireLocked(w);
            } else {
                w.job = null;
                busy--;
                idle.addFirst(w);
            }
            sends = dispatchLocked();
        }
        j.cancelExpiry();
        j.answer(response, failure, false);
        send(sends);
        if (recycle) {
            stopAndReplace(w);  // served its share: a fresh JVM for what the handler may have leaked
        }
    }

    /** A worker reported an Error in its handler and exits: the call fails, the worker is replaced. */
    private void fatal(Worker w, long id, CrashKind kind, String message) {
        Job j;
        List<Job> sends;
        synchronized (lock) {
            if (w.retired) {
                return;
            }
            j = w.job != null && w.job.callId == id ? w.job : null;
            if (j != null) {
                j.done = true;
            }
            crashes.merge(kind, 1L, Long::sum);
            retireLocked(w);
            sends = dispatchLocked();
        }
        String what = w + (kind == CrashKind.STACK_OVERFLOW ? " overflowed its stack (" + message + ")"
                : " threw " + message) + "; the worker was replaced";
        if (j != null) {
            j.cancelExpiry();
            j.answer(null, Status.of(Status.Code.WORKER_CRASHED, what), false);
        }
        send(sends);
        logCrash(w, what);
        stopAndReplace(w);
    }

    /** The worker's socket ended without our stopping it: the worker died. */
    private void died(Worker w) {
        Job j;
        List<Job> sends;
        synchronized (lock) {
            if (w.retired) {
                return;     // stopped by us (deadline, cancellation, close): expected
            }
            j = w.job;
            if (j != null) {
                j.done = true;
            }
            retireLocked(w);
            sends = dispatchLocked();   // a spare takes the queued calls at once
        }
        send(sends);
        WorkerExit exit = exitOf(w);
        synchronized (lock) {
            crashes.merge(exit.kind(), 1L, Long::sum);
        }
        String what = w + " " + exit.description() + (j == null ? " while idle" : " while serving the call")
                + "; the next call goes to a fresh worker";
        if (j != null) {
            j.cancelExpiry();
            j.answer(null, Status.of(Status.Code.WORKER_CRASHED, what), false);
        }
        logCrash(w, what);
        stopAndReplace(w);
    }

    /** How the worker ended: its exit code (waited for, bounded) and its last output lines. */
    private WorkerExit exitOf(Worker w) {
        if (w.protocolError != null) {
            return new WorkerExit(CrashKind.ERROR, "broke the supervisor protocol (" + w.protocolError + ") and was stopped");
        }
        int code;
        try {
            code = w.child.awaitExit(EXIT_WAIT);
        } catch (ChildJvmException e) {
            return new WorkerExit(CrashKind.EXIT, "closed its socket but kept running");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new WorkerExit(CrashKind.EXIT, "ended (interrupted while waiting for its exit code)");
        }
        try {
            w.outputEnded.get(OUTPUT_END_WAIT_MS, TimeUnit.MILLISECONDS);   // a grandchild may hold the pipe
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // Classify with the lines read so far.
        }
        return WorkerExit.of(code, w.child.output());
    }

    private void logCrash(Worker w, String what) {
        StringBuilder b = new StringBuilder("worker pool '").append(name).append("': ").append(what);
        List<String> lines = w.child == null ? List.of() : w.child.output();
        if (lines.isEmpty()) {
            b.append("; it printed nothing");
        } else {
            b.append("; its last output:");
            for (String l : lines.subList(Math.max(0, lines.size() - LOG_LINES), lines.size())) {
                b.append(System.lineSeparator()).append("  ").append(w.childName).append("| ").append(l);
            }
        }
        LOG.log(System.Logger.Level.WARNING, b.toString());
    }

    /** Takes the worker out of service (it is not idle, busy or starting any more); the caller stops it. */
    private void retireLocked(Worker w) {
        if (w.retired) {
            return;
        }
        w.retired = true;
        if (!w.ready) {
            starting--;
        }
        if (w.job != null) {
            w.job = null;
            busy--;
        }
        idle.remove(w);
        workers.remove(w);
        stopping++;
        lock.notifyAll();
    }

    /** Starts a replacement, and stops the retired worker's process tree on a thread of its own. */
    private void stopAndReplace(Worker w) {
        startWorker(true);
        Thread.ofVirtual().name("baton-isolation-" + name + "-stop-w" + w.id).start(() -> stop(w));
    }

    /** Stops a retired worker (bounded escalation), then its process group; counts it stopped. Once per worker. */
    private void stop(Worker w) {
        if (!claimStop(w)) {
            return;     // close() stops it
        }
        try {
            w.closeChannel();
            if (w.child != null) {
                ChildJvm.stopAll(List.of(w.child), note -> LOG.log(System.Logger.Level.INFO, note));
            }
            w.killProcessGroup();
        } finally {
            try {
                Files.deleteIfExists(w.socket);
            } catch (IOException e) {
                // The directory goes on close.
            }
            stopFinished(w);
        }
    }

    /** True for the one caller that is to stop {@code w}: close() and the worker's own threads may both try. */
    private boolean claimStop(Worker w) {
        synchronized (lock) {
            if (w.stopClaimed) {
                return false;
            }
            w.stopClaimed = true;
            return true;
        }
    }

    /** Counts a retired worker stopped, once. */
    private void stopFinished(Worker w) {
        synchronized (lock) {
            if (!w.stopCounted) {
                w.stopCounted = true;
                stopping--;
            }
            lock.notifyAll();
        }
    }

    private void drainOutput() {
        try {
            while (true) {
                ChildJvm.Line line = output.take();
                Worker w = byChildName.get(line.child().name());
                if (line.isEnd()) {
                    if (w != null) {
                        w.outputEnded.complete(null);
                        byChildName.remove(w.childName);
                    }
                } else if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
                    LOG.log(System.Logger.Level.DEBUG, "[" + line.child().name() + " " + line.child().pid() + "] "
                            + line.text());
                }
            }
        } catch (InterruptedException e) {
            // close()
        }
    }

    private void deleteDirectory() {
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "worker pool '" + name + "': cannot remove " + dir + ": " + e);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception e) {
                // Closing is all that was asked.
            }
        }
    }

    private static long millis(Duration d) {
        return d.toMillis();
    }

    private static String findSetsid() {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return null;
        }
        for (String p : List.of("/usr/bin/setsid", "/bin/setsid")) {
            if (Files.isExecutable(Path.of(p))) {
                return p;
            }
        }
        return null;
    }

    /** One worker process, from its start to its stop. */
    private final class Worker {
        final int id;
        final String childName;
        final Path socket;
        final Object writeLock = new Object();
        final CompletableFuture<Void> outputEnded = new CompletableFuture<>();
        volatile ChildJvm child;    // set once started
        volatile FrameChannel channel;  // set once connected
        Job job;                    // guarded by lock
        boolean retired;            // guarded by lock
        boolean ready;              // guarded by lock: said HELLO and joined the idle workers
        boolean stopCounted;        // guarded by lock
        boolean stopClaimed;        // guarded by lock
        long readyNanos;
        int calls;                  // guarded by lock
        volatile String protocolError;

        Worker(int id) {
            this.id = id;
            this.childName = name + "-w" + id;
            this.socket = dir.resolve("w" + id + ".sock");
        }

        void closeChannel() {
            closeQuietly(channel);
        }

        /**
         * SIGKILLs the worker's process group (its session, from {@code setsid}): what its handlers started and
         * left behind when the worker died without killing them (a halt, SIGKILL, a native crash).
         */
        void killProcessGroup() {
            ChildJvm c = child;
            if (SETSID == null || c == null) {
                return;
            }
            try {
                Process kill = new ProcessBuilder("kill", "-KILL", "--", "-" + c.pid())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                if (!kill.waitFor(5, TimeUnit.SECONDS)) {
                    kill.destroyForcibly();
                }
            } catch (IOException e) {
                // No kill(1): the tree was killed by ChildJvm; only orphans of a dead worker can remain.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public String toString() {
            ChildJvm c = child;
            return "worker " + childName + (c == null ? "" : " (pid " + c.pid() + ")");
        }
    }

    // ================================================================== jobs

    /** One call for a worker: from a server ({@link CallJob}) or {@link #submit} ({@link FutureJob}). */
    private abstract static class Job {
        final ByteBuffer request;
        final int method;
        final int handler;
        final Metadata metadata;
        final long deadline;
        long callId;                    // guarded by lock
        Worker worker;                  // guarded by lock
        boolean done;                   // guarded by lock: answered, or about to be, by whoever set it
        volatile ScheduledFuture<?> expiry;

        Job(ByteBuffer request, int method, int handler, Metadata metadata, long deadline) {
            this.request = request;
            this.method = method;
            this.handler = handler;
            this.metadata = metadata;
            this.deadline = deadline;
        }

        void cancelExpiry() {
            ScheduledFuture<?> e = expiry;
            if (e != null) {
                e.cancel(false);
            }
        }

        abstract boolean isCancelled();

        /** Answers with {@code response}, or {@code failure} ({@code refused}: known not to have run). Once. */
        abstract void answer(ByteBuffer response, Status failure, boolean refused);
    }

    private static final class CallJob extends Job {
        private final ServerCall call;
        private final CompletableFuture<ByteBuffer> stage;

        CallJob(ServerCall call, int handler, CompletableFuture<ByteBuffer> stage, long deadline) {
            super(call.request().buffer(), call.method(), handler, call.metadata(), deadline);
            this.call = call;
            this.stage = stage;
        }

        @Override
        boolean isCancelled() {
            return call.isCancelled();
        }

        @Override
        void answer(ByteBuffer response, Status failure, boolean refused) {
            try {
                if (failure == null) {
                    call.reply(response);
                } else if (refused) {
                    call.refuse(failure);
                } else {
                    call.fail(failure);
                }
            } finally {
                stage.complete(null);   // answered already: the server sends nothing more
            }
        }
    }

    private static final class FutureJob extends Job {
        private final CompletableFuture<ByteBuffer> result;

        FutureJob(ByteBuffer request, int handler, long deadline, CompletableFuture<ByteBuffer> result) {
            super(request, -1, handler, Metadata.EMPTY, deadline);
            this.result = result;
        }

        @Override
        boolean isCancelled() {
            return result.isCancelled();
        }

        @Override
        void answer(ByteBuffer response, Status failure, boolean refused) {
            if (failure == null) {
                result.complete(response);
            } else {
                result.completeExceptionally((refused ? failure.withRetrySafe(true) : failure).asException());
            }
        }
    }

    // ================================================================== builder

    /** How to build a pool. Not thread-safe; use once. */
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
            if (Objects.requireNonNull(name, "name").isBlank() || !name.matches("[A-Za-z0-9._-]{1,40}")) {
                throw new IllegalArgumentException("a pool name is 1 to 40 letters, digits, '.', '_' or '-': " + name);
            }
            this.name = name;
        }

        /** How many calls run at once, one per worker. Default: 1. */
        public Builder workers(int count) {
            this.workers = positive("workers", count);
            return this;
        }

        /**
         * How many more workers are kept started and ready, so that a call after a worker's death is served at once
         * while a replacement starts. At least 1. Default: 1.
         */
        public Builder spares(int count) {
            this.spares = positive("spares", count);
            return this;
        }

        /** How many calls may wait for a free worker; more are refused (RESOURCE_EXHAUSTED, retry-safe). Default: 64. */
        public Builder maxQueued(int count) {
            if (count < 0) {
                throw new IllegalArgumentException("maxQueued must not be negative, was " + count);
            }
            this.maxQueued = count;
            return this;
        }

        /**
         * How many calls a worker answers before it is replaced by a fresh one (as TVM's popen pool's maximum uses),
         * for handlers that leak memory, threads or native state; 0 for no limit. The worker is stopped after
         * answering, while a spare takes the next call. Default: 0.
         */
        public Builder maxCallsPerWorker(int calls) {
            if (calls < 0) {
                throw new IllegalArgumentException("maxCallsPerWorker must not be negative, was " + calls);
            }
            this.maxCallsPerWorker = calls;
            return this;
        }

        /** How long a worker stopped at a deadline gets between SIGTERM and SIGKILL. Default: 1 s. */
        public Builder killGrace(Duration grace) {
            if (grace.isNegative()) {
                throw new IllegalArgumentException("killGrace must not be negative, was " + grace);
            }
            this.killGrace = grace;
            return this;
        }

        /** How long a worker may take to start and say it is ready before it is killed and retried. Default: 60 s. */
        public Builder startTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("startTimeout must be positive, was " + timeout);
            }
            this.startTimeout = timeout;
            return this;
        }

        /** The longest a call may run, whatever (or whether) its caller's deadline. Default: 10 min. */
        public Builder maxCallTime(Duration time) {
            if (time.isNegative() || time.isZero()) {
                throw new IllegalArgumentException("maxCallTime must be positive, was " + time);
            }
            this.maxCallTime = time;
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
            this.maxMessageSize = positive("maxMessageSize", bytes);
            return this;
        }

        /**
         * A handler class the workers make (each one instance, at start): public, not abstract, with a public
         * no-argument constructor.
         */
        public Builder handler(Class<? extends IsolatedHandler> handlerClass) {
            Objects.requireNonNull(handlerClass, "handlerClass");
            int m = handlerClass.getModifiers();
            if (!Modifier.isPublic(m) || Modifier.isAbstract(m) || handlerClass.isInterface()
                    || (handlerClass.getEnclosingClass() != null && !Modifier.isStatic(m))) {
                throw new IllegalArgumentException(handlerClass.getName()
                        + " must be a public, concrete, top-level or static nested class");
            }
            try {
                if (!Modifier.isPublic(handlerClass.getConstructor().getModifiers())) {
                    throw new NoSuchMethodException();
                }
            } catch (NoSuchMethodException e) {
                throw new IllegalArgumentException(handlerClass.getName() + " has no public no-argument constructor");
            }
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
            Path dir = Files.createTempDirectory("baton-isolation-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            WorkerPool pool = new WorkerPool(this, dir);
            pool.outputThread.start();
            pool.timer.scheduleWithFixedDelay(pool::pollCancellations, CANCEL_POLL_MS, CANCEL_POLL_MS,
                    TimeUnit.MILLISECONDS);
            for (int i = 0; i < workers + spares; i++) {
                pool.startWorker(false);
            }
            return pool;
        }

        private static int positive(String what, int n) {
            if (n < 1) {
                throw new IllegalArgumentException(what + " must be at least 1, was " + n);
            }
            return n;
        }
    }
}
