package dev.baton.status;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.baton.Master;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.accumulator.AccumulatorOptions;
import dev.baton.accumulator.Accumulators;
import dev.baton.testkit.Wait;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The status page's HTTP side, against a real master and nodes: the JSON endpoints, the event stream, refusals. */
@Timeout(60)
class StatusPageTest {

    private static final Duration T = Duration.ofSeconds(10);

    private static HttpResponse<String> get(HttpClient http, StatusPage page, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(page, path)).timeout(T).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String body(HttpClient http, StatusPage page, String path) {
        try {
            return get(http, page, path).body();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static URI uri(StatusPage page, String path) {
        return URI.create("http://127.0.0.1:" + page.address().getPort() + path);
    }

    @Test
    void servesTheClusterAsJsonWithCoordinationAndAccumulators() throws Exception {
        try (Master master = Master.start(0);
             Node server = Node.join(NodeOptions.builder().master(master.address()).name("server").build());
             Accumulators acc = Accumulators.attach(server, AccumulatorOptions.builder()
                     .electionDelay(Duration.ofMillis(10)).build());
             StatusPage page = StatusPage.builder(master).sampleInterval(Duration.ofMillis(200)).start();
             HttpClient http = HttpClient.newHttpClient()) {
            server.newServer("echo").inline(0, call -> call.reply(call.request().buffer())).start();
            acc.longSum("bytes").write(1234);
            acc.awaitFlushed(T);
            assertTrue(server.coordination().lock("model").tryLock());
            server.coordination().nextId("steps");

            JsonObject[] doc = new JsonObject[1];
            Wait.until(() -> {
                doc[0] = JsonParser.parseString(body(http, page, "/api/v1/status")).getAsJsonObject();
                return doc[0].has("accumulators") && doc[0].getAsJsonArray("accumulators").size() == 1
                        && doc[0].toString().contains("\"name\":\"echo\"");
            }, T, () -> String.valueOf(doc[0]));
            JsonObject d = doc[0];
            assertEquals("server", d.getAsJsonArray("nodes").get(0).getAsJsonObject().get("name").getAsString());
            long lease = d.getAsJsonArray("nodes").get(0).getAsJsonObject().get("leaseAgeMs").getAsLong();
            assertTrue(lease >= 0 && lease < 3_000, "the master heard from the node within its lease: " + lease);
            assertEquals(StatusJson.hostPort(master.address()), d.get("master").getAsString());
            JsonObject co = d.getAsJsonObject("coordination");
            assertEquals("model", co.getAsJsonArray("locks").get(0).getAsJsonObject().get("name").getAsString());
            assertEquals(0, co.getAsJsonArray("locks").get(0).getAsJsonObject().get("holderRank").getAsInt());
            assertEquals(1, co.getAsJsonObject("idCounters").get("steps").getAsLong());
            JsonObject bytes = d.getAsJsonArray("accumulators").get(0).getAsJsonObject();
            assertEquals("bytes", bytes.get("name").getAsString());
            assertEquals(1234, bytes.get("value").getAsLong());
            assertEquals(1, master.membership().nodes().size(), "the page's observer took no rank");

            JsonObject history = JsonParser.parseString(get(http, page, "/api/v1/history").body()).getAsJsonObject();
            assertEquals(200, history.get("intervalMs").getAsInt());
            assertTrue(history.getAsJsonArray("points").size() >= 1);
        }
    }

    @Test
    void streamsOneStatusEventPerSample() throws Exception {
        try (Master master = Master.start(0);
             Node node = Node.join(NodeOptions.builder().master(master.address()).name("n").build());
             StatusPage page = StatusPage.builder(master).sampleInterval(Duration.ofMillis(200)).start();
             HttpClient http = HttpClient.newHttpClient()) {
            assertEquals(0, node.rank());
            HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(uri(page, "/api/v1/events")).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, r.statusCode());
            assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
            List<JsonObject> events = new ArrayList<>();
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                String line;
                while (events.size() < 3 && (line = in.readLine()) != null) {
                    if (line.startsWith("data: ")) {
                        events.add(JsonParser.parseString(line.substring(6)).getAsJsonObject());
                    }
                }
            }
            JsonObject last = events.getLast();
            JsonArray nodes = last.getAsJsonArray("nodes");
            assertEquals("n", nodes.get(0).getAsJsonObject().get("name").getAsString());
            assertTrue(last.getAsJsonObject("point").getAsJsonArray("nodes").size() == 1);
            assertTrue(events.get(2).get("time").getAsLong() > events.get(1).get("time").getAsLong());
        }
    }

    @Test
    void servesItsOwnAssetsReadOnlyAndRefusesTheRest() throws Exception {
        try (Master master = Master.start(0);
             StatusPage page = StatusPage.builder(master).start();
             HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> index = get(http, page, "/");
            assertEquals(200, index.statusCode());
            assertTrue(index.body().contains("/assets/uPlot.iife.min.js"));
            assertTrue(index.headers().firstValue("Content-Security-Policy").orElse("").startsWith("default-src 'self'"));
            for (String asset : List.of("/assets/app.js", "/assets/app.css", "/assets/uPlot.iife.min.js",
                    "/assets/uPlot.min.css", "/assets/uPlot.LICENSE.txt")) {
                HttpResponse<String> a = get(http, page, asset);
                assertEquals(200, a.statusCode(), asset);
                assertTrue(a.body().length() > 100, asset);
            }
            assertEquals("ok\n", get(http, page, "/healthz").body());
            assertEquals(404, get(http, page, "/nothing").statusCode());
            assertEquals(404, get(http, page, "/assets/../../etc/passwd").statusCode());
            HttpResponse<String> post = http.send(HttpRequest.newBuilder(uri(page, "/api/v1/status"))
                    .POST(HttpRequest.BodyPublishers.ofString("x")).timeout(T).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(405, post.statusCode());
            assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElse(""));
        }
    }

    @Test
    void refusesEventStreamsBeyondItsLimit() throws Exception {
        try (Master master = Master.start(0);
             StatusPage page = StatusPage.builder(master).start();
             HttpClient http = HttpClient.newHttpClient()) {
            List<HttpResponse<InputStream>> open = new ArrayList<>();
            try {
                for (int i = 0; i < StatusPage.MAX_STREAMS; i++) {
                    HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(uri(page, "/api/v1/events")).build(),
                            HttpResponse.BodyHandlers.ofInputStream());
                    assertEquals(200, r.statusCode());
                    open.add(r);
                }
                HttpResponse<String> refused = get(http, page, "/api/v1/events");
                assertEquals(503, refused.statusCode());
            } finally {
                for (HttpResponse<InputStream> r : open) {
                    r.body().close();
                }
            }
        }
    }
}
