package dev.baton.internal.rpc;

import dev.baton.AsyncHandler;
import dev.baton.Handler;
import dev.baton.Server;
import dev.baton.ServerInterceptor;
import dev.baton.StreamHandler;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Arrays;
import java.util.Objects;

/** Collects handlers, then registers the server. */
final class ServerBuilderImpl implements Server.Builder {

    private static final int MAX_METHOD = 0xFFFF;

    private final NodeRuntime runtime;
    private final String service;
    private int serverId = -1;
    private ServerImpl.Entry[] handlers = new ServerImpl.Entry[0];
    private final List<ServerInterceptor> interceptors = new ArrayList<>();
    private int dealerCapacity = 4096;
    private boolean dealerCapacitySet;

    ServerBuilderImpl(NodeRuntime runtime, String service) {
        this.runtime = runtime;
        this.service = Objects.requireNonNull(service, "service");
        if (service.isEmpty()) {
            throw new IllegalArgumentException("service name must not be empty");
        }
    }

    @Override
    public Server.Builder serverId(int serverId) {
        if (serverId < -1) {
            throw new IllegalArgumentException("serverId must be >= 0 (or -1 for any), was " + serverId);
        }
        this.serverId = serverId;
        return this;
    }

    @Override
    public Server.Builder inline(int method, Handler handler) {
        return put(method, new ServerImpl.Entry(ServerImpl.Mode.INLINE, Objects.requireNonNull(handler, "handler"), null, null));
    }

    @Override
    public Server.Builder blocking(int method, Handler handler) {
        return put(method, new ServerImpl.Entry(ServerImpl.Mode.BLOCKING, Objects.requireNonNull(handler, "handler"), null, null));
    }

    @Override
    public Server.Builder async(int method, AsyncHandler handler) {
        return put(method, new ServerImpl.Entry(ServerImpl.Mode.ASYNC, null, Objects.requireNonNull(handler, "handler"), null));
    }

    @Override
    public Server.Builder stream(int method, StreamHandler handler) {
        return put(method, new ServerImpl.Entry(ServerImpl.Mode.STREAM, null, null,
                Objects.requireNonNull(handler, "handler")));
    }

    private Server.Builder put(int method, ServerImpl.Entry e) {
        if (method < 0 || method > MAX_METHOD) {
            throw new IllegalArgumentException("method must be between 0 and " + MAX_METHOD + ", was " + method);
        }
        if (method >= handlers.length) {
            handlers = Arrays.copyOf(handlers, method + 1);
        }
        if (handlers[method] != null) {
            throw new IllegalArgumentException("method " + method + " already has a handler");
        }
        handlers[method] = e;
        return this;
    }

    @Override
    public Server.Builder intercept(ServerInterceptor interceptor) {
        interceptors.add(Objects.requireNonNull(interceptor, "interceptor"));
        return this;
    }

    @Override
    public Server.Builder dealerQueueCapacity(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("dealerQueueCapacity must be positive, was " + capacity);
        }
        this.dealerCapacity = capacity;
        this.dealerCapacitySet = true;
        return this;
    }

    @Override
    public Server start() {
        return start(runtime.options().joinTimeout());
    }

    @Override
    public Server start(Duration timeout) {
        boolean noHandlers = Arrays.stream(handlers).allMatch(Objects::isNull);
        List<ServerInterceptor> all = new ArrayList<>(runtime.options().serverInterceptors());
        all.addAll(interceptors);
        return runtime.registerServer(service, serverId, handlers.clone(), all.toArray(new ServerInterceptor[0]),
                dealerCapacitySet || noHandlers, dealerCapacity, timeout);
    }
}
