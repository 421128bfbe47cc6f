package dev.baton.internal.rpc;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.ClientInterceptor;
import dev.baton.ClientStream;
import dev.baton.Message;
import dev.baton.ResponseListener;
import dev.baton.ServerInfo;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/** A client of one service: options plus the service's round-robin cursor; the sender does the rest. */
final class ClientImpl implements Client {

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final CallSender sender;
    private final CallWaiter waiter;
    private final NodeRuntime node;
    private final String service;
    private final CallOptions options;
    private final AtomicInteger cursor;
    /** The node's interceptors, then this client's; empty (the usual case) costs one length check per call. */
    private final ClientInterceptor[] interceptors;

    ClientImpl(CallSender sender, CallWaiter waiter, NodeRuntime node, String service, CallOptions options,
               AtomicInteger cursor, ClientInterceptor[] interceptors) {
        this.sender = sender;
        this.waiter = waiter;
        this.node = node;
        this.service = Objects.requireNonNull(service, "service");
        this.options = Objects.requireNonNull(options, "options");
        this.cursor = cursor;
        this.interceptors = interceptors;
    }

    @Override
    public String service() {
        return service;
    }

    @Override
    public CallOptions options() {
        return options;
    }

    @Override
    public Client withOptions(CallOptions options) {
        return new ClientImpl(sender, waiter, node, service, options, cursor, interceptors);
    }

    @Override
    public Client withInterceptors(ClientInterceptor... more) {
        ClientInterceptor[] all = Arrays.copyOf(interceptors, interceptors.length + more.length);
        for (int i = 0; i < more.length; i++) {
            all[interceptors.length + i] = Objects.requireNonNull(more[i], "interceptor");
        }
        return new ClientImpl(sender, waiter, node, service, options, cursor, all);
    }

    @Override
    public List<ServerInfo> servers() {
        return node.membership().servers(service);
    }

    @Override
    public List<ServerInfo> awaitServers(int count, Duration timeout) throws InterruptedException {
        return node.awaitServers(service, count, timeout);
    }

    @Override
    public CompletableFuture<Message> callAsync(int method, ByteBuffer request, CallOptions options) {
        PendingCall call = sender.start(service, cursor, interceptors, method, request, options, PendingCall.FUTURE, null);
        CompletableFuture<Message> f = call.future();
        call.release();
        return f;
    }

    @Override
    public void call(int method, ByteBuffer request, CallOptions options, ResponseListener listener) {
        Objects.requireNonNull(listener, "listener");
        sender.start(service, cursor, interceptors, method, request, options, PendingCall.LISTENER, listener).release();
    }

    @Override
    public Message call(int method, ByteBuffer request, CallOptions options) {
        return waiter.await(sender.start(service, cursor, interceptors, method, request, options, PendingCall.BLOCKING, null));
    }

    @Override
    public ClientStream openStream(int method, CallOptions options) {
        ClientStreamImpl stream = new ClientStreamImpl();
        PendingCall call = sender.start(service, cursor, interceptors, method, EMPTY, options, PendingCall.FUTURE, null,
                stream);
        CompletableFuture<Message> opening = call.future();
        stream.follow(opening, call.options().metadata());
        call.release();
        if (opening.isCompletedExceptionally() && !opening.isCancelled()) {
            try {
                opening.join();
            } catch (java.util.concurrent.CompletionException e) {
                if (e.getCause() instanceof BatonException b) {
                    throw new BatonException(b.status());      // known before anything was sent: a clear error here
                }
                throw e;
            }
        }
        return stream;
    }

    @Override
    public void oneWay(int method, ByteBuffer request, CallOptions options) {
        PendingCall call = sender.start(service, cursor, interceptors, method, request, options, PendingCall.ONE_WAY, null);
        try {
            // One-way calls complete when written; fail now only for errors known before sending.
            BatonException e = call.delivered() ? call.error() : null;
            if (e != null) {
                throw new BatonException(e.status());
            }
        } finally {
            call.release();
        }
    }
}
