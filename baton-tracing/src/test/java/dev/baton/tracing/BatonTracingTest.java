package dev.baton.tracing;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Spans recorded through OpenTelemetry's SDK into its in-memory exporter, for calls between real nodes over TCP and
 * in process: one trace per chain of calls, parents as the calls nest, errors marked on both sides.
 */
@Timeout(60)
class BatonTracingTest {

    private final InMemorySpanExporter exporter = InMemorySpanExporter.create();
    private SdkTracerProvider provider;
    private OpenTelemetrySdk otel;
    private BatonTracing tracing;
    private Master master;
    private final List<Node> nodes = new ArrayList<>();

    @BeforeEach
    void start() {
        provider = SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build();
        otel = OpenTelemetrySdk.builder().setTracerProvider(provider)
                .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance())).build();
        tracing = BatonTracing.create(otel);
        master = Master.start(0);
    }

    @AfterEach
    void stop() {
        for (int i = nodes.size() - 1; i >= 0; i--) {
            nodes.get(i).close();
        }
        master.close();
        provider.close();
    }

    private Node join(String name) {
        Node n = Node.join(tracing.addTo(NodeOptions.builder().master(master.address()).name(name)
                .defaultTimeout(Duration.ofSeconds(20))).build());
        nodes.add(n);
        return n;
    }

    private static Client ready(Node node, String service) throws InterruptedException {
        Client c = node.client(service);
        c.awaitServers(1, Duration.ofSeconds(20));
        return c;
    }

    /** The spans exported once {@code count} have ended (server spans end as the answer goes, maybe after the caller saw it). */
    private List<SpanData> spans(int count) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        while (exporter.getFinishedSpanItems().size() < count && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        List<SpanData> spans = exporter.getFinishedSpanItems();
        assertEquals(count, spans.size(), "spans: " + spans);
        return spans;
    }

    private static SpanData one(List<SpanData> spans, SpanKind kind, String name) {
        List<SpanData> found = spans.stream().filter(s -> s.getKind() == kind && s.getName().equals(name)).toList();
        assertEquals(1, found.size(), kind + " " + name + " in " + spans);
        return found.getFirst();
    }

    @Test
    void aCallBetweenNodesIsAClientAndAServerSpanOfOneTrace() throws Exception {
        Node caller = join("caller");
        Node server = join("server");
        server.newServer("echo").inline(3, call -> call.reply(call.request().buffer())).start();
        try (Message m = ready(caller, "echo").call(3, ByteBuffer.wrap(new byte[]{1, 2, 3}))) {
            assertEquals(3, m.size());
        }
        List<SpanData> spans = spans(2);
        SpanData client = one(spans, SpanKind.CLIENT, "echo/3");
        SpanData served = one(spans, SpanKind.SERVER, "echo/3");
        assertEquals(client.getTraceId(), served.getTraceId());
        assertEquals(client.getSpanId(), served.getParentSpanId(), "the server span's parent is the client span");
        assertTrue(!client.getParentSpanContext().isValid(), "the client span is the trace's root");
        for (SpanData s : spans) {
            assertEquals("baton", s.getAttributes().get(BatonTracing.SYSTEM));
            assertEquals("echo", s.getAttributes().get(BatonTracing.SERVICE));
            assertEquals("3", s.getAttributes().get(BatonTracing.METHOD));
            assertEquals(StatusCode.UNSET, s.getStatus().getStatusCode());
        }
        assertEquals((long) caller.rank(), served.getAttributes().get(BatonTracing.SOURCE_RANK));
        assertEquals(0, tracing.servedNow(), "nothing kept once the call ended");
    }

    @Test
    void aFailedCallIsAnErrorOnBothSides() throws Exception {
        Node caller = join("caller");
        Node server = join("server");
        server.newServer("fails").blocking(0, call -> call.fail("no such tensor")).start();
        Client c = ready(caller, "fails");
        BatonException e = assertThrows(BatonException.class, () -> c.call(0, ByteBuffer.allocate(1)));
        assertEquals(Status.Code.HANDLER_FAILED, e.status().code());
        for (SpanData s : spans(2)) {
            assertEquals(StatusCode.ERROR, s.getStatus().getStatusCode(), s.toString());
            assertEquals("no such tensor", s.getStatus().getDescription());
            assertEquals("HANDLER_FAILED", s.getAttributes().get(BatonTracing.STATUS_CODE));
        }
    }

    @Test
    void aChainOfCallsAcrossThreeNodesIsOneTrace() throws Exception {
        Node a = join("a");
        Node b = join("b");
        Node c = join("c");
        c.newServer("back").inline(0, call -> call.reply(call.request().buffer())).start();
        Client back = ready(b, "back");
        b.newServer("front").blocking(0, call -> {
            try (Message m = back.call(0, call.request().buffer(), call.childOptions())) {
                call.reply(m.toByteArray());
            }
        }).start();
        try (Message m = ready(a, "front").call(0, ByteBuffer.wrap(new byte[]{9}))) {
            assertEquals(1, m.size());
        }
        List<SpanData> spans = spans(4);
        SpanData frontClient = one(spans, SpanKind.CLIENT, "front/0");
        SpanData frontServer = one(spans, SpanKind.SERVER, "front/0");
        SpanData backClient = one(spans, SpanKind.CLIENT, "back/0");
        SpanData backServer = one(spans, SpanKind.SERVER, "back/0");
        for (SpanData s : spans) {
            assertEquals(frontClient.getTraceId(), s.getTraceId(), "one trace: " + spans);
        }
        assertEquals(frontClient.getSpanId(), frontServer.getParentSpanId());
        assertEquals(frontServer.getSpanId(), backClient.getParentSpanId(),
                "the child call's span hangs under the request it serves, with no code in the handler");
        assertEquals(backClient.getSpanId(), backServer.getParentSpanId());
    }

    @Test
    void theCurrentSpanIsTheClientSpansParent() throws Exception {
        Node caller = join("caller");
        Node server = join("server");
        server.newServer("echo").inline(0, call -> call.reply(call.request().buffer())).start();
        Client c = ready(caller, "echo");
        Span outer = otel.getTracer("test").spanBuilder("training-step").startSpan();
        try (Scope ignored = outer.makeCurrent(); Message m = c.call(0, ByteBuffer.allocate(4))) {
            assertEquals(4, m.size());
        } finally {
            outer.end();
        }
        List<SpanData> spans = spans(3);
        SpanData client = one(spans, SpanKind.CLIENT, "echo/0");
        assertEquals(outer.getSpanContext().getSpanId(), client.getParentSpanId());
        assertEquals(outer.getSpanContext().getTraceId(), one(spans, SpanKind.SERVER, "echo/0").getTraceId());
    }

    @Test
    void anInProcessCallIsTracedToo() throws Exception {
        Node node = join("solo");
        node.newServer("local").inline(0, call -> call.reply(call.request().buffer())).start();
        try (Message m = ready(node, "local").call(0, ByteBuffer.allocate(2))) {
            assertEquals(2, m.size());
        }
        List<SpanData> spans = spans(2);
        assertEquals(one(spans, SpanKind.CLIENT, "local/0").getSpanId(),
                one(spans, SpanKind.SERVER, "local/0").getParentSpanId());
    }

    @Test
    void aHandlerCanMakeItsServerSpanCurrent() throws Exception {
        Node caller = join("caller");
        Node server = join("server");
        server.newServer("work").blocking(0, call -> {
            try (Scope ignored = tracing.context(call).makeCurrent()) {
                otel.getTracer("test").spanBuilder("compute").startSpan().end();
            }
            call.reply(new byte[0]);
        }).start();
        ready(caller, "work").call(0, new byte[0]);
        List<SpanData> spans = spans(3);
        SpanData compute = one(spans, SpanKind.INTERNAL, "compute");
        assertEquals(one(spans, SpanKind.SERVER, "work/0").getSpanId(), compute.getParentSpanId());
    }
}
