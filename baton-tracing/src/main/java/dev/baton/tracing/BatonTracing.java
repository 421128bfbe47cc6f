package dev.baton.tracing;

import dev.baton.CallObserver;
import dev.baton.ClientInterceptor;
import dev.baton.NodeOptions;
import dev.baton.OutgoingCall;
import dev.baton.ServerCall;
import dev.baton.ServerInterceptor;
import dev.baton.Status;
import dev.baton.spi.CallScope;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapPropagator;

import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * OpenTelemetry tracing of a node's calls: a CLIENT span for every call its clients make and a SERVER span for
 * every request its servers accept, linked across processes by the trace context the client's interceptor puts in
 * the call's {@link dev.baton.Metadata} (through the application's propagator: W3C {@code traceparent} and
 * {@code tracestate} by default).
 *
 * <pre>{@code
 * BatonTracing tracing = BatonTracing.create(openTelemetry);
 * Node node = Node.join(tracing.addTo(NodeOptions.builder().master(master)).build());
 * }</pre>
 *
 * <h2>Spans</h2>
 * Named {@code service/method} (the method's number), with the attributes {@code rpc.system} ({@value #RPC_SYSTEM}),
 * {@code rpc.service}, {@code rpc.method} and, when the call ends with an error, {@code rpc.baton.status_code} (the
 * {@link Status.Code}'s name) and the span status ERROR with the error's description. A server span also has
 * {@code rpc.baton.source_rank}, the caller's rank.
 *
 * <h2>Parents</h2>
 * A client span's parent is the current context's span ({@link Context#current()}), or, for a call made with a
 * served call's {@link ServerCall#childOptions()} and no current span, that served call's server span: a chain of
 * calls across nodes is one trace without the handler doing anything. A handler that wants the server span current
 * (for its own spans or logs) uses {@link #context(ServerCall)}. A server span's parent is what the caller's
 * metadata carries, or none.
 *
 * <h2>Costs</h2>
 * What the interceptors cost: a span each side, the context injected into the request's metadata (a few dozen bytes
 * on the wire), and a {@link ServerCall#childOptions()} scope per served request. Nodes without these interceptors
 * pay nothing. Thread-safe.
 */
public final class BatonTracing {

    /** The instrumentation scope name spans are recorded under. */
    public static final String INSTRUMENTATION_NAME = "dev.baton";
    /** The value of {@code rpc.system}. */
    public static final String RPC_SYSTEM = "baton";

    static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("rpc.system");
    static final AttributeKey<String> SERVICE = AttributeKey.stringKey("rpc.service");
    static final AttributeKey<String> METHOD = AttributeKey.stringKey("rpc.method");
    static final AttributeKey<String> STATUS_CODE = AttributeKey.stringKey("rpc.baton.status_code");
    static final AttributeKey<Long> SOURCE_RANK = AttributeKey.longKey("rpc.baton.source_rank");

    private final Tracer tracer;
    private final TextMapPropagator propagator;
    /** The server span of each request being served, by the scope its childOptions() carry. */
    private final Map<CallScope, Context> served = new ConcurrentHashMap<>();
    private final ClientInterceptor client = this::interceptClient;
    private final ServerInterceptor server = this::interceptServer;

    private BatonTracing(OpenTelemetry openTelemetry) {
        this.tracer = openTelemetry.getTracer(INSTRUMENTATION_NAME);
        this.propagator = openTelemetry.getPropagators().getTextMapPropagator();
    }

    /** Tracing through {@code openTelemetry}'s tracer provider and text-map propagator. */
    public static BatonTracing create(OpenTelemetry openTelemetry) {
        return new BatonTracing(Objects.requireNonNull(openTelemetry, "openTelemetry"));
    }

    /** Adds both interceptors to a node's options: every client and server of the node is traced. */
    public NodeOptions.Builder addTo(NodeOptions.Builder options) {
        return options.clientInterceptor(client).serverInterceptor(server);
    }

    /** The interceptor that records client spans and injects the context (for one client: Client.withInterceptors). */
    public ClientInterceptor clientInterceptor() {
        return client;
    }

    /** The interceptor that records server spans (for one server: Server.Builder.intercept). */
    public ServerInterceptor serverInterceptor() {
        return server;
    }

    /**
     * The context of {@code call}'s server span, to make current in its handler ({@code try (Scope s =
     * tracing.context(call).makeCurrent()) {...}}); {@link Context#current()} when this tracing did not see the
     * request. Valid while the call is being served.
     */
    public Context context(ServerCall call) {
        Context c = served.get(call.childOptions().scope());
        return c != null ? c : Context.current();
    }

    /** Requests being served now that have a server span (for tests and leak checks). */
    int servedNow() {
        return served.size();
    }

    private CallObserver interceptClient(OutgoingCall call) {
        Context parent = Context.current();
        CallScope scope = call.options().scope();
        if (scope != null && !Span.fromContext(parent).getSpanContext().isValid()) {
            Context servedContext = served.get(scope);
            if (servedContext != null) {
                parent = servedContext;
            }
        }
        Span span = tracer.spanBuilder(call.service() + "/" + call.method())
                .setSpanKind(SpanKind.CLIENT)
                .setParent(parent)
                .setAttribute(SYSTEM, RPC_SYSTEM)
                .setAttribute(SERVICE, call.service())
                .setAttribute(METHOD, Integer.toString(call.method()))
                .startSpan();
        MetadataCarrier.Injected carrier = new MetadataCarrier.Injected(call.options().metadata());
        propagator.inject(parent.with(span), carrier, MetadataCarrier.SETTER);
        call.options(call.options().withMetadata(carrier.metadata));
        return (status, responseMetadata) -> end(span, status);
    }

    private CallObserver interceptServer(ServerCall call) {
        Context parent = propagator.extract(Context.root(), call.metadata(), MetadataCarrier.GETTER);
        String service = call.server().service();
        Span span = tracer.spanBuilder(service + "/" + call.method())
                .setSpanKind(SpanKind.SERVER)
                .setParent(parent)
                .setAttribute(SYSTEM, RPC_SYSTEM)
                .setAttribute(SERVICE, service)
                .setAttribute(METHOD, Integer.toString(call.method()))
                .setAttribute(SOURCE_RANK, (long) call.sourceRank())
                .startSpan();
        CallScope scope = call.childOptions().scope();
        served.put(scope, parent.with(span));
        return (status, responseMetadata) -> {
            served.remove(scope);
            end(span, status);
        };
    }

    private static void end(Span span, Status status) {
        if (status.code() != Status.Code.OK) {
            span.setAttribute(STATUS_CODE, status.code().name());
            span.setStatus(StatusCode.ERROR, status.description() == null ? status.code().name() : status.description());
        }
        span.end();
    }
}
