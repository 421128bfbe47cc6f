package dev.baton.cli;

import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.tracker.ServerRegistration;
import dev.baton.tracker.TrackerClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
        List<String> args = new ArrayList<>(List.of("master", "--port", "0"));
        args.addAll(List.of(extra));
        return ChildProcesses.startCli(started, args.toArray(new String[0]));
    }

    /** The address from the first line of stdout, waiting at most 30 s for it. */
    private static String awaitAddress(Process p) throws Exception {
        return ChildProcesses.awaitFirstLine(p, DemoCommand.MASTER_READY).group(1);
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
    void withATrackerPortItServesTvmFramesAndTheNativeService() throws Exception {
        Process master = startMaster("--tracker-port", "0");
        String address = awaitAddress(master);
        Matcher tracker = ChildProcesses.awaitFirstLine(master, Pattern.compile(
                "baton master tracker listening on 127\\.0\\.0\\.1:(\\d+), native protocol from node baton-tracker"));
        InetSocketAddress tvm = new InetSocketAddress("127.0.0.1", Integer.parseInt(tracker.group(1)));
        TrackerClient client = TrackerClient.of(tvm);
        client.ping();
        try (ServerRegistration reg = client.register("rasp", 9091, null)) {
            assertEquals(reg.matchKey(), client.request("rasp", 1, Duration.ofSeconds(5)).matchKey());
        }
        NativeTrackerCheck.leaseThrough(address, tvm);
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

    /**
     * The URL in the second line of {@code p}'s stdout (the first must match {@code first}, the second
     * {@code second}, whose group 1 is the URL), waiting at most 30 s. One reader for both: it buffers.
     */
    private static String urlOnSecondLine(Process p, Pattern first, Pattern second) throws Exception {
        BufferedReader out = p.inputReader(StandardCharsets.UTF_8);
        String line = CompletableFuture.supplyAsync(() -> {
            try {
                String one = String.valueOf(out.readLine());
                assertTrue(first.matcher(one).matches(), "first line: " + one);
                return out.readLine();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }).get(30, TimeUnit.SECONDS);
        Matcher m = second.matcher(String.valueOf(line));
        assertTrue(m.matches(), "second line: " + line);
        return m.group(1);
    }

    /** GET {@code url}: status 200 and a body containing {@code expected}. */
    private static void assertServes(String url, String expected) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), url);
            assertTrue(r.body().contains(expected), url + ":\n" + r.body());
        }
    }

    @Test
    void withAnHttpPortItServesTheStatusPageAndMetrics() throws Exception {
        Process master = startMaster("--http-port", "0", "--supervised");
        String page = urlOnSecondLine(master, DemoCommand.MASTER_READY,
                Pattern.compile("baton master status page on (http://127\\.0\\.0\\.1:\\d+/)"));
        assertServes(page + "api/v1/status", "\"nodes\"");
        assertServes(page + "metrics", "baton_master_nodes 0");
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
        String metrics = urlOnSecondLine(node, Pattern.compile("baton node rank 0 listening on .*"),
                Pattern.compile("baton node metrics on (http://127\\.0\\.0\\.1:\\d+/metrics)"));
        assertServes(metrics, "baton_node_connections{node=\"metered\"}");
        node.getOutputStream().close();
        assertTrue(node.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, node.exitValue());
        master.getOutputStream().close();
        assertTrue(master.waitFor(10, TimeUnit.SECONDS));
    }
}
