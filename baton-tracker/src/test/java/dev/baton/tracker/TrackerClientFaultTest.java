package dev.baton.tracker;

import dev.baton.BatonException;
import dev.baton.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Baton's client against trackers that misbehave ({@link FakeTracker}): silent, slow, or gone in the middle of a
 * reconnect; and arguments the tracker would refuse, which are refused before anything is sent.
 */
@Timeout(60)
class TrackerClientFaultTest {

    /** Far above every deadline below: a wait that ends at the deadline did not wait for this. */
    private static final Duration LONG_IO = Duration.ofSeconds(30);

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

    private static BatonException failure(Runnable r) {
        return assertThrows(BatonException.class, r::run);
    }

    private static long millisSince(long startNs) {
        return (System.nanoTime() - startNs) / 1_000_000;
    }

    @Test
    void aRequestToATrackerThatNeverEchoesTheMagicEndsAtItsDeadline() throws Exception {
        FakeTracker silent = track(new FakeTracker((i, s, in, out) -> {
            FakeTracker.magic(in, out, false, 0);
            in.read();   // until the client hangs up
        }));
        TrackerClient client = TrackerClient.builder(silent.address()).ioTimeout(LONG_IO).build();
        long start = System.nanoTime();
        BatonException e = failure(() -> client.request("k", 1, Duration.ofMillis(300)));
        long tookMs = millisSince(start);
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code(), e.getMessage());
        assertTrue(e.status().retrySafe());
        assertTrue(tookMs < 10_000, "took " + tookMs + " ms: the 30 s I/O timeout, not the 300 ms deadline");
    }

    @Test
    void aGrantThatStopsHalfwayEndsAtTheRequestsDeadline() throws Exception {
        FakeTracker halfway = track(new FakeTracker((i, s, in, out) -> {
            FakeTracker.magic(in, out, true, 0);
            FakeTracker.frame(in);   // the REQUEST
            out.write(new byte[]{30});   // the first byte of a reply's length, and no more
            out.flush();
            in.read();
        }));
        TrackerClient client = TrackerClient.builder(halfway.address()).ioTimeout(LONG_IO).build();
        long start = System.nanoTime();
        BatonException e = failure(() -> client.request("k", 1, Duration.ofMillis(300)));
        long tookMs = millisSince(start);
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code(), e.getMessage());
        assertTrue(tookMs < 10_000, "took " + tookMs + " ms: the 30 s I/O timeout, not the 300 ms deadline");
    }

    @Test
    void aTrackerSilentForLongerThanTheIoTimeoutIsDeadlineExceededNotUnavailable() throws Exception {
        FakeTracker silent = track(new FakeTracker((i, s, in, out) -> {
            FakeTracker.magic(in, out, false, 0);
            in.read();
        }));
        TrackerClient client = TrackerClient.builder(silent.address()).ioTimeout(Duration.ofMillis(200)).build();
        BatonException e = failure(() -> client.request("k", 1, Duration.ofMinutes(1)));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("did not answer within 200 ms"), e.getMessage());
        assertEquals(Status.Code.DEADLINE_EXCEEDED, failure(client::summary).code());
    }

    @Test
    void aSummaryWithATimeoutGetsThatMuchInAllNotThatMuchPerStep() throws Exception {
        // Each step takes 200 ms: well within the 2 s limit per step, and within 300 ms each, but 400 ms in all.
        FakeTracker slow = track(new FakeTracker((i, s, in, out) -> {
            FakeTracker.magic(in, out, true, 200);
            FakeTracker.frame(in);
            Thread.sleep(200);
            FakeTracker.reply(out, "[0,{\"queue_info\":{},\"server_info\":[]}]");
            in.read();
        }));
        TrackerClient client = TrackerClient.builder(slow.address()).ioTimeout(Duration.ofSeconds(2)).build();
        assertTrue(client.summary().queues().isEmpty(), "each step within the I/O timeout: answered");
        BatonException e = failure(() -> client.summary(Duration.ofMillis(300)));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code(), e.getMessage());
        assertTrue(e.getMessage().contains("did not answer within 300 ms"), e.getMessage());
    }

    @Test
    void closingARegistrationAbortsAReconnectInProgress() throws Exception {
        CountDownLatch reconnecting = new CountDownLatch(1);
        CountDownLatch abandoned = new CountDownLatch(1);
        FakeTracker fake = track(new FakeTracker((i, s, in, out) -> {
            if (i == 0) {   // registers the server, then goes away
                FakeTracker.magic(in, out, true, 0);
                FakeTracker.frame(in);
                FakeTracker.reply(out, "0");   // UPDATE_INFO
                FakeTracker.frame(in);
                FakeTracker.reply(out, "0");   // PUT
                s.close();
            } else if (i == 1) {   // the reconnect: the magic is never echoed
                FakeTracker.magic(in, out, false, 0);
                reconnecting.countDown();
                FakeTracker.awaitPeerClose(s, in, abandoned);
            }
        }));
        TrackerClient client = TrackerClient.builder(fake.address()).pingInterval(Duration.ofMillis(50))
                .ioTimeout(LONG_IO).build();
        ServerRegistration reg = track(client.register("k", 9000, null));
        assertTrue(reconnecting.await(10, TimeUnit.SECONDS), "the registration did not reconnect");
        reg.close();
        assertTrue(abandoned.await(5, TimeUnit.SECONDS), "close() left the reconnect's connection open");
        TrackerTests.assertNoTrackerThreads();
    }

    @Test
    void argumentsTheTrackerWouldRefuseAreInvalidBeforeAnythingIsSent() {
        TrackerClient client = TrackerClient.of(new InetSocketAddress("127.0.0.1", 1));   // nothing listens
        String k257 = "k".repeat(257);
        assertInvalid(() -> client.request("", 1, Duration.ofSeconds(1)));
        assertInvalid(() -> client.request(null, 1, Duration.ofSeconds(1)));
        assertInvalid(() -> client.request(k257, 1, Duration.ofSeconds(1)));
        assertInvalid(() -> client.requestAsync(k257, 1, Duration.ofSeconds(1)));
        assertInvalid(() -> client.request("k", 1, Duration.ZERO));
        assertInvalid(() -> client.summary(Duration.ofMillis(-1)));
        assertInvalid(() -> client.stop(null));
        assertInvalid(() -> client.register("k", 0, null));
        assertInvalid(() -> client.register("k", 65536, null));
        assertInvalid(() -> client.register("", 9000, null));
        assertInvalid(() -> client.register("k".repeat(201), 9000, null));
        assertInvalid(() -> client.register("k", 9000, ""));
        assertInvalid(() -> client.register("k", 9000, "h".repeat(257)));
    }

    private static void assertInvalid(Runnable r) {
        BatonException e = failure(r);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.code(), e.getMessage());
        assertTrue(!e.status().retrySafe(), e.getMessage());
    }

    @Test
    void theLongestNamesTheClientAllowsTheTrackerAccepts() {
        try (Tracker t = TrackerTests.start()) {
            TrackerClient client = TrackerClient.of(t.address());
            String longest = "k".repeat(200);
            try (ServerRegistration reg = client.register(longest, 9000, "h".repeat(256))) {
                TrackerGrant g = client.request(longest, 1, Duration.ofSeconds(5));
                assertEquals(reg.matchKey(), g.matchKey());
                assertEquals("h".repeat(256), g.host());
            }
            BatonException e = failure(() -> client.request("r".repeat(256), 1, Duration.ofMillis(100)));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code(), "queued, not refused: " + e.getMessage());
            assertEquals(0, t.stats().protocolErrors());
        }
    }
}
