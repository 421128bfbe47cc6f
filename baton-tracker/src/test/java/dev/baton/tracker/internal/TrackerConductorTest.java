package dev.baton.tracker.internal;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conductor without sockets: what it answers, and what it does when a reply cannot be written. The outbound
 * side below fails a "broken" connection the way {@link TrackerLoop} does: marks it closed and calls
 * {@link TrackerConductor#onFail} at once, from inside the send.
 */
@Timeout(30)
class TrackerConductorTest {

    private final Map<TvmConnection, List<String>> sent = new HashMap<>();
    private final Set<TvmConnection> broken = new HashSet<>();
    private final Counters counters = new Counters();
    private final TrackerConductor conductor;
    private int nextPort = 20_000;

    TrackerConductorTest() {
        conductor = new TrackerConductor(new TrackerConductor.Outbound() {
            @Override
            public boolean send(TvmConnection c, ByteBuffer frame) {
                if (c.closed) {
                    return false;
                }
                if (broken.contains(c)) {
                    c.closed = true;
                    conductor.onFail(c);
                    return false;
                }
                byte[] b = new byte[frame.remaining() - 4];
                frame.position(4).get(b);
                sent.computeIfAbsent(c, k -> new ArrayList<>()).add(new String(b, StandardCharsets.US_ASCII));
                return true;
            }

            @Override
            public void stop() {
            }
        }, counters, "tracker:test", 0);
    }

    private TvmConnection connection() {
        return new TvmConnection(null, new InetSocketAddress(InetAddress.getLoopbackAddress(), nextPort++), 0,
                TvmWire.MAX_FRAME_BYTES);
    }

    private void put(TvmConnection c, String key, String matchKey) throws ProtocolException {
        conductor.onMessage(c, new TvmMessage.Put(key, 9000, matchKey, null), 0);
    }

    private void request(TvmConnection c, String key) throws ProtocolException {
        conductor.onMessage(c, new TvmMessage.Request(key, 1), 0);
    }

    private String queue(String key) {
        JsonObject q = conductor.summary().getAsJsonObject("queue_info").getAsJsonObject(key);
        return q == null ? "none" : q.toString();
    }

    private List<String> sentTo(TvmConnection c) {
        return sent.getOrDefault(c, List.of());
    }

    @Test
    void theLargestSummaryTheLimitsAllowFitsTheClientsReplyLimit() throws ProtocolException {
        // Keys of 256 characters that each take 6 bytes escaped, 64 per connection, until the tracker's cap.
        int keys = 0;
        ProtocolException refused = null;
        for (int c = 0; refused == null && c < 200; c++) {
            TvmConnection conn = connection();
            for (int k = 0; k < TrackerConductor.MAX_KEYS_PER_CONNECTION; k++) {
                String key = String.format("%05d", keys) + "\u00e9".repeat(251);
                try {
                    put(conn, key, "m");
                } catch (ProtocolException e) {
                    refused = e;
                    break;
                }
                keys++;
            }
        }
        assertTrue(refused != null && refused.kind() == ProtocolException.Kind.LIMIT, "no cap on keys: " + keys);
        assertEquals(TrackerConductor.MAX_KEYS, keys);
        TvmConnection asker = connection();
        assertEquals(ProtocolException.Kind.LIMIT,
                assertThrows(ProtocolException.class, () -> request(asker, "one key too many")).kind());
        request(asker, String.format("%05d", 0) + "\u00e9".repeat(251));   // an existing key is fine

        // Descriptions of 4096 characters each, until the tracker's cap on them all.
        JsonObject info = new JsonObject();
        JsonArray addr = new JsonArray();
        addr.add("h");
        addr.add(65535);
        info.add("addr", addr);
        info.addProperty("key", "server:");
        info.addProperty("key", "server:" + "x".repeat(TvmMessage.MAX_INFO_CHARS - TvmWire.toJson(info).length()));
        assertEquals(TvmMessage.MAX_INFO_CHARS, TvmWire.toJson(info).length());
        int described = 0;
        refused = null;
        for (int c = 0; refused == null && c < 5_000; c++) {
            try {
                conductor.onMessage(connection(), new TvmMessage.UpdateInfo(info.deepCopy()), 0);
                described++;
            } catch (ProtocolException e) {
                refused = e;
            }
        }
        assertTrue(refused != null && refused.kind() == ProtocolException.Kind.LIMIT, "no cap on infos: " + described);

        int bytes = TvmWire.frame(TvmWire.message(TvmWire.SUCCESS, conductor.summary())).remaining() - 4;
        assertTrue(bytes <= TvmSocket.MAX_REPLY_BYTES, "a summary of " + bytes + " bytes");
        assertTrue(bytes > 10_000_000, "the test no longer reaches the limits: " + bytes + " bytes");
    }

    @Test
    void aFailedServerConnectionsServersLeaveAtOnceAndAPutWhoseReplyFailedIsNotAdded() throws ProtocolException {
        TvmConnection server = connection();
        TvmConnection client = connection();
        put(server, "k", "k:1");
        assertEquals("{\"free\":1,\"pending\":0}", queue("k"));
        broken.add(server);
        put(server, "k", "k:2");   // its reply cannot be written: the connection fails
        assertEquals("{\"free\":0,\"pending\":0}", queue("k"), "k:1 left with it, and k:2 was never added");
        request(client, "k");
        assertEquals(List.of(), sentTo(client), "nothing is granted from a failed connection");
        conductor.onClose(server);   // the loop closes it after the batch
        assertEquals("{\"free\":0,\"pending\":1}", queue("k"));
        assertEquals(0, counters.grants());
    }

    @Test
    void aServerWhoseConnectionFailsWhileBeingGrantedToItselfIsNotPutBack() throws ProtocolException {
        TvmConnection both = connection();
        put(both, "k", "k:1");
        broken.add(both);
        request(both, "k");   // granted at once, but the grant cannot be written
        assertEquals("{\"free\":0,\"pending\":0}", queue("k"));
        conductor.onClose(both);
        assertEquals("none", queue("k"), "no ghost entry left behind");
        TvmConnection client = connection();
        request(client, "k");
        assertEquals(List.of(), sentTo(client));
    }

    @Test
    void aGrantThatCannotBeWrittenGoesToTheNextRequest() throws ProtocolException {
        TvmConnection gone = connection();
        TvmConnection next = connection();
        request(gone, "k");
        request(next, "k");
        broken.add(gone);
        put(connection(), "k", "k:1");
        assertEquals(List.of("[0,[\"127.0.0.1\",9000,\"k:1\"]]"), sentTo(next));
        assertEquals(1, counters.grants());
        assertEquals(1, counters.abandoned());
    }
}
