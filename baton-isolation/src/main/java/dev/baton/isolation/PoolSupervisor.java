package dev.baton.isolation;

import dev.baton.Metadata;
import dev.baton.Status;
import dev.baton.isolation.internal.FrameChannel;
import dev.baton.process.ChildJvm;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import static dev.baton.isolation.Worker.closeQuietly;
import static dev.baton.isolation.WorkerPool.LOG;

/**
 * What a {@link WorkerPool} does: admits calls (or refuses them), gives them to free workers and sends them,
 * answers them (a worker's answer, a deadline, a cancellation, a worker's death, the pool's close), and keeps the
 * workers started: starts them (retried with backoff), replaces those that died or were stopped, and stops them.
 * The pool's public methods delegate here.
 *
 * <p>Threading: thread-safe. The pool's bookkeeping is in {@link PoolState}, whose monitor is the pool's lock; each
 * step here takes it for its bookkeeping only, then sends, answers, logs and stops processes after releasing it.
 * A call is answered by whoever marks it done under the lock, once. Runs on the callers' threads, each worker's
 * platform thread (start, then its answers), the pool's timer thread (deadlines, start time-outs and retries, the
 * cancellation poll), and short virtual threads (stopping a worker, writing a large request); the workers' output
 * is {@link WorkerOutput}'s.
 */
final class PoolSupervisor implements Worker.Answers {

    /** A call cancelled this close to its deadline (or later) was cancelled by the deadline: counted as such. */
    private static final long DEADLINE_TICK_SLACK_NS = 10_000_000L;

    private final PoolSettings settings;
    private final String name;
    private final PoolState state;
    private final ScheduledThreadPoolExecutor timer;
    private final WorkerOutput output;

    PoolSupervisor(PoolSettings settings) {
        this.settings = settings;
        this.name = settings.name();
        this.state = new PoolState(settings);
        this.timer = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().daemon(true)
                .name("baton-isolation-" + name + "-timer").unstarted(r));
        timer.setRemoveOnCancelPolicy(true);
        this.output = new WorkerOutput(name);
    }

    PoolState state() {
        return state;
    }

    /** Starts the pool's threads and its workers, in parallel; returns at once. */
    void start() {
        output.start();
        timer.scheduleWithFixedDelay(this::pollCancellations, WorkerPool.CANCEL_POLL_MS, WorkerPool.CANCEL_POLL_MS,
                TimeUnit.MILLISECONDS);
        for (int i = 0; i < settings.target(); i++) {
            startWorker(false);
        }
    }

    /** See {@link WorkerPool#close()}. */
    void close() {
        List<Job> queued;
        List<Job> running = new ArrayList<>();
        List<Worker> all;
        synchronized (state) {
            if (state.closed) {
                return;
            }
            state.closed = true;
            queued = new ArrayList<>(state.queue);
            state.queue.clear();
            queued.forEach(j -> j.done = true);
            all = new ArrayList<>(state.workers);
            for (Worker w : all) {
                if (w.job != null) {
                    w.job.done = true;
                    running.add(w.job);
                }
                state.retireLocked(w);
            }
            state.notifyAll();
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
            if (c != null && state.claimStop(w)) {
                children.add(c);
                started.add(w);
            }   // else its starting thread finds it retired once its process exists, and stops it (counted below)
        }
        ChildJvm.stopAll(children, note -> LOG.log(System.Logger.Level.INFO, note));
        for (Worker w : started) {
            w.killProcessGroup();
            state.stopFinished(w);
        }
        state.awaitStopped(Duration.ofSeconds(60));
        timer.shutdownNow();
        output.stop();
        deleteDirectory();
    }

    // ================================================================== calls

    /** Queues the call for a worker, or refuses it (closed, too large, queue full) at once. */
    void submit(Job j) {
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
        int maxMessageSize = settings.maxMessageSize();
        synchronized (state) {
            if (state.closed) {
                refusal = Status.of(Status.Code.UNAVAILABLE, "worker pool '" + name + "' is closed");
            } else if (j.request.remaining() > maxMessageSize) {
                refusal = Status.of(Status.Code.MESSAGE_TOO_LARGE, "request of " + j.request.remaining()
                        + " bytes exceeds worker pool '" + name + "''s maximum message size " + maxMessageSize);
            } else if (state.queueFullLocked(settings.maxQueued())) {
                state.queueFull++;
                refusal = Status.of(Status.Code.RESOURCE_EXHAUSTED, "worker pool '" + name + "': " + state.queue.size()
                        + " calls wait for a worker already (its limit); the call did not run");
            } else {
                j.callId = ++state.nextCallId;
                state.queue.addLast(j);
                sends = state.dispatchLocked();
            }
        }
        if (refusal != null) {
            j.cancelExpiry();
            j.answer(null, refusal, true);
            return;
        }
        send(sends);
    }

    /** Writes the dispatched calls to their workers; called without the lock. */
    private void send(List<Job> sends) {
        if (sends == null) {
            return;
        }
        for (Job j : sends) {
            // An idle worker has read everything before: a request that fits the socket's send buffer is written
            // without blocking, on the dispatching thread; a larger one on a thread of its own.
            Worker w = j.worker;
            if (j.request.remaining() + FrameChannel.HEADER + FrameChannel.CALL_FIXED + Metadata.MAX_ENCODED_SIZE
                    <= w.channel.sendBuffer()) {
                w.write(j);
            } else {
                Thread.ofVirtual().name("baton-isolation-" + name + "-write").start(() -> w.write(j));
            }
        }
    }

    /** The call's deadline passed, or ({@code cancelled}) its caller cancelled it. */
    private void expire(Job j, boolean cancelled) {
        Worker w;
        List<Job> sends = null;
        int waiting;
        synchronized (state) {
            if (j.done) {
                return;
            }
            j.done = true;
            w = j.worker;
            waiting = state.queue.size();
            if (w == null) {
                state.queue.remove(j);
            } else {
                if (cancelled) {
                    state.cancelKills++;
                } else {
                    state.deadlineKills++;
                }
                state.retireLocked(w);
                sends = state.dispatchLocked();
            }
        }
        j.cancelExpiry();
        String what;
        if (w == null) {
            what = cancelled ? "cancelled while waiting for a worker of pool '" + name + "'"
                    : "no worker of pool '" + name + "' was free within the call's deadline (" + waiting + " calls waiting)";
        } else {
            what = (cancelled ? "cancelled" : "the handler ran past the call's deadline") + " in " + w
                    + "; its process tree is being stopped (SIGTERM, " + settings.killGrace().toMillis()
                    + " ms, SIGKILL) and replaced";
        }
        j.answer(null, Status.of(cancelled ? Status.Code.CANCELLED : Status.Code.DEADLINE_EXCEEDED, what), false);
        send(sends);
        if (w != null) {
            stopAndReplace(w);
        }
    }

    /** Every {@value WorkerPool#CANCEL_POLL_MS} ms: calls whose caller cancelled them (their deadline is the timer's). */
    private void pollCancellations() {
        List<Job> cancelled = null;
        synchronized (state) {
            for (Worker w : state.workers) {
                Job j = w.job;
                if (j != null && !j.done && j.isCancelled()) {
                    (cancelled == null ? cancelled = new ArrayList<>() : cancelled).add(j);
                }
            }
            for (Job j : state.queue) {
                if (j.isCancelled()) {
                    (cancelled == null ? cancelled = new ArrayList<>() : cancelled).add(j);
                }
            }
        }
        if (cancelled != null) {
            long now = System.nanoTime();
            for (Job j : cancelled) {
                // Core's timer cancels an expired call on its 1 ms ticks, which may be just before the job's own
                // deadline: a cancellation that close to the deadline is the deadline's, not the caller's.
                expire(j, j.deadline - now > DEADLINE_TICK_SLACK_NS);
            }
        }
    }

    // ================================================================== workers

    private void startWorker(boolean replacement) {
        Worker w;
        synchronized (state) {
            if (state.closed) {
                return;
            }
            w = new Worker(name, settings.dir(), state.nextWorkerId++);
            state.workers.add(w);
            state.starting++;
            if (replacement) {
                state.restarts++;
            }
        }
        // A platform thread, blocked in read(2) itself: a virtual thread's read would go through the JDK's poller
        // thread, one more wake-up per answer (measured: p50 of a 16 B call 25-30 us slower). One per worker.
        Thread.ofPlatform().daemon(true).name("baton-isolation-" + w.childName).start(() -> launchAndServe(w));
    }

    /** On the worker's thread: starts it, waits for its connection and HELLO, makes it idle, then reads its answers. */
    private void launchAndServe(Worker w) {
        ServerSocketChannel listener = null;
        ScheduledFuture<?> timeout = null;
        try {
            listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            listener.bind(UnixDomainSocketAddress.of(w.socket));
            output.register(w);
            ChildJvm child = w.startProcess(settings, output.lines());
            synchronized (state) {
                w.child = child;
                if (w.retired) {
                    throw new IOException("the pool was closed while the worker started");
                }
            }
            ServerSocketChannel l = listener;
            timeout = timer.schedule(() -> {
                closeQuietly(l);
                w.closeChannel();
            }, settings.startTimeout().toNanos(), TimeUnit.NANOSECONDS);
            ProcessHandle.of(child.pid()).ifPresent(p -> p.onExit().thenRun(() -> closeQuietly(l)));
            SocketChannel sc = listener.accept();
            listener.close();
            Files.deleteIfExists(w.socket);
            FrameChannel ch = new FrameChannel(sc);
            synchronized (state) {
                w.channel = ch;
                if (w.retired) {
                    throw new IOException("the pool was closed while the worker started");
                }
            }
            w.readHello();
            timeout.cancel(false);
            List<Job> sends;
            synchronized (state) {
                if (w.retired) {
                    throw new IOException("the pool was closed while the worker started");
                }
                state.starting--;
                w.ready = true;
                state.startFailuresInARow = 0;
                w.readyNanos = System.nanoTime();
                state.idle.addLast(w);    // behind the warm workers: taken when they are all busy
                sends = state.dispatchLocked();
                state.notifyAll();
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
        if (!w.readAnswers(settings.maxMessageSize(), this)) {
            died(w);
        }
    }

    private void startFailed(Worker w, Exception e) {
        long backoffMs;
        boolean wasClosed;
        synchronized (state) {
            wasClosed = state.closed || w.retired;
            state.retireLocked(w);
            backoffMs = Math.min(WorkerPool.MAX_BACKOFF_MS,
                    WorkerPool.FIRST_BACKOFF_MS << Math.min(6, state.startFailuresInARow++));
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

    @Override
    public void answered(Worker w, long id, ByteBuffer response, Status failure) {
        Job j;
        List<Job> sends;
        boolean recycle;
        synchronized (state) {
            j = w.job;
            if (j == null || j.callId != id || w.retired) {
                return;     // the call expired first; the worker is being stopped
            }
            j.done = true;
            state.served++;
            int maxCallsPerWorker = settings.maxCallsPerWorker();
            recycle = maxCallsPerWorker > 0 && ++w.calls >= maxCallsPerWorker;
            if (recycle) {
                state.recycled++;
                state.retireLocked(w);
            } else {
                w.job = null;
                state.busy--;
                state.idle.addFirst(w);
            }
            sends = state.dispatchLocked();
        }
        j.cancelExpiry();
        j.answer(response, failure, false);
        send(sends);
        if (recycle) {
            stopAndReplace(w);  // served its share: a fresh JVM for what the handler may have leaked
        }
    }

    /** The call fails, the worker is replaced. */
    @Override
    public void fatal(Worker w, long id, CrashKind kind, String message) {
        Job j;
        List<Job> sends;
        synchronized (state) {
            if (w.retired) {
                return;
            }
            j = w.job != null && w.job.callId == id ? w.job : null;
            if (j != null) {
                j.done = true;
            }
            state.crashes.merge(kind, 1L, Long::sum);
            state.retireLocked(w);
            sends = state.dispatchLocked();
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
        synchronized (state) {
            if (w.retired) {
                return;     // stopped by us (deadline, cancellation, close): expected
            }
            j = w.job;
            if (j != null) {
                j.done = true;
            }
            state.retireLocked(w);
            sends = state.dispatchLocked();   // a spare takes the queued calls at once
        }
        send(sends);
        WorkerExit exit = w.exit();
        synchronized (state) {
            state.crashes.merge(exit.kind(), 1L, Long::sum);
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

    private void logCrash(Worker w, String what) {
        LOG.log(System.Logger.Level.WARNING, "worker pool '" + name + "': " + what + w.lastOutput());
    }

    /** Starts a replacement, and stops the retired worker's process tree on a thread of its own. */
    private void stopAndReplace(Worker w) {
        startWorker(true);
        Thread.ofVirtual().name("baton-isolation-" + name + "-stop-w" + w.id).start(() -> stop(w));
    }

    /** Stops a retired worker (bounded escalation), then its process group; counts it stopped. Once per worker. */
    private void stop(Worker w) {
        if (!state.claimStop(w)) {
            return;     // close() stops it
        }
        try {
            w.stopProcess();
        } finally {
            state.stopFinished(w);
        }
    }

    private void deleteDirectory() {
        Path dir = settings.dir();
        try {
            PoolDirectories.delete(dir);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "worker pool '" + name + "': cannot remove " + dir + ": " + e);
        }
    }
}
