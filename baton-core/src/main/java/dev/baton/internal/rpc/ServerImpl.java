package dev.baton.internal.rpc;

import dev.baton.AsyncHandler;
import dev.baton.BatonException;
import dev.baton.Dealer;
import dev.baton.Handler;
import dev.baton.Node;
import dev.baton.Server;
import dev.baton.ServerCall;
import dev.baton.ServerInfo;
import dev.baton.Status;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/** A server instance hosted by this node: its handlers by method, and its dealer queue. */
final class ServerImpl implements Server {

    private static final System.Logger LOG = System.getLogger(ServerImpl.class.getName());
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    enum Mode { INLINE, BLOCKING, ASYNC }

    record Entry(Mode mode, Handler handler, AsyncHandler async) {
    }

    private final NodeRuntime runtime;
    private final ServerInfo info;
    private final Entry[] handlers;
    private final boolean acceptsDealers;
    private final ArrayBlockingQueue<ServerCallImpl> dealerQueue;
    private volatile boolean closed;
    private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();

    ServerImpl(NodeRuntime runtime, ServerInfo info, Entry[] handlers, boolean acceptsDealers, int dealerCapacity) {
        this.runtime = runtime;
        this.info = info;
        this.handlers = handlers;
        this.acceptsDealers = acceptsDealers;
        this.dealerQueue = new ArrayBlockingQueue<>(dealerCapacity);
    }

    ServerInfo info() {
        return info;
    }

    @Override
    public String service() {
        return info.service();
    }

    @Override
    public int serverId() {
        return info.serverId();
    }

    @Override
    public int serviceId() {
        return info.serviceId();
    }

    @Override
    public Node node() {
        return runtime;
    }

    boolean isClosed() {
        return closed;
    }

    /** Runs or queues {@code call} according to its method's registration. */
    void dispatch(ServerCallImpl call) {
        call.server = this;
        int m = call.method();
        Entry e = m < handlers.length ? handlers[m] : null;
        if (e == null) {
            if (!acceptsDealers) {
                call.reject(Status.of(Status.Code.NO_SUCH_METHOD, "service '" + info.service() + "' has no method " + m));
            } else {
                call.retain();      // the queue's, until a dealer takes the call
                boolean queued = !closed && dealerQueue.offer(call);
                // close() may have emptied the queue between the check and the offer: take the call back then.
                if (!queued || (closed && dealerQueue.remove(call))) {
                    call.reject(Status.of(Status.Code.RESOURCE_EXHAUSTED, "dealer queue of '" + info.service()
                            + "' server " + info.serverId() + (closed ? " is closed" : " is full")).withRetrySafe(true));
                    call.release();
                }
            }
            return;
        }
        switch (e.mode()) {
            case INLINE -> invoke(e.handler(), call);
            case BLOCKING -> {
                call.retain();      // the task's, until the handler returns
                try {
                    runtime.handlerExecutor().execute(() -> {
                        try {
                            invoke(e.handler(), call);
                        } finally {
                            call.release();
                        }
                    });
                } catch (RejectedExecutionException ex) {
                    call.reject(Status.of(Status.Code.UNAVAILABLE, "handler executor rejected the call").withRetrySafe(true));
                    call.release();
                }
            }
            case ASYNC -> invokeAsync(e.async(), call);
        }
    }

    private static void invoke(Handler h, ServerCallImpl call) {
        try {
            h.handle(call);
        } catch (Throwable t) {
            failFromHandler(call, t);
        }
    }

    private static void invokeAsync(AsyncHandler h, ServerCallImpl call) {
        call.retain();      // the stage's, until it completes
        try {
            h.handle(call).whenComplete((response, error) -> {
                try {
                    if (error == null) {
                        if (!call.isAnswered()) {
                            call.reply(response == null ? EMPTY : response);
                        }
                    } else {
                        failFromHandler(call, error instanceof CompletionException && error.getCause() != null
                                ? error.getCause() : error);
                    }
                } finally {
                    call.release();
                }
            });
        } catch (Throwable t) {
            failFromHandler(call, t);
            call.release();
        }
    }

    static void failFromHandler(ServerCallImpl call, Throwable t) {
        Status s = t instanceof BatonException b ? b.status()
                : Status.of(Status.Code.HANDLER_FAILED, t.getMessage() == null ? t.getClass().getName()
                : t.getClass().getSimpleName() + ": " + t.getMessage());
        if (call.isAnswered()) {
            LOG.log(System.Logger.Level.WARNING, "handler threw after answering call " + call.requestId(), t);
            return;
        }
        call.reject(s);
    }

    @Override
    public Dealer dealer() {
        return new Dealer() {
            @Override
            public ServerCall recvRequest(Duration timeout) throws InterruptedException {
                return take(timeout);
            }

            @Override
            public Server server() {
                return ServerImpl.this;
            }
        };
    }

    /**
     * The next queued request, or null after {@code timeout}. The queue's reference is dropped on the way out:
     * from then on the answer's keeps the call, which is recycled once answered.
     */
    private ServerCall take(Duration timeout) throws InterruptedException {
        ServerCallImpl c = poll(timeout);
        if (c != null) {
            c.release();
        }
        return c;
    }

    private ServerCallImpl poll(Duration timeout) throws InterruptedException {
        ServerCallImpl c = dealerQueue.poll();
        if (c != null) {
            return c;
        }
        long spinEnd = System.nanoTime() + runtime.callerSpinNs();
        while (System.nanoTime() - spinEnd < 0) {
            Thread.onSpinWait();
            if ((c = dealerQueue.poll()) != null) {
                return c;
            }
        }
        long end = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = end - System.nanoTime();
            if (left <= 0 || (closed && dealerQueue.isEmpty())) {
                return dealerQueue.poll();
            }
            // Bounded slices so a close is noticed even when nothing arrives.
            c = dealerQueue.poll(Math.min(left, 50_000_000L), TimeUnit.NANOSECONDS);
            if (c != null) {
                return c;
            }
        }
    }

    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        closed = true;
        runtime.removeServer(this);
        // Requests no dealer took will never be taken: answer them now rather than at their deadline.
        ServerCallImpl left;
        while ((left = dealerQueue.poll()) != null) {
            left.reject(Status.of(Status.Code.UNAVAILABLE, "server " + info.serverId() + " of '" + info.service()
                    + "' closed before a dealer took the request").withRetrySafe(true));
            left.release();
        }
    }

    @Override
    public String toString() {
        return "Server[" + info.service() + "/" + info.serverId() + " on rank " + info.rank() + "]";
    }
}
