package dev.baton.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.baton.BatonException;
import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;
import dev.baton.TlsOptions;
import dev.baton.tracker.ServerRegistration;
import dev.baton.tracker.Tracker;
import dev.baton.tracker.TrackerClient;
import dev.baton.tracker.TrackerOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code baton tracker} as its own JVM, and {@code baton tracker status} in process against a real tracker. */
@Timeout(60)
class TrackerCommandTest {

    private static final Pattern READY = Pattern.compile("baton tracker listening on (127\\.0\\.0\\.1:(\\d+))");
    private static final Pattern NATIVE = Pattern.compile(
            "baton tracker native protocol on master (127\\.0\\.0\\.1:\\d+) \\(node baton-tracker, rank (\\d+)\\)");

    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void noChildProcessIsLeftBehind() {
        started.forEach(Process::destroyForcibly);
        ChildProcesses.assertNoneLeft(Duration.ofSeconds(10));
    }

    private Process startTracker(String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("tracker", "--port", "0"));
        args.addAll(List.of(extra));
        return ChildProcesses.startCli(started, args.toArray(new String[0]));
    }

    /** The port from the first line of stdout, waiting at most 30 s for it. */
    private static int awaitPort(Process p) throws Exception {
        return Integer.parseInt(ChildProcesses.awaitFirstLine(p, READY).group(2));
    }

    @Test
    void theDaemonServesTvmsProtocolAndStopsOnSigterm() throws Exception {
        Process tracker = startTracker();
        int port = awaitPort(tracker);
        TrackerClient client = TrackerClient.of(new InetSocketAddress("127.0.0.1", port));
        client.ping();
        try (ServerRegistration reg = client.register("rasp", 9091, null)) {
            assertEquals(reg.matchKey(), client.request("rasp", 1, Duration.ofSeconds(5)).matchKey());
        }
        tracker.destroy();   // SIGTERM
        assertTrue(tracker.waitFor(10, TimeUnit.SECONDS), "tracker still running 10 s after SIGTERM");
        assertTrue(Set.of(0, 143).contains(tracker.exitValue()), "exit code " + tracker.exitValue());
    }

    @Test
    void theDaemonPrintsItsNativePortAndABatonClientLeasesThroughIt() throws Exception {
        Process tracker = startTracker();
        int port = awaitPort(tracker);
        Matcher nativeLine = ChildProcesses.awaitFirstLine(tracker, NATIVE);
        assertEquals("0", nativeLine.group(2), "the tracker's node is the first member of its own master");
        NativeTrackerCheck.leaseThrough(nativeLine.group(1), new InetSocketAddress("127.0.0.1", port));
        tracker.destroy();   // SIGTERM
        assertTrue(tracker.waitFor(10, TimeUnit.SECONDS), "tracker still running 10 s after SIGTERM");
        assertTrue(Set.of(0, 143).contains(tracker.exitValue()), "exit code " + tracker.exitValue());
    }

    @Test
    void withMasterItJoinsThatClusterInsteadOfStartingOne() throws Exception {
        try (Master master = Master.start(new InetSocketAddress("127.0.0.1", 0))) {
            String at = BatonCli.hostPort(master.address());
            Process tracker = startTracker("--master", at);
            int port = awaitPort(tracker);
            Matcher nativeLine = ChildProcesses.awaitFirstLine(tracker, NATIVE);
            assertEquals(at, nativeLine.group(1));
            NativeTrackerCheck.leaseThrough(at, new InetSocketAddress("127.0.0.1", port));
            tracker.destroy();
            assertTrue(tracker.waitFor(10, TimeUnit.SECONDS), "tracker still running 10 s after SIGTERM");
        }
    }

    @Test
    void withTlsTheNativeSideServesTlsNodesAndRefusesPlainOnesWhileTvmsPortStaysPlain(@TempDir Path dir)
            throws Exception {
        DevPki.write(dir.resolve("pki"), List.of("tracker", "board"), Duration.ofDays(1), List.of(), false);
        Path pki = dir.resolve("pki");
        Process tracker = startTracker(DevPki.tlsArgs(pki, "tracker").toArray(String[]::new));
        int port = awaitPort(tracker);
        String master = ChildProcesses.awaitFirstLine(tracker, NATIVE).group(1);

        TlsOptions tls = TlsOptions.builder().certificate(DevPki.cert(pki, "board"), DevPki.key(pki, "board"))
                .trustedCertificates(pki.resolve(DevPki.CA_CERT)).build();
        NativeTrackerCheck.leaseThrough(master, new InetSocketAddress("127.0.0.1", port), tls);
        BatonException refused = assertThrows(BatonException.class, () -> Node.join(NodeOptions.builder()
                .master(master).name("plain").joinTimeout(Duration.ofSeconds(5)).build()).close());
        // What a plain peer of a TLS port sees (docs/security.md#turning-it-on): its connection closed.
        assertEquals(Status.Code.UNAVAILABLE, refused.code(), refused.toString());
        assertTrue(refused.getMessage().contains("connection closed"), refused.toString());
        TrackerClient.of(new InetSocketAddress("127.0.0.1", port)).ping();   // TVM's clients: plain TCP

        tracker.destroy();
        assertTrue(tracker.waitFor(10, TimeUnit.SECONDS), "tracker still running 10 s after SIGTERM");
    }

    @Test
    void withTlsAndMasterItsNodeJoinsATlsClusterOverTls(@TempDir Path dir) throws Exception {
        Path pki = dir.resolve("pki");
        DevPki.write(pki, List.of("master", "tracker", "board"), Duration.ofDays(1), List.of(), false);
        try (Master master = Master.start(MasterOptions.builder().bind(new InetSocketAddress("127.0.0.1", 0))
                .tls(TlsOptions.builder().certificate(DevPki.cert(pki, "master"), DevPki.key(pki, "master"))
                        .trustedCertificates(pki.resolve(DevPki.CA_CERT)).build()).build())) {
            String at = BatonCli.hostPort(master.address());
            List<String> args = new ArrayList<>(List.of("--master", at));
            args.addAll(DevPki.tlsArgs(pki, "tracker"));
            Process tracker = startTracker(args.toArray(String[]::new));
            int port = awaitPort(tracker);
            assertEquals(at, ChildProcesses.awaitFirstLine(tracker, NATIVE).group(1));
            NativeTrackerCheck.leaseThrough(at, new InetSocketAddress("127.0.0.1", port), TlsOptions.builder()
                    .certificate(DevPki.cert(pki, "board"), DevPki.key(pki, "board"))
                    .trustedCertificates(pki.resolve(DevPki.CA_CERT)).build());
            tracker.destroy();
            assertTrue(tracker.waitFor(10, TimeUnit.SECONDS), "tracker still running 10 s after SIGTERM");
        }
    }

    @Test
    void aSupervisedDaemonExitsWithZeroWhenItsStdinCloses() throws Exception {
        Process tracker = startTracker("--supervised", "--max-request-wait", "2s");
        awaitPort(tracker);
        tracker.getOutputStream().close();
        assertTrue(tracker.waitFor(10, TimeUnit.SECONDS), "tracker still running 10 s after its stdin closed");
        assertEquals(0, tracker.exitValue());
    }

    @Test
    void statusPrintsTvmsTablesOrItsJson() {
        try (Tracker tracker = Tracker.start(TrackerOptions.builder().port(0).build());
             ServerRegistration reg = TrackerClient.of(tracker.address()).register("rasp", 9091, null)) {
            String at = BatonCli.hostPort(tracker.address());
            CliRun text = CliRun.of("tracker", "status", "--tracker", at);
            assertEquals(0, text.exitCode(), text.err());
            assertEquals(tracker.summary().toText(), text.out());
            assertTrue(text.out().contains("127.0.0.1:9091           server:rasp\n"), text.out());
            assertTrue(text.out().contains("\nrasp   1      1     0      \n"), text.out());

            CliRun json = CliRun.of("tracker", "status", "--tracker", at, "--json");
            assertEquals(0, json.exitCode(), json.err());
            JsonObject o = JsonParser.parseString(json.out()).getAsJsonObject();
            assertEquals(1, o.getAsJsonObject("queue_info").getAsJsonObject("rasp").get("free").getAsInt());
            assertEquals("server:rasp", o.getAsJsonArray("server_info").get(0).getAsJsonObject().get("key")
                    .getAsString());
            assertTrue(reg.isConnected());
        }
    }

    @Test
    void statusOfAnUnreachableTrackerSaysSoInOneLineAndExitsWithOne() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        CliRun r = CliRun.of("tracker", "status", "--tracker", "127.0.0.1:" + closedPort, "--timeout", "1s");
        assertEquals(1, r.exitCode());
        assertTrue(r.err().startsWith("baton tracker status: UNAVAILABLE: cannot reach the tracker"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    @Test
    void statusTimeoutIsTheBudgetForEverythingNotForEachStep() throws Exception {
        // A tracker that takes 200 ms to echo the magic and 200 ms more to answer: within 300 ms per step, not in all.
        try (ServerSocket slow = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread answer = Thread.ofVirtual().start(() -> {
                try (Socket s = slow.accept()) {
                    InputStream in = s.getInputStream();
                    OutputStream out = s.getOutputStream();
                    byte[] magic = in.readNBytes(4);
                    Thread.sleep(200);
                    out.write(magic);
                    out.flush();
                    in.readNBytes(4 + 3);   // [6]
                    Thread.sleep(200);
                    byte[] reply = "[0,{\"queue_info\":{},\"server_info\":[]}]".getBytes(StandardCharsets.US_ASCII);
                    out.write(new byte[]{(byte) reply.length, 0, 0, 0});
                    out.write(reply);
                    out.flush();
                    in.read();
                } catch (IOException | InterruptedException e) {
                    // the client gave up
                }
            });
            CliRun r = CliRun.of("tracker", "status", "--tracker", "127.0.0.1:" + slow.getLocalPort(),
                    "--timeout", "300ms");
            assertEquals(1, r.exitCode(), r.out() + r.err());
            assertTrue(r.err().startsWith("baton tracker status: DEADLINE_EXCEEDED: "), r.err());
            slow.close();
            answer.join(10_000);
        }
    }

    @Test
    void aHostThatDoesNotResolveIsAUsageError() {
        CliRun r = CliRun.of("tracker", "--host", "no-such-host.invalid", "--port", "0");
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains("no-such-host.invalid") && !r.err().contains("null"), r.err());
    }

    @Test
    void usageErrorsExitWithTwo() {
        String[][] usageErrors = {
                {"tracker", "--port", "70000"},
                {"tracker", "--max-connections", "0"},
                {"tracker", "--max-request-wait", "soon"},
                {"tracker", "status"},
                {"tracker", "status", "--tracker", "nonsense"},
                {"tracker", "status", "--tracker", "127.0.0.1:0"},
        };
        for (String[] args : usageErrors) {
            CliRun r = CliRun.of(args);
            assertEquals(2, r.exitCode(), String.join(" ", args) + ": " + r.err());
            assertTrue(!r.err().isBlank(), String.join(" ", args) + " says why");
        }
    }
}
