package dev.baton.tracker;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input closes the connection it came on and nothing else: a registered server and a waiting client on
 * other connections keep their place, and new peers are served. Each test ends by checking exactly that.
 */
@Timeout(60)
class TrackerRobustnessTest {

    private static final Duration FRAME_TIMEOUT = Duration.ofMillis(300);

    private Tracker tracker;
    private int port;
    /** A Python-style server registered under "good", and a client waiting for "other": bystanders. */
    private RawPeer server;
    private RawPeer waiting;

    @BeforeEach
    void start() throws IOException {
        tracker = TrackerTests.start(TrackerOptions.builder().port(0).frameTimeout(FRAME_TIMEOUT)
                .writeTimeout(FRAME_TIMEOUT).maxConnections(8));
        port = tracker.port();
        server = RawPeer.handshake(port);
        assertEquals("0", server.call("[5, {\"key\": \"server:good\", \"addr\": [null, 9091]}]"));
        assertEquals("0", server.call("[3, \"good\", [9091, \"good:0.1\"], null]"));
        waiting = RawPeer.handshake(port);
        waiting.send("[4, \"other\", \"\", 1]");
        TrackerTests.await(() -> tracker.summary().queue("other").pending() == 1, () -> "request not queued");
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
        waiting.close();
        tracker.close();
        TrackerTests.assertNoTrackerThreads();
    }

    /** The bystanders kept their place and a new peer is served. */
    private void trackerStillServesOthers() throws IOException {
        assertEquals("0", server.call("[1]"), "the registered server's connection is open");
        assertEquals(new TrackerSummary.Queue(1, 0), tracker.summary().queue("good"));
        assertEquals(new TrackerSummary.Queue(0, 1), tracker.summary().queue("other"));
        try (RawPeer fresh = RawPeer.handshake(port)) {
            assertEquals("0", fresh.call("[1]"));
        }
    }

    private void assertRejected(byte[] bytesAfterMagic) throws IOException {
        long errorsBefore = tracker.stats().protocolErrors();
        try (RawPeer bad = RawPeer.handshake(port)) {
            bad.sendBytes(bytesAfterMagic);
            bad.assertClosedByTracker(Duration.ofSeconds(5));
        }
        assertEquals(errorsBefore + 1, tracker.stats().protocolErrors());
        trackerStillServesOthers();
    }

    private void assertRejected(String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        byte[] frame = new byte[4 + body.length];
        System.arraycopy(RawPeer.le(body.length), 0, frame, 0, 4);
        System.arraycopy(body, 0, frame, 4, body.length);
        assertRejected(frame);
    }

    @Test
    void aBadMagicIsClosedWithoutAnEcho() throws IOException {
        for (int magic : new int[]{0xFF271 /* the RPC data plane's */, 0, -1, 0x71F20200 /* byte-swapped */}) {
            try (RawPeer bad = RawPeer.connect(port)) {
                bad.sendInt(magic);
                bad.assertClosedByTracker(Duration.ofSeconds(5));
            }
        }
        assertEquals(4, tracker.stats().protocolErrors());
        trackerStillServesOthers();
    }

    @Test
    void aFrameLengthOverOneMebibyteOrBelowOneIsClosed() throws IOException {
        assertRejected(RawPeer.le((1 << 20) + 1));
        assertRejected(RawPeer.le(Integer.MAX_VALUE));
        assertRejected(RawPeer.le(-1));
        assertRejected(RawPeer.le(Integer.MIN_VALUE));
        assertRejected(RawPeer.le(0));
    }

    @Test
    void aFrameOfExactlyOneMebibyteIsAccepted() throws IOException {
        // [1, "xxx..."]: a PING with an extra argument, which TVM ignores too; 1 MiB in all.
        String json = "[1, \"" + "x".repeat((1 << 20) - 7) + "\"]";
        assertEquals(1 << 20, json.length());
        try (RawPeer big = RawPeer.handshake(port)) {
            assertEquals("0", big.call(json));
        }
        trackerStillServesOthers();
    }

    @Test
    void malformedJsonIsClosed() throws IOException {
        assertRejected("[3, \"rasp\", [9091, \"rasp:0.1\"], nul");
        assertRejected("[1] [1]");
        assertRejected("['rasp']");
        assertRejected("[1,]");
        assertRejected("[NaN]");
        assertRejected("// comment\n[1]");
        assertRejected("[" + "[".repeat(5000) + "]".repeat(5000) + "]");
        assertRejected(new byte[]{3, 0, 0, 0, '[', (byte) 0xC3, ']'});   // not UTF-8
    }

    @Test
    void messagesOfTheWrongShapeAreClosed() throws IOException {
        assertRejected("{\"code\": 1}");
        assertRejected("[]");
        assertRejected("[\"1\"]");
        assertRejected("[1.5]");
        assertRejected("[3, \"rasp\", [\"abc\", \"rasp:0.1\"], null]");
        assertRejected("[3, \"rasp\", [70000, \"rasp:0.1\"], null]");
        assertRejected("[3, \"rasp\", [9091], null]");
        assertRejected("[3, \"\", [9091, \"rasp:0.1\"], null]");
        assertRejected("[3, \"rasp\", [9091, \"rasp:0.1\"], 12]");
        assertRejected("[4, \"rasp\", \"\"]");
        assertRejected("[4, \"rasp\", \"\", \"high\"]");
        assertRejected("[5, {\"key\": \"server:x\"}]");
        assertRejected("[5, {\"key\": \"server:x\", \"addr\": [null, \"port\"]}]");
        assertRejected("[5, {\"key\": 7, \"addr\": [null, 9000]}]");
        assertRejected("[5, [\"server:x\"]]");
        assertRejected("[2]");
    }

    @Test
    void anUnknownCodeIsClosed() throws IOException {
        assertRejected("[8]");
        assertRejected("[0]");
        assertRejected("[-1]");
        assertRejected("[1000000]");
    }

    @Test
    void aPeerThatStallsMidFrameIsClosedAfterTheFrameTimeout() throws IOException {
        // Before any of the four connects: no stall clock of the tracker's can have started earlier, so the time
        // measured until each close is at least the time the tracker let pass.
        long start = System.nanoTime();
        try (RawPeer stallInBody = RawPeer.handshake(port); RawPeer stallInLength = RawPeer.handshake(port);
             RawPeer stallInMagic = RawPeer.connect(port); RawPeer silent = RawPeer.connect(port)) {
            stallInBody.sendBytes(RawPeer.le(100));
            stallInBody.sendBytes("[4, \"good\"".getBytes(StandardCharsets.US_ASCII));
            stallInLength.sendBytes(new byte[]{10, 0});
            stallInMagic.sendBytes(new byte[]{0x71, (byte) 0xF2});
            // Meanwhile the tracker serves everyone else.
            assertEquals("0", server.call("[1]"));
            for (RawPeer p : new RawPeer[]{stallInBody, stallInLength, stallInMagic, silent}) {
                p.assertClosedByTracker(Duration.ofSeconds(5));
            }
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertTrue(tookMs >= FRAME_TIMEOUT.toMillis() - 50, "closed after " + tookMs + " ms, too early");
            assertEquals(4, tracker.stats().stalledConnections());
        }
        trackerStillServesOthers();
    }

    @Test
    void aSlowButSteadyFrameStillCountsAsOneFrame() throws IOException {
        // The timeout is for the whole frame: dribbling it byte by byte does not reset it.
        try (RawPeer dribbler = RawPeer.handshake(port)) {
            byte[] frame = new byte[4 + 3];
            System.arraycopy(RawPeer.le(3), 0, frame, 0, 4);
            frame[4] = '[';
            frame[5] = '1';
            frame[6] = ']';
            try {
                for (byte b : frame) {
                    dribbler.sendBytes(new byte[]{b});
                    java.util.concurrent.locks.LockSupport.parkNanos(FRAME_TIMEOUT.toNanos() / 4);
                }
            } catch (IOException closedMidway) {
                // the tracker closed it while it was still dribbling: that is the point
            }
            dribbler.assertClosedByTracker(Duration.ofSeconds(5));
        }
        trackerStillServesOthers();
    }

    @Test
    void aPeerPipeliningBytesInAnyPiecesIsUnderstood() throws IOException {
        // Two frames in one write, then one frame split across writes: TCP gives no boundaries.
        try (RawPeer p = RawPeer.handshake(port)) {
            byte[] ping = {3, 0, 0, 0, '[', '1', ']'};
            byte[] two = new byte[14];
            System.arraycopy(ping, 0, two, 0, 7);
            System.arraycopy(ping, 0, two, 7, 7);
            p.sendBytes(two);
            assertEquals("0", p.read());
            assertEquals("0", p.read());
            p.sendBytes(new byte[]{3, 0});
            p.sendBytes(new byte[]{0, 0, '['});
            p.sendBytes(new byte[]{'1', ']'});
            assertEquals("0", p.read());
        }
    }

    @Test
    void connectionsOverTheMaximumAreRefusedAndOthersKeepWorking() throws IOException {
        List<RawPeer> peers = new ArrayList<>();
        try {
            // 2 bystanders + 6 = the maximum of 8.
            for (int i = 0; i < 6; i++) {
                peers.add(RawPeer.handshake(port));
            }
            try (RawPeer refused = RawPeer.connect(port)) {
                refused.assertClosedByTracker(Duration.ofSeconds(5));
            }
            assertEquals(1, tracker.stats().refusedConnections());
            assertEquals("0", peers.getLast().call("[1]"));
            assertEquals("0", server.call("[1]"));
            peers.removeLast().close();
            TrackerTests.await(() -> tracker.stats().openConnections() == 7, () -> "open: " + tracker.stats());
            trackerStillServesOthers();
        } finally {
            for (RawPeer p : peers) {
                p.close();
            }
        }
    }

    @Test
    void aPeerThatBreaksTheProtocolLosesItsOwnServersAndRequestsOnly() throws IOException {
        try (RawPeer bad = RawPeer.handshake(port)) {
            assertEquals("0", bad.call("[3, \"bad\", [9500, \"bad:0.1\"], null]"));
            bad.send("[4, \"other\", \"\", 9]");
            TrackerTests.await(() -> tracker.summary().queue("other").pending() == 2, () -> "not queued");
            bad.send("[42]");
            bad.assertClosedByTracker(Duration.ofSeconds(5));
        }
        TrackerTests.await(() -> !tracker.summary().queues().containsKey("bad"), () -> "left: " + tracker.summary());
        trackerStillServesOthers();
    }

    @Test
    void aPeerThatNeverReadsItsRepliesIsClosed() throws IOException {
        // A summary of about 50 KB: 180 keys of 250 characters on three connections.
        List<RawPeer> putters = new ArrayList<>();
        try {
            for (int c = 0; c < 3; c++) {
                RawPeer p = RawPeer.handshake(port);
                putters.add(p);
                for (int k = 0; k < 60; k++) {
                    String key = c + "-" + k + "-" + "k".repeat(240);
                    assertEquals("0", p.call("[3, \"" + key + "\", [9000, \"m\"], null]"));
                }
            }
            long closedBefore = tracker.stats().protocolErrors() + tracker.stats().stalledConnections();
            try (java.net.Socket deaf = new java.net.Socket()) {
                deaf.setReceiveBufferSize(4096);
                deaf.connect(new java.net.InetSocketAddress("127.0.0.1", port), 5_000);
                java.io.OutputStream out = deaf.getOutputStream();
                out.write(RawPeer.le(RawPeer.MAGIC));
                byte[] summary = {3, 0, 0, 0, '[', '6', ']'};
                try {
                    for (int i = 0; i < 150; i++) {   // about 7.5 MB of replies, none read
                        out.write(summary);
                    }
                    out.flush();
                } catch (IOException closedAlready) {
                    // the tracker gave up on it while it was still asking
                }
                TrackerTests.await(() -> tracker.stats().protocolErrors() + tracker.stats().stalledConnections()
                        == closedBefore + 1, () -> "not closed: " + tracker.stats());
            }
        } finally {
            for (RawPeer p : putters) {
                p.close();
            }
        }
        trackerStillServesOthers();
    }

    @Test
    void requestsOverThePerConnectionLimitClose() throws IOException {
        try (RawPeer greedy = RawPeer.handshake(port)) {
            for (int i = 0; i < 64; i++) {
                greedy.send("[4, \"many\", \"\", 1]");
            }
            TrackerTests.await(() -> tracker.summary().queue("many").pending() == 64, () -> "not queued");
            greedy.send("[4, \"many\", \"\", 1]");
            greedy.assertClosedByTracker(Duration.ofSeconds(5));
        }
        TrackerTests.await(() -> !tracker.summary().queues().containsKey("many"), () -> "left: " + tracker.summary());
        trackerStillServesOthers();
    }
}
