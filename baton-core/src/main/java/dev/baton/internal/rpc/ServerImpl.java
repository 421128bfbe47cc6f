package dev.baton.internal.rpc;

import dev.baton.AsyncHandler;
import dev.baton.BatonException;
import dev.baton.CallObserver;
import dev.baton.Dealer;
import dev.baton.Handler;
import dev.baton.Node;
import dev.baton.Server;
import dev.baton.ServerCall;
import dev.baton.ServerInfo;
import dev.baton.ServerInterceptor;
import dev.baton.StreamHandler;
import dev.baton.Status;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A server instance hosted by this node: its handlers by method, and its dealer queue.
 *
 * <p>Closing it deregisters it (clients stop choosing it; requests that still arrive are refused, retry-safe)
 * and lets its dealers drain what is already queued: {@code recvRequest} keeps returning queued requests and
 * returns null once the queue is empty. Whatever no dealer took within the node's drain timeout is refused
 * then (retry-safe: it never ran).
 */
final class ServerImpl implements Server {

    private static final System.Logger LOG = System.getLogger(ServerImpl.class.getName());
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    enum Mode { INLINE, BLOCKING, ASYNC, STREAM }

    record Entry(Mode mode, Handler handler, AsyncHandler async, StreamHandler stream) {
    }

    private final NodeRuntime node;
    private final ServerInfo info;
    private final Entry[] handlers;
    /** The node's interceptors, then this server's; empty (the usual case) costs one length check per request. */
    private final ServerInterceptor[] interceptors;
    /** The node's authorizer, or null (the usual case): one null check per request. */
    private final CallAuthorization authorization;
    private final boolean acceptsDealers;
    private final ArrayBlockingQueue<ServerCallImpl> dealerQueue;
    private volatile boolean closed;
    private final AtomicBoolean closing = new AtomicBoolean();

    ServerImpl(NodeRuntime node, ServerInfo info, Entry[] handlers, ServerInterceptor[] interceptors,
               boolean acceptsDealers, int dealerCapacity) {
        this.node = node;
        this.info = info;
        this.handlers = handlers;
        this.interceptors = interceptors;
        this.authorization = node.authorization();
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
        return node;
    }

    boolean isClosed() {
        return closed;
    }

    /** Runs or queues {@code call} according to its method's registration. The dispatcher holds a reference. */
    void dispatch(ServerCallImpl call) {
        call.routedTo(this);
        int m = call.method();
        Entry e = m < handlers.length ? handlers[m] : null;
        if (e == null && !acceptsDealers) {
            node.counters().requestRefused();
            call.refuse(Status.of(Status.Code.NO_SUCH_METHOD, "service '" + info.service() + "' has no method " + m));
            return;
        }
        if (e != null && (e.mode() == Mode.STREAM) != call.opensStream()) {
            node.counters().requestRefused();
            call.refuse(Status.of(Status.Code.NO_SUCH_METHOD, "method " + m + " of '" + info.service() + "' "
                    + (call.opensStream() ? "takes calls, not streams" : "serves streams: open one with openStream")));
            return;
        }
        if (authorization != null && !authorization.admit(call, info.service())) {
            node.counters().requestRefused();
            return;
        }
        if (interceptors.length != 0 && !intercept(call)) {
            return;
        }
        if (e == null) {
            if (call.opensStream()) {
                node.counters().requestRefused();
                call.refuse(Status.of(Status.Code.NO_SUCH_METHOD, "service '" + info.service()
                        + "' has no stream method " + m));
                return;
            }
            enqueue(call);
            return;
        }
        node.counters().requestHandled();
        switch (e.mode()) {
            case INLINE -> {
                invoke(e.handler(), call);
                call.handlerReturned();
            }
            case BLOCKING -> invokeBlocking(e.handler(), call);
            case ASYNC -> invokeAsync(e.async(), call);
            case STREAM -> invokeStream(e.stream(), call);
        }
    }

    /** Runs the interceptors; false when one refused the call (it is answered with the refusal then). */
    private boolean intercept(ServerCallImpl call) {
        for (ServerInterceptor interceptor : interceptors) {
            try {
                CallObserver o = interceptor.interceptCall(call);
                if (o != null) {
                    call.observe(o);
                }
            } catch (RuntimeException ex) {
                node.counters().requestRefused();
                call.failFromHandler(CallObservers.refusal(ex, "server"));
                return false;
            }
        }
        return true;
    }

    private void enqueue(ServerCallImpl call) {
        call.retain();      // the queue's, until a dealer takes the call
        boolean queued = !closed && dealerQueue.offer(call);
        // close() may have emptied the queue between the check and the offer: take the call back then.
        if (!queued || (closed && dealerQueue.remove(call))) {
            node.counters().requestRefused();
            call.refuse(Status.of(closed ? Status.Code.UNAVAILABLE : Status.Code.RESOURCE_EXHAUSTED,
                    "dealer queue of '" + info.service() + "' server " + info.serverId() + (closed ? " is closed" : " is full")));
            call.release();
        }
    }

    private static void invoke(Handler h, ServerCallImpl call) {
        try {
            h.handle(call);
        } catch (Throwable t) {
            failFromHandler(call, t);
        }
    }

    private void invokeBlocking(Handler h, ServerCallImpl call) {
        call.handlerStarting();
        call.retain();      // the task's, until the handler returns
        try {
            node.handlerExecutor().execute(() -> {
                try {
                    invoke(h, call);
                } finally {
                    call.handlerReturned();
                    call.release();
                }
            });
        } catch (RejectedExecutionException ex) {
            call.handlerReturned();
            call.refuse(Status.of(Status.Code.UNAVAILABLE, "the handler executor of '" + info.service()
                    + "' rejected the call"));
            call.release();
        }
    }

    /**
     * Opens the stream's server side here (on the dispatching thread, so the caller's first messages find it), then
     * runs the handler on the handler executor; its return or exception ends the stream.
     */
    private void invokeStream(StreamHandler h, ServerCallImpl call) {
        ServerStreamImpl stream = ServerStreamImpl.open(call);
        call.handlerStarting();
        call.retain();      // the task's, until the handler returns
        try {
            node.handlerExecutor().execute(() -> {
                try {
                    h.handle(stream);
                    stream.end();
                } catch (Throwable t) {
                    stream.end(handlerStatus(t));
                } finally {
                    call.handlerReturned();
                    call.release();
                }
            });
        } catch (RejectedExecutionException ex) {
            call.handlerReturned();
            stream.end(Status.of(Status.Code.UNAVAILABLE, "the handler executor of '" + info.service()
                    + "' rejected the stream"));
            call.release();
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
                    call.handlerReturned();
                    call.release();
                }
            });
        } catch (Throwable t) {
            failFromHandler(call, t);
            call.handlerReturned();
            call.release();
        }
    }

    /** The status a handler's exception fails its call with: a BatonException's own, else HANDLER_FAILED. */
    static Status handlerStatus(Throwable t) {
        return t instanceof BatonException b ? b.status()
                : Status.of(Status.Code.HANDLER_FAILED, t.getMessage() == null ? t.getClass().getName()
                : t.getClass().getSimpleName() + ": " + t.getMessage());
    }

    static void failFromHandler(ServerCallImpl call, Throwable t) {
        Status s = handlerStatus(t);
        if (call.isAnswered()) {
            LOG.log(System.Logger.Level.WARNING, "handler threw after answering call " + call.requestId(), t);
            return;
        }
        call.failFromHandler(s);
    }

    // ------------------------------------------------------------------ dealers

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
     * The next queued request, or null after {@code timeout} (at once once the server is closed and its queue
     * drained). Requests whose caller gave up meanwhile are skipped. The queue's reference is dropped on the way
     * out: from then on the answer's keeps the call, which is recycled once answered.
     */
    private ServerCall take(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (true) {
            ServerCallImpl c = poll(end);
            if (c == null) {
                return null;
            }
            if (!c.isCancelled()) {
                node.counters().requestHandled();
                c.release();
                return c;
            }
            c.abandon();
            c.release();
        }
    }

    private ServerCallImpl poll(long endNanos) throws InterruptedException {
        ServerCallImpl c = dealerQueue.poll();
        if (c != null) {
            return c;
        }
        long spinEnd = System.nanoTime() + node.callerSpinNs();
        while (System.nanoTime() - spinEnd < 0) {
            Thread.onSpinWait();
            if ((c = dealerQueue.poll()) != null) {
                return c;
            }
        }
        while (true) {
            long left = endNanos - System.nanoTime();
            if (left <= 0 || closed) {
                return dealerQueue.poll();      // once closed, queued requests are still handed out, then null
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
        node.removeServer(this);
        if (!dealerQueue.isEmpty()) {
            // Dealers drain what is queued; what they leave by the drain timeout never ran: refuse it then.
            node.timer().schedule(this::refuseQueued, node.options().drainTimeout().toNanos());
        }
    }

    /** Refuses every request still queued (retry-safe: none ran). */
    void refuseQueued() {
        ServerCallImpl left;
        while ((left = dealerQueue.poll()) != null) {
            node.counters().requestRefused();
            left.refuse(Status.of(Status.Code.UNAVAILABLE, "server " + info.serverId() + " of '" + info.service()
                    + "' closed before a dealer took the request"));
            left.release();
        }
    }

    @Override
    public String toString() {
        return "Server[" + info.service() + "/" + info.serverId() + " on rank " + info.rank() + "]";
    }
}
