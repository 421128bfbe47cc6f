package dev.baton.tracker;

import com.google.gson.JsonArray;
import com.google.gson.JsonParser;
import dev.baton.BatonException;
import dev.baton.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Baton's Java client of the protocol, against the embedded tracker: requests, deadlines, registrations. */
@Timeout(60)
class TrackerClientTest {

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
        TrackerTests.assertNoTrackerThreads();
    }

    private <T extends AutoCloseable> T track(T c) {
        open.add(c);
        return c;
    }

    private Tracker tracker(TrackerOptions.Builder options) {
        return track(TrackerTests.start(options));
    }

    /** A client that checks its matchkey every 50 ms and gives a taken key 300 ms. */
    private static TrackerClient fastClient(Tracker t) {
        return TrackerClient.builder(t.address()).pingInterval(Duration.ofMillis(50))
                .claimTimeout(Duration.ofMillis(300)).build();
    }

    private static BatonException failure(Runnable r) {
        return assertThrows(BatonException.class, r::run);
    }

    @Test
    void pingSummaryAndStop() {
        Tracker t = tracker(TrackerOptions.builder().port(0));
        TrackerClient client = TrackerClient.of(t.address());
        client.ping();
        TrackerSummary empty = client.summary();
        assertTrue(empty.queues().isEmpty() && empty.servers().isEmpty(), empty.toString());
        assertFalse(client.stop("tracker:guess"));
        assertFalse(t.isStopped());
        assertTrue(client.stop(t.stopKey()));
        TrackerTests.await(t::isStopped, () -> "still running");
        assertEquals(Status.Code.CLOSED, failure(t::summary).code());
    }

    @Test
    void aRegisteredServerIsGrantedAndComesBackAfterItsSession() {
        Tracker t = tracker(TrackerOptions.builder().port(0));
        TrackerClient client = fastClient(t);
        ServerRegistration reg = track(client.register("rasp", 9091, null));
        TrackerSummary s = client.summary();
        assertEquals(new TrackerSummary.Queue(1, 0), s.queue("rasp"));
        assertEquals(List.of(new TrackerSummary.Server("server:rasp", "127.0.0.1", 9091)), s.servers());
        assertTrue(reg.matchKey().startsWith("rasp:"), reg.matchKey());

        TrackerGrant g = client.request("rasp", 1, Duration.ofSeconds(5));
        assertEquals(new TrackerGrant("rasp", "127.0.0.1", 9091, reg.matchKey()), g);
        assertFalse(reg.beginSession("client:rasp:0.0"), "a wrong matchkey is refused");
        assertTrue(reg.beginSession(g.clientKey() + " -timeout=10"));
        assertFalse(reg.beginSession(g.clientKey()), "one session at a time");
        assertEquals(new TrackerSummary.Queue(0, 0), client.summary().queue("rasp"));
        assertEquals(1, client.summary().total("rasp"), "busy, but still listed");

        String old = reg.matchKey();
        reg.endSession();
        assertNotEquals(old, reg.matchKey(), "every matchkey is used once");
        assertEquals(new TrackerSummary.Queue(1, 0), client.summary().queue("rasp"));

        reg.close();
        TrackerTests.await(() -> client.summary().servers().isEmpty() && client.summary().queues().isEmpty(),
                () -> "after close: " + client.summary());
    }

    @Test
    void aMatchKeyTakenByAClientThatNeverComesIsReplacedAfterTheClaimTimeout() {
        Tracker t = tracker(TrackerOptions.builder().port(0));
        TrackerClient client = fastClient(t);
        ServerRegistration reg = track(client.register("jetson", 9000, "10.9.8.7"));
        TrackerGrant g = client.request("jetson", 1, Duration.ofSeconds(5));
        assertEquals("10.9.8.7", g.host());
        assertEquals(new TrackerSummary.Queue(0, 0), client.summary().queue("jetson"));
        TrackerTests.await(() -> !reg.matchKey().equals(g.matchKey()), () -> "matchkey not renewed");
        assertEquals(new TrackerSummary.Queue(1, 0), client.summary().queue("jetson"));
        assertFalse(reg.beginSession(g.clientKey()), "the stale grant no longer opens a session");
    }

    @Test
    void aRequestWithNoServerFailsWithDeadlineExceededAndLeavesNothingPending() {
        Tracker t = tracker(TrackerOptions.builder().port(0));
        TrackerClient client = TrackerClient.of(t.address());
        long start = System.nanoTime();
        BatonException e = failure(() -> client.request("none", 1, Duration.ofMillis(300)));
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
        assertTrue(e.status().retrySafe());
        assertTrue(tookMs >= 290 && tookMs < 3_000, "took " + tookMs + " ms");
        TrackerTests.await(() -> client.summary().queues().isEmpty(), () -> "left: " + client.summary());
        assertEquals(1, t.stats().abandonedRequests());
    }

    @Test
    void cancellingAnAsyncRequestWithdrawsIt() throws Exception {
        Tracker t = tracker(TrackerOptions.builder().port(0));
        TrackerClient client = TrackerClient.of(t.address());
        CompletableFuture<TrackerGrant> f = client.requestAsync("later", 3, Duration.ofMinutes(1));
        TrackerTests.await(() -> client.summary().queue("later").pending() == 1, () -> "not queued");
        assertTrue(f.cancel(true));
        TrackerTests.await(() -> client.summary().queues().isEmpty(), () -> "left: " + client.summary());

        // A later request is served normally.
        ServerRegistration reg = track(client.register("later", 9700, null));
        CompletableFuture<TrackerGrant> g = client.requestAsync("later", 1, Duration.ofSeconds(5));
        assertEquals(reg.matchKey(), g.get(5, TimeUnit.SECONDS).matchKey());
    }

    @Test
    void theTrackersMaxRequestWaitAnswersFailToAPythonClientAndATypedErrorToJava() throws IOException {
        Tracker t = tracker(TrackerOptions.builder().port(0).maxRequestWait(Duration.ofMillis(200)));
        try (RawPeer python = RawPeer.handshake(t.port())) {
            python.send("[4, \"rasp\", \"\", 1]");
            JsonArray reply = JsonParser.parseString(python.read(Duration.ofSeconds(5))).getAsJsonArray();
            assertEquals(-1, reply.get(0).getAsInt(), "client.py raises RuntimeError('Invalid return value ...')");
            assertTrue(reply.get(1).getAsString().contains("maxRequestWait"), reply.toString());
            assertEquals("0", python.call("[1]"), "the connection stays usable");
        }
        BatonException e = failure(() -> TrackerClient.of(t.address()).request("rasp", 1, Duration.ofMinutes(1)));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
        assertTrue(e.getMessage().contains("the tracker gave up"), e.getMessage());
        assertEquals(2, t.stats().expiredRequests());
        assertTrue(t.summary().queues().isEmpty());
    }

    @Test
    void aRegistrationComesBackAfterTheTrackerRestarts() {
        Tracker first = TrackerTests.start();
        int port = first.port();
        TrackerClient client = fastClient(first);
        ServerRegistration reg;
        try {
            reg = track(client.register("phoenix", 9800, null));
        } finally {
            first.close();
        }
        TrackerTests.await(() -> !reg.isConnected(), () -> "still connected to a stopped tracker");
        Tracker second = tracker(TrackerOptions.builder().port(port));
        TrackerTests.await(() -> second.summary().queue("phoenix").free() == 1, () -> "not back: " + second.summary());
        assertEquals(1, second.summary().total("phoenix"));
    }

    @Test
    void anUnreachableTrackerIsUnavailable() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        TrackerClient client = TrackerClient.of(new InetSocketAddress("127.0.0.1", closedPort));
        assertEquals(Status.Code.UNAVAILABLE, failure(client::ping).code());
        assertEquals(Status.Code.UNAVAILABLE, failure(() -> client.register("x", 1, null)).code());
        assertEquals(Status.Code.UNAVAILABLE, failure(() -> client.request("x", 1, Duration.ofSeconds(1))).code());
    }

    @Test
    void somethingThatIsNotATrackerIsAProtocolError() throws Exception {
        try (ServerSocket notATracker = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread answer = Thread.ofVirtual().start(() -> {
                try (Socket s = notATracker.accept(); OutputStream out = s.getOutputStream()) {
                    s.getInputStream().readNBytes(4);
                    out.write(RawPeer.le(0xFF271));   // an RPC server's magic, say
                    out.flush();
                    s.getInputStream().read();
                } catch (IOException e) {
                    // the client hung up
                }
            });
            TrackerClient client = TrackerClient.of((InetSocketAddress) notATracker.getLocalSocketAddress());
            BatonException e = failure(client::summary);
            assertEquals(Status.Code.PROTOCOL_ERROR, e.code());
            assertTrue(e.getMessage().contains("not an RPC tracker"), e.getMessage());
            answer.join(5_000);
        }
    }

    @Test
    void badArgumentsAreRefusedBeforeAnythingIsSent() {
        TrackerClient client = TrackerClient.of(new InetSocketAddress("127.0.0.1", 1));
        assertEquals(Status.Code.INVALID_ARGUMENT, failure(() -> client.request("", 1, Duration.ofSeconds(1))).code());
        assertEquals(Status.Code.INVALID_ARGUMENT, failure(() -> client.request("k", 1, Duration.ZERO)).code());
        assertEquals(Status.Code.INVALID_ARGUMENT, failure(() -> client.register("k", 0, null)).code());
        assertThrows(IllegalArgumentException.class,
                () -> TrackerOptions.builder().frameTimeout(Duration.ofMillis(1)).build());
        assertThrows(IllegalArgumentException.class, () -> TrackerOptions.builder().maxConnections(0).build());
    }

    @Test
    void aBindAddressThatDoesNotResolveIsRefusedByTheOptions() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TrackerOptions.builder().bind("no-such-host.invalid", 0).build());
        assertTrue(e.getMessage().contains("no-such-host.invalid"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> TrackerOptions.builder().bind(InetSocketAddress.createUnresolved("localhost", 0)).build());
    }

    @Test
    void aPortInUseFailsToStartAndLeavesNothingBehind() {
        Tracker t = tracker(TrackerOptions.builder().port(0));
        java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class,
                () -> Tracker.start(TrackerOptions.builder().port(t.port()).build()));
        assertTrue(e.getMessage().contains("cannot listen"), e.getMessage());
    }

    @Test
    void manyClientsAndServersEveryRequestGetsExactlyOneServer() throws Exception {
        Tracker t = tracker(TrackerOptions.builder().port(0));
        // The default claim timeout: a granted matchkey is not replaced while its session is about to begin.
        TrackerClient client = TrackerClient.builder(t.address()).pingInterval(Duration.ofMillis(50)).build();
        List<ServerRegistration> regs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            regs.add(track(client.register("pool", 10_000 + i, null)));
        }
        List<CompletableFuture<TrackerGrant>> requests = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            requests.add(client.requestAsync("pool", i % 3, Duration.ofSeconds(20)));
        }
        // Each granted server runs a short session and offers itself again, until every request is served.
        List<String> granted = new ArrayList<>();
        boolean[] served = new boolean[requests.size()];
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (granted.size() < requests.size()) {
            assertTrue(System.nanoTime() - end < 0, "served only " + granted.size() + " of 20");
            for (int i = 0; i < requests.size(); i++) {
                if (!served[i] && requests.get(i).isDone()) {
                    served[i] = true;
                    TrackerGrant g = requests.get(i).get();
                    granted.add(g.matchKey());
                    ServerRegistration owner = regs.get(g.port() - 10_000);
                    assertTrue(owner.beginSession(g.clientKey()), "grant " + g + " matches its server");
                    owner.endSession();
                }
            }
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
        assertEquals(granted.size(), new java.util.HashSet<>(granted).size(), "a matchkey granted twice: " + granted);
        assertEquals(new TrackerSummary.Queue(8, 0), t.summary().queue("pool"));
        assertEquals(20, t.stats().grants());
    }

    @Test
    void interruptingAVirtualThreadBlockedInARequestCancelsIt() throws Exception {
        Tracker t = tracker(TrackerOptions.builder().port(0));
        TrackerClient client = TrackerClient.of(t.address());
        CompletableFuture<BatonException> outcome = new CompletableFuture<>();
        Thread caller = Thread.ofVirtual().start(() -> {
            try {
                client.request("never", 1, Duration.ofMinutes(1));
                outcome.complete(null);
            } catch (BatonException e) {
                outcome.complete(e);
            }
        });
        TrackerTests.await(() -> client.summary().queue("never").pending() == 1, () -> "not queued");
        caller.interrupt();
        BatonException e;
        try {
            e = outcome.get(5, TimeUnit.SECONDS);
        } catch (ExecutionException ex) {
            throw new AssertionError(ex);
        }
        assertEquals(Status.Code.CANCELLED, e.code());
        TrackerTests.await(() -> client.summary().queues().isEmpty(), () -> "left: " + client.summary());
    }
}
