package dev.baton.tracker.internal;

import com.code_intelligence.jazzer.junit.FuzzTest;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import dev.baton.fuzz.AllocationMeter;
import dev.baton.fuzz.SeedCorpus;
import dev.baton.tracker.TrackerSummary;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the tracker's side of TVM's tracker protocol as a peer's bytes reach it: {@link FrameDecoder} splits the
 * stream into the magic and frames, {@link TvmWire#parse} reads each frame's JSON, {@link TvmMessage#parse} types the
 * message; and the Java client's reading of a SUMMARY reply ({@link TrackerSummary#fromJson}) on the same JSON.
 * Input: byte 0, how many bytes each read hands over (0: all at once); the rest, what the peer sends.
 *
 * <p>Contract checked: bad input ends in a {@link ProtocolException} (the tracker closes that connection) and nothing
 * else; the client's summary reader throws only {@link IllegalArgumentException}; and the decoder holds no more
 * than it was sent (its body buffer grows with the bytes that arrive, from 4 KiB, not with the length a frame
 * announces, up to 1 MiB): heldBytes at most max(4 KiB, twice what arrived), and allocations in proportion.
 */
@Timeout(60)
class TvmProtocolFuzzTest {

    @BeforeAll
    static void warm() {
        // The seeds once, unmeasured: loading and initialising classes is not counted.
        for (byte[] seed : SeedCorpus.existing(TvmProtocolFuzzTest.class, "peerBytesParseOrEndInAProtocolException")) {
            decode(seed, false);
        }
    }

    @FuzzTest
    void peerBytesParseOrEndInAProtocolException(byte[] input) {
        AllocationMeter.repeatIfFirstExceeds(() -> decode(input, true));
    }

    private static void decode(byte[] input, boolean metered) {
        if (input.length == 0) {
            return;
        }
        int chunk = Byte.toUnsignedInt(input[0]);
        FrameDecoder decoder = new FrameDecoder(TvmWire.MAX_FRAME_BYTES);
        AllocationMeter meter = AllocationMeter.start();
        Sink sink = new Sink();
        long fed = 0;
        try {
            for (int at = 1; at < input.length; ) {
                int n = chunk == 0 ? input.length - at : Math.min(chunk, input.length - at);
                decoder.feed(ByteBuffer.wrap(input, at, n), 0, sink);
                at += n;
                fed += n;
                assertTrue(decoder.heldBytes() <= Math.max(4096, 2 * fed), "the decoder holds " + decoder.heldBytes()
                        + " bytes after receiving " + fed);
            }
        } catch (ProtocolException expected) {
            assertNotNull(expected.kind());
        }
        if (metered) {
            // Each frame costs a JSON parser (its buffers are some KiB, whatever the frame's size): counted apart.
            meter.assertAtMost((1L << 20) + 256L * input.length + 16L * 1024 * sink.frames, 0, "decoding "
                    + sink.frames + " frames in " + input.length + " bytes");
        }
    }

    /** Types every frame as the tracker does, and reads it as a summary reply as the client does. */
    private static final class Sink implements FrameDecoder.Sink {
        int frames;

        @Override
        public void onMagic() {
        }

        @Override
        public void onFrame(byte[] body, int length) throws ProtocolException {
            frames++;
            JsonElement json = TvmWire.parse(body, length);
            readAsSummary(json);
            assertNotNull(TvmMessage.parse(json));
        }

        private static void readAsSummary(JsonElement json) {
            JsonElement summary = json.isJsonArray() && json.getAsJsonArray().size() == 2
                    ? json.getAsJsonArray().get(1) : json;
            try {
                assertNotNull(TrackerSummary.fromJson(summary));
            } catch (IllegalArgumentException notASummary) {
                // the client turns it into a protocol error
            }
        }
    }

    /** Sessions as TVM's Python, C++ and Java peers speak them, replies of the tracker, and hostile lengths. */
    @Test
    @EnabledIfSystemProperty(named = SeedCorpus.PROPERTY, matches = "true")
    void writesSeeds() {
        SeedCorpus seeds = SeedCorpus.of(TvmProtocolFuzzTest.class, "peerBytesParseOrEndInAProtocolException");
        JsonArray addr = new JsonArray();
        addr.add("10.0.0.7");
        addr.add("9091");
        JsonObject info = new JsonObject();
        info.addProperty("key", "server:rasp");
        info.add("addr", addr);
        JsonArray put = TvmWire.message(TvmWire.PUT, new JsonPrimitive("rasp"), pair(9091, "rasp:0.5"),
                new JsonPrimitive("10.0.0.7"));
        byte[] server = session(TvmWire.message(TvmWire.UPDATE_INFO, info), put,
                TvmWire.message(TvmWire.GET_PENDING_MATCHKEYS), TvmWire.message(TvmWire.PING));
        seeds.write("server", seed(0, server));
        seeds.write("server-bytewise", seed(1, server));
        byte[] client = session(TvmWire.message(TvmWire.REQUEST, new JsonPrimitive("rasp"), new JsonPrimitive("me"),
                new JsonPrimitive(1.5)), TvmWire.message(TvmWire.SUMMARY), TvmWire.message(TvmWire.STOP,
                new JsonPrimitive("key")));
        seeds.write("client", seed(5, client));
        JsonObject summary = new JsonObject();
        JsonObject queue = new JsonObject();
        queue.addProperty("free", 1);
        queue.addProperty("pending", 0);
        JsonObject queues = new JsonObject();
        queues.add("rasp", queue);
        JsonArray servers = new JsonArray();
        servers.add(info);
        summary.add("queue_info", queues);
        summary.add("server_info", servers);
        seeds.write("summary-reply", seed(0, session(TvmWire.message(TvmWire.SUCCESS, summary))));
        ByteBuffer magic = TvmWire.magic();
        byte[] huge = new byte[9];
        magic.get(0, huge, 1, 4);
        huge[5] = (byte) 0xFF;
        huge[6] = (byte) 0xFF;
        huge[7] = (byte) 0x0F;
        seeds.write("announces-1-mib", huge);
        huge[8] = 0x7F;
        seeds.write("announces-2-gib", huge);
        seeds.write("bad-magic", new byte[] {0, 'G', 'E', 'T', ' '});
        seeds.write("not-utf8", seed(0, concat(magicBytes(), new byte[] {2, 0, 0, 0, (byte) 0xC3, 0x28})));
        seeds.write("deep", seed(0, frames("[".repeat(300) + "]".repeat(300))));
    }

    private static JsonArray pair(int port, String matchKey) {
        JsonArray a = new JsonArray();
        a.add(port);
        a.add(matchKey);
        return a;
    }

    private static byte[] session(JsonElement... messages) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(magicBytes());
        for (JsonElement m : messages) {
            ByteBuffer f = TvmWire.frame(m);
            out.write(f.array(), 0, f.limit());
        }
        return out.toByteArray();
    }

    private static byte[] frames(String json) {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + body.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(body.length).put(body);
        return concat(magicBytes(), b.array());
    }

    private static byte[] magicBytes() {
        return TvmWire.magic().array();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private static byte[] seed(int chunk, byte[] stream) {
        byte[] input = new byte[1 + stream.length];
        input[0] = (byte) chunk;
        System.arraycopy(stream, 0, input, 1, stream.length);
        return input;
    }
}
