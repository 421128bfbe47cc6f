package dev.baton.status;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A real headless Chromium, driven through chromedriver's W3C WebDriver HTTP API (no client library: a handful
 * of JSON requests). Debian's {@code chromium} and {@code chromium-driver}; {@code bin/test} installs them.
 * Closing ends the session, the driver process (and the browser under it) and deletes the profile.
 */
final class HeadlessChromium implements AutoCloseable {

    private static final Gson GSON = new Gson();
    private static final Duration T = Duration.ofSeconds(30);

    private final Process driver;
    private final Path profile;
    private final HttpClient http = HttpClient.newHttpClient();
    private final String base;
    private final String session;

    private HeadlessChromium(Process driver, Path profile, String base, String session) {
        this.driver = driver;
        this.profile = profile;
        this.base = base;
        this.session = session;
    }

    /** Where chromedriver is, or null. */
    static Path driverBinary() {
        for (String p : List.of("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")) {
            if (Files.isExecutable(Path.of(p))) {
                return Path.of(p);
            }
        }
        return null;
    }

    static HeadlessChromium start() throws Exception {
        Path binary = driverBinary();
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path profile = Files.createTempDirectory("baton-chromium-");
        Process p = new ProcessBuilder(binary.toString(), "--port=" + port, "--allowed-ips=127.0.0.1")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String base = "http://127.0.0.1:" + port;
        HttpClient probe = HttpClient.newHttpClient();
        try {
            long end = System.nanoTime() + T.toNanos();
            while (true) {
                try {
                    HttpResponse<String> r = probe.send(HttpRequest.newBuilder(URI.create(base + "/status"))
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 200 && r.body().contains("\"ready\":true")) {
                        break;
                    }
                } catch (IOException notYet) {
                    // not listening yet
                }
                if (System.nanoTime() > end || !p.isAlive()) {
                    throw new IllegalStateException("chromedriver did not start (alive: " + p.isAlive() + ")");
                }
                Thread.sleep(50);
            }
            Map<String, Object> options = Map.of(
                    "binary", Files.isExecutable(Path.of("/usr/bin/chromium")) ? "/usr/bin/chromium" : "chromium",
                    "args", List.of("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=1400,1100", "--user-data-dir=" + profile, "--no-first-run"));
            Map<String, Object> caps = Map.of("capabilities", Map.of("alwaysMatch", Map.of(
                    "browserName", "chrome", "goog:chromeOptions", options,
                    "goog:loggingPrefs", Map.of("browser", "ALL"))));
            JsonObject created = post(probe, base + "/session", GSON.toJson(caps)).getAsJsonObject();
            return new HeadlessChromium(p, profile, base, created.get("sessionId").getAsString());
        } catch (Exception e) {
            p.destroyForcibly().waitFor();
            deleteTree(profile);
            throw e;
        } finally {
            probe.close();
        }
    }

    private static JsonElement post(HttpClient http, String url, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(T)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        JsonObject o = JsonParser.parseString(r.body()).getAsJsonObject();
        if (r.statusCode() != 200) {
            throw new IllegalStateException("WebDriver " + url + " answered " + r.statusCode() + ": " + r.body());
        }
        return o.get("value");
    }

    void open(String url) throws Exception {
        post(http, base + "/session/" + session + "/url", GSON.toJson(Map.of("url", url)));
    }

    /** Runs {@code script} (a function body; {@code return} its result) in the page. */
    JsonElement execute(String script) throws Exception {
        return post(http, base + "/session/" + session + "/execute/sync",
                GSON.toJson(Map.of("script", script, "args", List.of())));
    }

    /** The browser's console entries since the last call, as "LEVEL message". */
    List<String> consoleLog() throws Exception {
        JsonArray entries = post(http, base + "/session/" + session + "/se/log",
                GSON.toJson(Map.of("type", "browser"))).getAsJsonArray();
        List<String> out = new ArrayList<>();
        for (JsonElement e : entries) {
            JsonObject o = e.getAsJsonObject();
            out.add(o.get("level").getAsString() + " " + o.get("message").getAsString());
        }
        return out;
    }

    /** A PNG of the window. */
    byte[] screenshot() throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/session/" + session
                + "/screenshot")).timeout(T).build(), HttpResponse.BodyHandlers.ofString());
        return Base64.getDecoder().decode(JsonParser.parseString(r.body()).getAsJsonObject().get("value").getAsString());
    }

    @Override
    public void close() throws IOException {
        try {
            http.send(HttpRequest.newBuilder(URI.create(base + "/session/" + session)).timeout(T).DELETE().build(),
                    HttpResponse.BodyHandlers.discarding());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            http.close();
            driver.descendants().forEach(ProcessHandle::destroyForcibly);
            driver.destroyForcibly();
            try {
                driver.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            deleteTree(profile);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
