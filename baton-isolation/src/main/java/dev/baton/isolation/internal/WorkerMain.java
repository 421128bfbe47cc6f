package dev.baton.isolation.internal;

import dev.baton.BatonException;
import dev.baton.Metadata;
import dev.baton.Status;
import dev.baton.isolation.IsolatedCall;
import dev.baton.isolation.IsolatedHandler;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * A worker process of a {@code WorkerPool}: connects to its supervisor's socket, says HELLO, then serves one CALL
 * at a time on its main thread, with the handler classes named on its command line (instantiated before HELLO, so
 * a worker that is ready has them).
 *
 * <p>It never outlives its supervisor: it stops, SIGKILLing whatever its handlers started, when its stdin ends
 * (the supervisor holds the pipe: it closes when the supervisor dies, however it dies), when its parent process
 * exits, and when the supervisor's socket ends. Its shutdown hook (SIGTERM, {@code System.exit}) SIGKILLs its
 * descendants too, so a grandchild that ignores SIGTERM goes with it.
 *
 * <p>Arguments: {@code socketPath workerId maxMessageSize handlerClass...}. Exit codes of its own: 2 for bad
 * arguments or handler classes, 70 after a FATAL report (an {@link Error} in a handler).
 */
public final class WorkerMain {

    /** The exit code after an Error in a handler was reported (EX_SOFTWARE). */
    public static final int EXIT_AFTER_FATAL = 70;
    static final int EXIT_BAD_START = 2;

    private WorkerMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: WorkerMain socketPath workerId maxMessageSize handlerClass...");
            System.exit(EXIT_BAD_START);
        }
        Path socket = Path.of(args[0]);
        int workerId = Integer.parseInt(args[1]);
        int maxMessage = Integer.parseInt(args[2]);
        watchSupervisor();
        IsolatedHandler[] handlers = new IsolatedHandler[args.length - 3];
        for (int i = 0; i < handlers.length; i++) {
            handlers[i] = instantiate(args[3 + i]);
        }
        FrameChannel ch = FrameChannel.connect(socket);
        ch.startFrame(FrameChannel.HELLO, 0, 12, 12).putInt(workerId).putLong(ProcessHandle.current().pid());
        ch.write(null);
        serve(ch, handlers, maxMessage);
        stop(0);   // the supervisor closed the socket: it is closing the pool, or gone
    }

    private static IsolatedHandler instantiate(String className) {
        try {
            Class<?> c = Class.forName(className);
            return (IsolatedHandler) c.getConstructor().newInstance();
        } catch (InvocationTargetException e) {
            System.err.println("baton worker: " + className + "'s constructor threw: " + e.getCause());
            e.getCause().printStackTrace();
        } catch (ReflectiveOperationException | ClassCastException | LinkageError e) {
            System.err.println("baton worker: cannot make a handler of " + className + ": " + e);
        }
        System.exit(EXIT_BAD_START);
        throw new AssertionError();
    }

    private static void serve(FrameChannel ch, IsolatedHandler[] handlers, int maxMessage) throws IOException {
        int maxBody = FrameChannel.CALL_FIXED + Metadata.MAX_ENCODED_SIZE + maxMessage;
        ByteBuffer large = null;
        Call call = new Call();
        while (ch.next(maxBody)) {
            if (ch.type() != FrameChannel.CALL) {
                throw new IOException("unexpected frame type " + ch.type() + " from the supervisor");
            }
            long id = ch.callId();
            int length = ch.bodyLength();
            ByteBuffer body;
            if (length <= FrameChannel.SCRATCH) {
                body = ch.bodyInBuffer();
            } else {
                if (large == null || large.capacity() < length) {
                    large = ByteBuffer.allocateDirect(length).order(ByteOrder.LITTLE_ENDIAN);
                }
                large.clear().limit(length);
                ch.readBody(large, length);
                body = large.flip();
            }
            int method = body.getInt();
            int handler = body.getInt();
            long timeoutNanos = body.getLong();
            int metadataLength = body.getInt();
            call.method = method;
            call.deadline = System.nanoTime() + timeoutNanos;
            call.metadata = metadataLength == 0 ? Metadata.EMPTY
                    : Metadata.decode(body, body.position(), metadataLength);
            body.position(body.position() + metadataLength);
            call.request = body.slice().asReadOnlyBuffer();
            if (handler < 0 || handler >= handlers.length) {
                ch.writeMessage(FrameChannel.FAILED, id, (byte) 0, Status.Code.INTERNAL.value(),
                        "no handler " + handler + " in this worker");
                continue;
            }
            ByteBuffer response;
            try {
                response = handlers[handler].handle(call);
            } catch (BatonException e) {
                ch.writeMessage(FrameChannel.FAILED, id, (byte) 0, e.status().code().value(), e.status().description());
                continue;
            } catch (Exception e) {
                ch.writeMessage(FrameChannel.FAILED, id, (byte) 0, Status.Code.HANDLER_FAILED.value(),
                        e.getMessage() == null ? e.getClass().getName() : e.getClass().getSimpleName() + ": " + e.getMessage());
                continue;
            } catch (StackOverflowError e) {
                fatal(ch, id, FrameChannel.FATAL_STACK_OVERFLOW, "stack overflow in "
                        + handlers[handler].getClass().getName());
                return;
            } catch (Error e) {
                fatal(ch, id, FrameChannel.FATAL_ERROR, e.toString());
                return;
            } finally {
                call.request = null;
            }
            int size = response == null ? 0 : response.remaining();
            if (size > maxMessage) {
                ch.writeMessage(FrameChannel.FAILED, id, (byte) 0, Status.Code.MESSAGE_TOO_LARGE.value(),
                        "response of " + size + " bytes exceeds the pool's maximum message size " + maxMessage);
                continue;
            }
            ch.startFrame(FrameChannel.REPLY, id, 0, size);
            ch.write(response);
        }
    }

    /** Reports an Error in a handler, then exits: the worker may be broken (a class left uninitialized...). */
    private static void fatal(FrameChannel ch, long id, byte kind, String message) {
        try {
            ch.writeMessage(FrameChannel.FATAL, id, kind, null, message);
        } catch (IOException | RuntimeException | Error e) {
            // The supervisor sees the exit instead.
        }
        stop(EXIT_AFTER_FATAL);
    }

    /** The three ways a worker learns that its supervisor is gone; each stops it at once. */
    private static void watchSupervisor() {
        Runtime.getRuntime().addShutdownHook(new Thread(WorkerMain::killDescendants, "baton-worker-reaper"));
        Thread stdin = new Thread(() -> {
            byte[] buf = new byte[256];
            try {
                InputStream in = System.in;
                while (in.read(buf) >= 0) {
                    // Nothing is sent on stdin; it only ends.
                }
            } catch (IOException e) {
                // Broken pipe: the same news.
            }
            stop(0);
        }, "baton-worker-stdin");
        stdin.setDaemon(true);
        stdin.start();
        ProcessHandle.current().parent().ifPresent(p -> p.onExit().thenRun(() -> stop(0)));
    }

    /** SIGKILLs every process the handlers started, then halts (no shutdown hooks: nothing else may run). */
    static void stop(int code) {
        killDescendants();
        Runtime.getRuntime().halt(code);
    }

    private static void killDescendants() {
        ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly);
    }

    /** The call given to the handler; one object, reused. */
    private static final class Call implements IsolatedCall {
        int method;
        long deadline;
        Metadata metadata;
        ByteBuffer request;

        @Override
        public int method() {
            return method;
        }

        @Override
        public ByteBuffer request() {
            return request;
        }

        @Override
        public Metadata metadata() {
            return metadata;
        }

        @Override
        public long deadlineNanos() {
            return deadline;
        }
    }
}
