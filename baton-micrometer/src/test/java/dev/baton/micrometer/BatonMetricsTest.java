package dev.baton.micrometer;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.ResponseListener;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The binders against real masters and nodes, the Prometheus scrape over HTTP, and what recording costs. */
@Timeout(60)
class BatonMetricsTest {

    private static final Duration T = Duration.ofSeconds(10);

    private static Node node(Master master, String name) {
        return Node.join(NodeOptions.builder().master(master.address()).name(name).build());
    }

    @Test
    void callsAreTimedByServiceMethodAndStatusAndCountersFollowTheNode() throws Exception {
        try (Master master = Master.start(0);
             Node server = node(master, "server");
             Node caller = node(master, "caller");
             BatonNodeMetrics metrics = new BatonNodeMetrics(caller)) {
            server.newServer("echo").inline(0, call -> call.reply(call.request().buffer())).start();
            Client echo = caller.client("echo");
            echo.awaitServers(1, T);
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            metrics.bindTo(registry);
            for (int i = 0; i < 100; i++) {
                echo.call(0, new byte[32]);
            }
            assertThrows(BatonException.class, () -> echo.call(9, new byte[1]));

            FunctionTimer ok = registry.get("baton.client.calls").tags("node", "caller", "service", "echo", "method",
                    "0", "status", "OK").functionTimer();
            assertEquals(100, ok.count());
            assertTrue(ok.totalTime(TimeUnit.NANOSECONDS) > 0);
            double p99 = registry.get("baton.client.calls.percentile").tags("service", "echo", "method", "0",
                    "status", "OK", "phi", "0.99").gauge().value();
            assertTrue(p99 > 0 && p99 < 10, "p99 of the calls since the last scrape, in seconds: " + p99);
            assertEquals(1, registry.get("baton.client.calls").tags("method", "9", "status", "NO_SUCH_METHOD")
                    .functionTimer().count());
            assertTrue(registry.get("baton.node.bytes.sent").functionCounter().count() > 100 * 32);
            assertTrue(registry.get("baton.node.bytes.received").functionCounter().count() > 100 * 32);
            assertEquals(1, registry.get("baton.node.connections").gauge().value());
            assertEquals(0, registry.get("baton.client.reroutes").functionCounter().count());
            assertThrows(IllegalStateException.class, () -> metrics.bindTo(new SimpleMeterRegistry()));

            metrics.close();
            echo.call(0, new byte[1]);
            assertEquals(100, ok.count(), "closed: calls are no longer recorded");
        }
    }

    @Test
    void prometheusScrapesThemOverHttp() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (Master master = Master.start(0);
             Node node = node(master, "n");
             BatonNodeMetrics metrics = new BatonNodeMetrics(node);
             PrometheusEndpoint endpoint = PrometheusEndpoint.start(registry, new InetSocketAddress("127.0.0.1", 0));
             HttpClient http = HttpClient.newHttpClient()) {
            metrics.bindTo(registry);
            new BatonMasterMetrics(master).bindTo(registry);
            node.newServer("echo").inline(0, call -> call.reply(call.request().buffer())).start();
            node.client("echo").awaitServers(1, T);
            for (int i = 0; i < 10; i++) {
                node.client("echo").call(0, new byte[4]);
            }
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + endpoint.address().getPort() + "/metrics")).timeout(T).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            String text = r.body();
            assertTrue(text.contains("baton_client_calls_seconds_count{method=\"0\",node=\"n\",service=\"echo\","
                    + "status=\"OK\"} 10"), text);
            assertTrue(text.contains("baton_client_calls_seconds_sum{method=\"0\",node=\"n\",service=\"echo\","
                    + "status=\"OK\"}"), text);
            assertTrue(text.contains("baton_client_calls_percentile_seconds{method=\"0\",node=\"n\",phi=\"0.99\","
                    + "service=\"echo\",status=\"OK\"}"), text);
            assertTrue(text.contains("baton_server_requests_received_total{node=\"n\"} 10"), text);
            assertTrue(text.contains("baton_master_nodes 1"), text);
            assertEquals(404, http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + endpoint.address().getPort() + "/other")).timeout(T).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode());
        }
    }

    /**
     * Bound, a call's end records into its timer without allocating: listener calls in process (the calling
     * thread completes them, so the thread's allocation counter sees the recording) allocate nothing.
     */
    @Test
    void recordingAllocatesNothing() throws Exception {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (Master master = Master.start(0);
             Node node = node(master, "n");
             BatonNodeMetrics metrics = new BatonNodeMetrics(node)) {
            metrics.bindTo(registry);
            node.newServer("echo").inline(0, call -> call.reply(call.request())).start();
            Client echo = node.client("echo");
            echo.awaitServers(1, T);
            ByteBuffer request = ByteBuffer.allocateDirect(16);
            int calls = 50_000;
            double perCall = Double.MAX_VALUE;
            for (int round = 0; round < 4; round++) {       // the last rounds run compiled code
                long before = threads.getCurrentThreadAllocatedBytes();
                CountDownLatch done = new CountDownLatch(calls);
                ResponseListener l = new ResponseListener() {
                    @Override
                    public void onResponse(Message m) {
                        done.countDown();
                    }

                    @Override
                    public void onFailure(BatonException e) {
                        done.countDown();
                    }
                };
                for (int i = 0; i < calls; i++) {
                    echo.call(0, request, echo.options(), l);
                }
                assertTrue(done.await(20, TimeUnit.SECONDS));
                perCall = (threads.getCurrentThreadAllocatedBytes() - before) / (double) calls;
            }
            assertTrue(perCall < 0.5, "bytes allocated per call with metrics bound: " + perCall);
            assertTrue(registry.get("baton.client.calls").functionTimer().count() >= 4L * calls);
        }
    }
}
