package dev.baton.cli;

import dev.baton.Node;
import dev.baton.NodeOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `baton master` as its own JVM, the way bin/baton runs it. */
@Timeout(60)
class MasterCommandTest {

    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void noChildProcessIsLeftBehind() {
        started.forEach(Process::destroyForcibly);
        ChildProcesses.assertNoneLeft(Duration.ofSeconds(10));
    }

    private Process startMaster(String... extra) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), BatonCli.class.getName(), "master", "--port", "0"));
        command.addAll(List.of(extra));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        started.add(p);
        return p;
    }

    /** The address from the first line of stdout, waiting at most 30 s for it. */
    private static String awaitAddress(Process p) throws Exception {
        BufferedReader in = p.inputReader(StandardCharsets.UTF_8);
        String line = CompletableFuture.supplyAsync(() -> {
            try {
                return in.readLine();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }).get(30, TimeUnit.SECONDS);
        Matcher m = DemoCommand.MASTER_READY.matcher(String.valueOf(line));
        assertTrue(m.matches(), "first line: " + line);
        return m.group(1);
    }

    @Test
    void onPortZeroPrintsTheRealAddressAcceptsNodesAndStopsOnSigterm() throws Exception {
        Process master = startMaster();
        String address = awaitAddress(master);
        int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
        assertTrue(address.startsWith("127.0.0.1:") && port > 0, address);

        try (Node node = Node.join(NodeOptions.builder().master(address).name("probe").build())) {
            assertEquals(0, node.rank(), "the first node to join gets rank 0");
        }

        master.destroy();   // SIGTERM
        assertTrue(master.waitFor(10, TimeUnit.SECONDS), "master still running 10 s after SIGTERM");
        assertTrue(Set.of(0, 143).contains(master.exitValue()), "exit code " + master.exitValue());
    }

    @Test
    void supervisedMasterExitsWithZeroWhenItsStdinCloses() throws Exception {
        Process master = startMaster("--supervised");
        awaitAddress(master);

        master.getOutputStream().close();
        assertTrue(master.waitFor(10, TimeUnit.SECONDS), "master still running 10 s after its stdin closed");
        assertEquals(0, master.exitValue());
    }

    @Test
    void withAnHttpPortItServesTheStatusPage() throws Exception {
        Process master = startMaster("--http-port", "0", "--supervised");
        BufferedReader out = master.inputReader(StandardCharsets.UTF_8);     // one reader: it buffers
        String line = CompletableFuture.supplyAsync(() -> {
            try {
                assertTrue(DemoCommand.MASTER_READY.matcher(String.valueOf(out.readLine())).matches());
                return out.readLine();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }).get(30, TimeUnit.SECONDS);
        Matcher m = java.util.regex.Pattern.compile("baton master status page on (http://127\\.0\\.0\\.1:\\d+/)")
                .matcher(String.valueOf(line));
        assertTrue(m.matches(), "second line: " + line);
        try (java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient()) {
            java.net.http.HttpResponse<String> r = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(m.group(1) + "api/v1/status")).timeout(Duration.ofSeconds(10)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertTrue(r.body().contains("\"nodes\""), r.body());
            java.net.http.HttpResponse<String> metrics = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(m.group(1) + "metrics")).timeout(Duration.ofSeconds(10)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, metrics.statusCode());
            assertTrue(metrics.body().contains("baton_master_nodes 0"), metrics.body());
        }
        master.getOutputStream().close();
        assertTrue(master.waitFor(10, TimeUnit.SECONDS), "master still running 10 s after its stdin closed");
        assertEquals(0, master.exitValue());
    }

    @Test
    void aNodeWithAnHttpPortServesItsMetrics() throws Exception {
        Process master = startMaster("--supervised");
        String address = awaitAddress(master);
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), BatonCli.class.getName(), "node", "--master", address,
                "--name", "metered", "--http-port", "0", "--supervised"));
        Process node = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        started.add(node);
        BufferedReader out = node.inputReader(StandardCharsets.UTF_8);
        String line = CompletableFuture.supplyAsync(() -> {
            try {
                assertTrue(String.valueOf(out.readLine()).startsWith("baton node rank 0 listening on "));
                return out.readLine();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }).get(30, TimeUnit.SECONDS);
        Matcher m = java.util.regex.Pattern.compile("baton node metrics on (http://127\\.0\\.0\\.1:\\d+/metrics)")
                .matcher(String.valueOf(line));
        assertTrue(m.matches(), "second line: " + line);
        try (java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient()) {
            java.net.http.HttpResponse<String> r = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(m.group(1))).timeout(Duration.ofSeconds(10)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertTrue(r.body().contains("baton_node_connections{node=\"metered\"}"), r.body());
        }
        node.getOutputStream().close();
        assertTrue(node.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, node.exitValue());
        master.getOutputStream().close();
        assertTrue(master.waitFor(10, TimeUnit.SECONDS));
    }
}
