package dev.baton.isolation;

import dev.baton.Metadata;
import dev.baton.Status;
import dev.baton.isolation.internal.FrameChannel;
import dev.baton.isolation.internal.WorkerMain;
import dev.baton.process.ChildJvm;
import dev.baton.process.ChildJvmException;

import java.io.IOException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One worker process of a {@link WorkerPool}, from its start to its stop: its command line ({@link WorkerMain}
 * through {@link ChildJvm}, in a session of its own through {@code setsid} on Linux), its HELLO, the CALL frames
 * written to it and the answers read from it, how it ended ({@link WorkerExit}), and the process I/O that stops it
 * and its process group. The pool's bookkeeping of it (idle, busy, retired) is {@link PoolSupervisor}'s.
 *
 * <p>Threading: the fields marked "guarded by the pool's lock" are read and written only with {@link PoolState}'s
 * monitor held. {@link #child} and {@link #channel} are set once, by the worker's own thread. Its answers are read
 * by that one thread ({@link #readAnswers}); CALL frames are written under {@link #writeLock}, one at a time. The
 * methods here do I/O and must be called without the pool's lock.
 */
final class Worker {

    private static final String SETSID = findSetsid();

    final int id;
    final String childName;
    final Path socket;
    private final String poolName;
    private final Object writeLock = new Object();
    final CompletableFuture<Void> outputEnded = new CompletableFuture<>();
    volatile ChildJvm child;        // set once started
    volatile FrameChannel channel;  // set once connected
    Job job;                        // guarded by the pool's lock
    boolean retired;                // guarded by the pool's lock
    boolean ready;                  // guarded by the pool's lock: said HELLO and joined the idle workers
    boolean stopCounted;            // guarded by the pool's lock
    boolean stopClaimed;            // guarded by the pool's lock
    long readyNanos;
    int calls;                      // guarded by the pool's lock
    private volatile String protocolError;

    Worker(String poolName, Path dir, int id) {
        this.id = id;
        this.poolName = poolName;
        this.childName = poolName + "-w" + id;
        this.socket = dir.resolve("w" + id + ".sock");
    }

    /**
     * Starts the worker's JVM, to connect to {@link #socket} (bound by the caller) and serve the pool's handlers;
     * its output lines go to {@code output}.
     */
    ChildJvm startProcess(PoolSettings settings, BlockingQueue<ChildJvm.Line> output) throws IOException {
        List<String> args = new ArrayList<>(List.of(socket.toString(), Integer.toString(id),
                Integer.toString(settings.maxMessageSize())));
        args.addAll(settings.handlerNames());
        ChildJvm.Builder cb = ChildJvm.builder(childName, WorkerMain.class).jvmOptions(settings.jvmOptions())
                .args(args).lines(output).keepLines(WorkerPool.KEEP_LINES).describeLines(WorkerPool.LOG_LINES)
                .stopGrace(Duration.ZERO, settings.killGrace()).readerThreadName("baton-isolation-" + childName + "-out");
        if (settings.classPath() != null) {
            cb.classPath(settings.classPath());
        }
        if (SETSID != null) {
            cb.commandPrefix(List.of(SETSID));
        }
        return cb.start();
    }

    /** Reads the worker's HELLO from {@link #channel}: it must name this worker and the process the pool started. */
    void readHello() throws IOException {
        FrameChannel ch = channel;
        if (!ch.next(64) || ch.type() != FrameChannel.HELLO || ch.bodyLength() != 12) {
            throw new IOException("the worker did not say HELLO");
        }
        ByteBuffer hello = ch.bodyInBuffer();
        int id = hello.getInt();
        long pid = hello.getLong();
        if (id != this.id || pid != child.pid()) {
            throw new IOException("the HELLO of worker " + id + " (pid " + pid + ") came to the socket of " + this);
        }
    }

    /** Writes {@code j} (given to this worker) as a CALL frame; a failure is seen by the reader, as the socket's end. */
    void write(Job j) {
        try {
            synchronized (writeLock) {
                Metadata md = j.metadata;
                int mdSize = md.isEmpty() ? 0 : md.encodedSize();
                int fixed = FrameChannel.CALL_FIXED + mdSize;
                ByteBuffer h = channel.startFrame(FrameChannel.CALL, j.callId, fixed, fixed + j.request.remaining());
                h.putInt(j.method).putInt(j.handler).putLong(j.deadline - System.nanoTime()).putInt(mdSize);
                if (mdSize > 0) {
                    md.encode(h);
                }
                channel.write(j.request.duplicate());
            }
        } catch (IOException e) {
            // The worker is gone or being stopped: its reader sees the end and answers the call.
        } catch (RuntimeException e) {
            WorkerPool.LOG.log(System.Logger.Level.ERROR, "worker pool '" + poolName + "': cannot send a call to "
                    + this, e);
            closeChannel();   // its reader answers the call (WORKER_CRASHED) and replaces it
        }
    }

    /** Where {@link #readAnswers} hands what the worker said. Called on the worker's thread, without the pool's lock. */
    interface Answers {
        /** The worker answered call {@code callId}: with a response, or a handler's failure (it keeps serving). */
        void answered(Worker w, long callId, ByteBuffer response, Status failure);

        /** The worker reported an Error in its handler and exits. */
        void fatal(Worker w, long callId, CrashKind kind, String message);
    }

    /**
     * Reads the worker's answers until it reports a FATAL error (true, after {@link Answers#fatal}) or its socket
     * ends (false: the worker died, broke the protocol, or is being stopped; {@link #exit} tells which).
     */
    boolean readAnswers(int maxMessageSize, Answers to) {
        FrameChannel ch = channel;
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
                        to.answered(this, id, response, null);
                    }
                    case FrameChannel.FAILED -> {
                        checkMessage(len);
                        ByteBuffer body = ch.bodyInBuffer();
                        Status.Code code = Status.Code.of(body.getInt());
                        to.answered(this, id, null, Status.of(code == Status.Code.OK ? Status.Code.UNKNOWN : code,
                                StandardCharsets.UTF_8.decode(body).toString()));
                    }
                    case FrameChannel.FATAL -> {
                        checkMessage(len);
                        ByteBuffer body = ch.bodyInBuffer();
                        byte kind = body.get();
                        String message = StandardCharsets.UTF_8.decode(body).toString();
                        to.fatal(this, id, kind == FrameChannel.FATAL_STACK_OVERFLOW ? CrashKind.STACK_OVERFLOW
                                : CrashKind.ERROR, message);
                        return true;
                    }
                    default -> throw new ProtocolException("unexpected frame type " + ch.type());
                }
            }
        } catch (ProtocolException e) {
            protocolError = e.getMessage();       // a worker that broke the frames: stopped, and said so
        } catch (IOException e) {
            // The worker died, or we closed its socket to stop it; the pool's bookkeeping tells which.
        }
        return false;
    }

    private static void checkMessage(int len) throws IOException {
        if (len > 4 + FrameChannel.MAX_MESSAGE) {
            throw new ProtocolException("a failure message of " + len + " bytes");
        }
    }

    /** How the worker ended, after its socket did: its exit code (waited for, bounded) and its last output lines. */
    WorkerExit exit() {
        if (protocolError != null) {
            return new WorkerExit(CrashKind.ERROR, "broke the supervisor protocol (" + protocolError + ") and was stopped");
        }
        int code;
        try {
            code = child.awaitExit(WorkerPool.EXIT_WAIT);
        } catch (ChildJvmException e) {
            return new WorkerExit(CrashKind.EXIT, "closed its socket but kept running");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new WorkerExit(CrashKind.EXIT, "ended (interrupted while waiting for its exit code)");
        }
        try {
            outputEnded.get(WorkerPool.OUTPUT_END_WAIT_MS, TimeUnit.MILLISECONDS);   // a grandchild may hold the pipe
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // Classify with the lines read so far.
        }
        return WorkerExit.of(code, child.output());
    }

    /** "; its last output:" and the worker's last {@value WorkerPool#LOG_LINES} lines, or "; it printed nothing". */
    String lastOutput() {
        StringBuilder b = new StringBuilder();
        List<String> lines = child == null ? List.of() : child.output();
        if (lines.isEmpty()) {
            b.append("; it printed nothing");
        } else {
            b.append("; its last output:");
            for (String l : lines.subList(Math.max(0, lines.size() - WorkerPool.LOG_LINES), lines.size())) {
                b.append(System.lineSeparator()).append("  ").append(childName).append("| ").append(l);
            }
        }
        return b.toString();
    }

    void closeChannel() {
        closeQuietly(channel);
    }

    /**
     * Stops the worker's process tree (end of input, SIGTERM, the kill grace, SIGKILL: {@link ChildJvm#stopAll}'s
     * bounded escalation), then its process group, and deletes its socket file.
     */
    void stopProcess() {
        try {
            closeChannel();
            if (child != null) {
                ChildJvm.stopAll(List.of(child), note -> WorkerPool.LOG.log(System.Logger.Level.INFO, note));
            }
            killProcessGroup();
        } finally {
            try {
                Files.deleteIfExists(socket);
            } catch (IOException e) {
                // The directory goes on close.
            }
        }
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

    static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception e) {
                // Closing is all that was asked.
            }
        }
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
}
