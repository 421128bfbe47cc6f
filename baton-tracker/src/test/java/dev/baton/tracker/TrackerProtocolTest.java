package dev.baton.tracker;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.ConnectException;
import java.net.Socket;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TVM's tracker protocol as TVM's own peers speak it, byte for byte: the JSON below is what {@code json.dumps}
 * writes for the Python server ({@code server.py}) and client ({@code client.py}), and what the C++
 * ({@code rpc_tracker_client.h}) and Java ({@code ConnectTrackerServerProcessor}) servers build by hand.
 */
@Timeout(60)
class TrackerProtocolTest {

    private Tracker tracker;
    private int port;

    @BeforeEach
    void start() {
        tracker = TrackerTests.start();
        port = tracker.port();
    }

    @AfterEach
    void stop() {
        tracker.close();
        TrackerTests.assertNoTrackerThreads();
    }

    private JsonObject summary() throws IOException {
        try (RawPeer p = RawPeer.handshake(port)) {
            JsonArray reply = JsonParser.parseString(p.call("[6]")).getAsJsonArray();
            assertEquals(0, reply.get(0).getAsInt());
            return reply.get(1).getAsJsonObject();
        }
    }

    /** A Python server's registration: UPDATE_INFO then PUT, each answered 0. */
    private RawPeer pythonServer(String key, int serverPort, String matchKey) throws IOException {
        RawPeer s = RawPeer.handshake(port);
        assertEquals("0", s.call("[5, {\"key\": \"server:" + key + "\", \"addr\": [null, " + serverPort + "]}]"));
        assertEquals("0", s.call("[3, \"" + key + "\", [" + serverPort + ", \"" + matchKey + "\"], null]"));
        return s;
    }

    private void awaitPending(String key, int pending) {
        TrackerTests.await(() -> tracker.summary().queue(key).pending() == pending,
                () -> "pending of " + key + " is " + tracker.summary().queue(key).pending() + ", not " + pending);
    }

    @Test
    void echoesTheMagicAndAnswersPingWithSuccess() throws IOException {
        try (RawPeer p = RawPeer.connect(port)) {
            p.sendBytes(new byte[]{0x71, (byte) 0xF2, 0x02, 0x00});   // 0x2F271, little-endian
            assertEquals(RawPeer.MAGIC, p.readInt());
            assertEquals("0", p.call("[1]"));
            assertEquals("0", p.call("[1]"), "a connection carries any number of exchanges");
        }
    }

    @Test
    void aPythonServerIsGrantedToAPythonClientAndServerInfoShowsIt() throws IOException {
        try (RawPeer server = pythonServer("rasp", 9091, "rasp:0.6948327385374584");
             RawPeer client = RawPeer.handshake(port)) {
            JsonObject s = summary();
            assertEquals(JsonParser.parseString("{\"rasp\": {\"free\": 1, \"pending\": 0}}"), s.get("queue_info"));
            assertEquals(JsonParser.parseString("[{\"key\": \"server:rasp\", \"addr\": [\"127.0.0.1\", 9091]}]"),
                    s.get("server_info"));

            assertEquals("[0,[\"127.0.0.1\",9091,\"rasp:0.6948327385374584\"]]", client.call("[4, \"rasp\", \"\", 1]"));

            assertEquals("[]", server.call("[7]"), "the server learns that its matchkey was taken");
            JsonObject after = summary();
            assertEquals(JsonParser.parseString("{\"rasp\": {\"free\": 0, \"pending\": 0}}"), after.get("queue_info"),
                    "a busy server's key stays listed while its server is connected");
            assertEquals(1, after.getAsJsonArray("server_info").size());

            // After its session the server PUTs a fresh matchkey and is back in the pool.
            assertEquals("0", server.call("[3, \"rasp\", [9091, \"rasp:0.1337\"], null]"));
            assertEquals("[\"rasp:0.1337\"]", server.call("[7]"));
            assertEquals(1, tracker.summary().queue("rasp").free());
        }
    }

    @Test
    void aCustomAddrIsWhatTheClientIsGiven() throws IOException {
        try (RawPeer server = RawPeer.handshake(port); RawPeer client = RawPeer.handshake(port)) {
            assertEquals("0", server.call("[5, {\"key\": \"server:jetson\", \"addr\": [\"10.1.2.3\", 9000]}]"));
            assertEquals("0", server.call("[3, \"jetson\", [9000, \"jetson:0.5\"], \"10.1.2.3\"]"));
            assertEquals("[0,[\"10.1.2.3\",9000,\"jetson:0.5\"]]", client.call("[4, \"jetson\", \"\", 1]"));
            assertEquals("10.1.2.3", tracker.summary().servers().getFirst().host());
        }
    }

    @Test
    void theCppDialectWithAStringPortWorks() throws IOException {
        try (RawPeer server = RawPeer.handshake(port); RawPeer client = RawPeer.handshake(port)) {
            // rpc_tracker_client.h: the port in quotes, custom_addr the bare word null.
            String ok = server.call("[5, {\"key\": \"server:android\", \"addr\": [null, \"9090\"]}]");
            assertEquals("0", ok, "std::stoi must read SUCCESS");
            assertEquals("0", server.call("[3, \"android\", [9090, \"android:0.840188\"], null]"));
            assertTrue(server.call("[7]").contains("android:0.840188"), "found by substring search, as C++ does");

            TrackerSummary.Server listed = tracker.summary().servers().getFirst();
            assertEquals(new TrackerSummary.Server("server:android", "127.0.0.1", 9090), listed);
            assertTrue(summary().toString().contains("[\"127.0.0.1\",9090]"), "the port is listed as a number");

            assertEquals("[0,[\"127.0.0.1\",9090,\"android:0.840188\"]]", client.call("[4, \"android\", \"\", 1]"));
            assertFalse(server.call("[7]").contains("android:0.840188"));
        }
    }

    @Test
    void theJavaDialectWorks() throws IOException {
        try (RawPeer server = RawPeer.handshake(port)) {
            // ConnectTrackerServerProcessor.generateCinfo and generatePut, spaces and all.
            assertEquals("0", server.call("[5, {\"key\" : \"server:android\", \"addr\": [null, \"5001\"]}]"));
            assertEquals("0", server.call("[3, \"android\", [5001, \"android:0.4207\"], null]"));
            assertEquals(new TrackerSummary.Queue(1, 0), tracker.summary().queue("android"));
            assertEquals(5001, tracker.summary().servers().getFirst().port());
        }
    }

    @Test
    void aTvmProxyDescribesItselfWithAKeyOfAnyLengthWithinTheInfoLimit() throws IOException {
        // proxy.py: UPDATE_INFO {"key": "server:proxy[k1,k2,...]"} names every key behind the proxy.
        StringBuilder keys = new StringBuilder();
        for (int i = 0; i < 60; i++) {
            keys.append(i == 0 ? "" : ",").append("device-").append(i);
        }
        String key = "server:proxy[" + keys + "]";
        assertTrue(key.length() > 256, "longer than a key, matchkey or host may be: " + key.length());
        try (RawPeer proxy = RawPeer.handshake(port)) {
            assertEquals("0", proxy.call("[5, {\"key\": \"" + key + "\", \"addr\": [null, 9190]}]"));
            assertEquals(key, tracker.summary().servers().getFirst().key());
        }
    }

    @Test
    void prioritiesOneTwoOneThreeAreGrantedThreeTwoOneOne() throws IOException {
        try (RawPeer s1 = pythonServer("rk", 9001, "rk:0.1");
             RawPeer s2 = pythonServer("rk", 9002, "rk:0.2");
             RawPeer busy1 = RawPeer.handshake(port); RawPeer busy2 = RawPeer.handshake(port);
             RawPeer a = RawPeer.handshake(port); RawPeer b = RawPeer.handshake(port);
             RawPeer c = RawPeer.handshake(port); RawPeer d = RawPeer.handshake(port)) {
            // Both servers busy.
            assertTrue(busy1.call("[4, \"rk\", \"\", 1]").contains("rk:0.1"));
            assertTrue(busy2.call("[4, \"rk\", \"\", 1]").contains("rk:0.2"));
            // Priorities 1, 2, 1, 3, each seen by the tracker before the next is sent.
            RawPeer[] clients = {a, b, c, d};
            int[] priorities = {1, 2, 1, 3};
            for (int i = 0; i < 4; i++) {
                clients[i].send("[4, \"rk\", \"\", " + priorities[i] + "]");
                awaitPending("rk", i + 1);
            }
            // Sessions end one after another; each re-PUT goes to the best request waiting.
            RawPeer[] expected = {d, b, a, c};
            RawPeer[] servers = {s1, s2, s1, s2};
            for (int i = 0; i < 4; i++) {
                String mk = "rk:1." + i;
                assertEquals("0", servers[i].call("[3, \"rk\", [" + (9001 + i % 2) + ", \"" + mk + "\"], null]"));
                assertEquals("[0,[\"127.0.0.1\"," + (9001 + i % 2) + ",\"" + mk + "\"]]", expected[i].read());
            }
            assertEquals(new TrackerSummary.Queue(0, 0), tracker.summary().queue("rk"));
            assertEquals(6, tracker.stats().grants());
        }
    }

    @Test
    void aServerThatDisconnectsWithoutUpdateInfoLeavesNoFreeEntry() throws IOException {
        RawPeer server = RawPeer.handshake(port);
        // No UPDATE_INFO: TVM's tracker keeps these two "free" forever after the disconnect.
        assertEquals("0", server.call("[3, \"orphan\", [9100, \"orphan:0.1\"], null]"));
        assertEquals("0", server.call("[3, \"orphan\", [9101, \"orphan:0.2\"], null]"));
        assertEquals(new TrackerSummary.Queue(2, 0), tracker.summary().queue("orphan"));
        server.close();
        TrackerTests.await(() -> !tracker.summary().queues().containsKey("orphan"),
                () -> "still queued: " + tracker.summary().queues());

        try (RawPeer client = RawPeer.handshake(port)) {
            client.send("[4, \"orphan\", \"\", 1]");
            client.assertNothingFor(Duration.ofMillis(300));
            assertEquals(new TrackerSummary.Queue(0, 1), tracker.summary().queue("orphan"));
        }
    }

    @Test
    void aServerThatDisconnectsLeavesTheServerListAndTheQueue() throws IOException {
        RawPeer server = pythonServer("gone", 9200, "gone:0.1");
        assertEquals(1, tracker.summary().servers().size());
        server.close();
        TrackerTests.await(() -> tracker.summary().servers().isEmpty() && tracker.summary().queues().isEmpty(),
                () -> "left: " + tracker.summary());
    }

    @Test
    void aClientThatDisconnectsWhileWaitingLeavesNoGhost() throws IOException {
        RawPeer ghost = RawPeer.handshake(port);
        ghost.send("[4, \"rasp\", \"\", 5]");
        awaitPending("rasp", 1);
        ghost.close();
        TrackerTests.await(() -> !tracker.summary().queues().containsKey("rasp"),
                () -> "still queued: " + tracker.summary().queues());
        assertEquals(1, tracker.stats().abandonedRequests());

        // The next server is not handed to the ghost: it stays free for a live client.
        try (RawPeer server = pythonServer("rasp", 9091, "rasp:0.7"); RawPeer client = RawPeer.handshake(port)) {
            assertEquals(new TrackerSummary.Queue(1, 0), tracker.summary().queue("rasp"));
            assertEquals("[0,[\"127.0.0.1\",9091,\"rasp:0.7\"]]", client.call("[4, \"rasp\", \"\", 1]"));
            assertEquals("[]", server.call("[7]"), "handed to the live client");
            assertEquals(0, tracker.stats().waitingRequests());
        }
    }

    @Test
    void getPendingMatchKeysListsOnlyThatConnectionsUnclaimedKeys() throws IOException {
        try (RawPeer a = RawPeer.handshake(port); RawPeer b = RawPeer.handshake(port);
             RawPeer client = RawPeer.handshake(port)) {
            assertEquals("[]", a.call("[7]"));
            assertEquals("0", a.call("[3, \"k\", [9001, \"k:0.1\"], null]"));
            assertEquals("0", a.call("[3, \"k\", [9002, \"k:0.2\"], null]"));
            assertEquals("0", b.call("[3, \"k\", [9003, \"k:0.3\"], null]"));
            assertEquals("[\"k:0.1\",\"k:0.2\"]", a.call("[7]"));
            assertEquals("[\"k:0.3\"]", b.call("[7]"));
            assertTrue(client.call("[4, \"k\", \"\", 1]").contains("k:0.1"), "first PUT, first out");
            assertEquals("[\"k:0.2\"]", a.call("[7]"));
        }
    }

    @Test
    void theSameMatchKeyPutTwiceIsOneFreeServer() throws IOException {
        try (RawPeer server = pythonServer("twice", 9300, "twice:0.5")) {
            assertEquals("0", server.call("[3, \"twice\", [9300, \"twice:0.5\"], null]"));
            assertEquals(new TrackerSummary.Queue(1, 0), tracker.summary().queue("twice"));
            assertEquals("[\"twice:0.5\"]", server.call("[7]"));
        }
    }

    @Test
    void aRequestForAKeyNobodyServesWaitsAndIsCountedPending() throws IOException {
        try (RawPeer client = RawPeer.handshake(port)) {
            client.send("[4, \"nobody\", \"\", 1]");
            awaitPending("nobody", 1);
            client.assertNothingFor(Duration.ofMillis(300));
            JsonObject s = summary();
            assertEquals(JsonParser.parseString("{\"nobody\": {\"free\": 0, \"pending\": 1}}"), s.get("queue_info"));
            assertEquals("0", client.call("[1]"), "other messages are still answered while a request waits");
        }
    }

    @Test
    void stopWithAWrongKeyFailsAndWithTheRightKeyStopsTheTracker() throws Exception {
        try (RawPeer bystander = pythonServer("rasp", 9091, "rasp:0.9"); RawPeer admin = RawPeer.handshake(port)) {
            assertEquals("-1", admin.call("[2, \"tracker:0.123\"]"));
            assertEquals("-1", admin.call("[2, 42]"));
            assertEquals("0", admin.call("[1]"), "a wrong key leaves the connection open");
            assertFalse(tracker.isStopped());

            assertEquals("0", admin.call("[2, \"" + tracker.stopKey() + "\"]"));
            assertTrue(tracker.awaitStopped(Duration.ofSeconds(5)));
            bystander.assertClosedByTracker(Duration.ofSeconds(5));
            assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close(),
                    "the port is closed");
        }
    }

    @Test
    void theStopKeyIsRandomAndLongUnlessGiven() {
        assertTrue(tracker.stopKey().matches("tracker:[0-9a-f]{32}"), tracker.stopKey());
        try (Tracker other = TrackerTests.start()) {
            assertFalse(other.stopKey().equals(tracker.stopKey()));
        }
        try (Tracker fixed = TrackerTests.start(TrackerOptions.builder().port(0).stopKey("tracker:mine"))) {
            assertEquals("tracker:mine", fixed.stopKey());
        }
    }

    @Test
    void nonAsciiKeysTravelEscapedAndTheLengthCountsBytes() throws IOException {
        try (RawPeer server = RawPeer.handshake(port); RawPeer client = RawPeer.handshake(port)) {
            assertEquals("0", server.call("[3, \"gerät\", [9400, \"gerät:0.1\"], null]"));
            String reply = client.call("[4, \"gerät\", \"\", 1]");
            assertEquals("[0,[\"127.0.0.1\",9400,\"ger\\u00e4t:0.1\"]]", reply, "ASCII only, as json.dumps writes");
            assertEquals("gerät:0.1", JsonParser.parseString(reply).getAsJsonArray().get(1).getAsJsonArray()
                    .get(2).getAsString());
        }
    }
}
