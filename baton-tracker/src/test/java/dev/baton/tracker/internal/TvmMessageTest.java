package dev.baton.tracker.internal;

import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class TvmMessageTest {

    private static TvmMessage parse(String json) throws ProtocolException {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        return TvmMessage.parse(TvmWire.parse(b, b.length));
    }

    private static ProtocolException.Kind refused(String json) {
        return assertThrows(ProtocolException.class, () -> parse(json)).kind();
    }

    @Test
    void readsEveryMessageOfEveryDialect() throws ProtocolException {
        assertInstanceOf(TvmMessage.Ping.class, parse("[1]"));
        assertEquals(new TvmMessage.Stop("tracker:0.5"), parse("[2, \"tracker:0.5\"]"));
        assertNull(((TvmMessage.Stop) parse("[2, null]")).key());
        assertEquals(new TvmMessage.Put("rasp", 9091, "rasp:0.1", null), parse("[3, \"rasp\", [9091, \"rasp:0.1\"], null]"));
        assertEquals(new TvmMessage.Put("rasp", 9091, "rasp:0.1", null), parse("[3, \"rasp\", [9091, \"rasp:0.1\"]]"));
        assertEquals(new TvmMessage.Put("rasp", 9091, "rasp:0.1", "10.0.0.1"),
                parse("[3,\"rasp\",[9091,\"rasp:0.1\"],\"10.0.0.1\"]"));
        assertEquals(new TvmMessage.Request("rasp", 2.0), parse("[4, \"rasp\", \"\", 2]"));
        assertEquals(new TvmMessage.Request("rasp", 0.5), parse("[4, \"rasp\", null, 0.5]"));
        TvmMessage.UpdateInfo cpp = (TvmMessage.UpdateInfo) parse("[5, {\"key\": \"server:a\", \"addr\": [null, \"9090\"]}]");
        assertEquals(JsonParser.parseString("{\"key\": \"server:a\", \"addr\": [null, 9090]}"), cpp.info());
        TvmMessage.UpdateInfo java = (TvmMessage.UpdateInfo) parse("[5, {\"key\" : \"server:a\", \"addr\": [null, \"5001\"]}]");
        assertEquals(new JsonPrimitive(5001), java.info().getAsJsonArray("addr").get(1));
        assertInstanceOf(TvmMessage.Summary.class, parse("[6]"));
        assertInstanceOf(TvmMessage.PendingMatchKeys.class, parse("[7]"));
        assertInstanceOf(TvmMessage.Ping.class, parse("[1.0]"), "1.0 is the integer 1, as for Python");
    }

    @Test
    void refusesWhatTvmsTrackerCouldNotHandleEither() {
        assertEquals(ProtocolException.Kind.UNKNOWN_CODE, refused("[9]"));
        assertEquals(ProtocolException.Kind.BAD_MESSAGE, refused("[]"));
        assertEquals(ProtocolException.Kind.BAD_MESSAGE, refused("1"));
        assertEquals(ProtocolException.Kind.BAD_MESSAGE, refused("[3, \"k\", [1, \"m\", 3], null]"));
        assertEquals(ProtocolException.Kind.BAD_MESSAGE, refused("[3, \"k\", [0, \"m\"], null]"));
        assertEquals(ProtocolException.Kind.BAD_MESSAGE, refused("[3, \"" + "k".repeat(1025) + "\", [1, \"m\"], null]"));
        assertEquals(ProtocolException.Kind.LIMIT,
                refused("[5, {\"key\": \"server:a\", \"addr\": [null, 1], \"pad\": \"" + "x".repeat(5000) + "\"}]"));
        assertEquals(ProtocolException.Kind.MALFORMED, refused("[1] x"));
        assertEquals(ProtocolException.Kind.MALFORMED, refused("[1, Infinity]"));
    }

    @Test
    void updateInfosKeyIsBoundedOnlyByTheInfosSize() throws ProtocolException {
        String proxy = "server:proxy[" + "k,".repeat(500) + "k]";
        TvmMessage.UpdateInfo u = (TvmMessage.UpdateInfo) parse("[5, {\"key\": \"" + proxy + "\", \"addr\": [null, 1]}]");
        assertEquals(proxy, u.info().get("key").getAsString());
        assertEquals(ProtocolException.Kind.LIMIT,
                refused("[5, {\"key\": \"server:" + "k".repeat(5000) + "\", \"addr\": [null, 1]}]"));
        assertEquals(ProtocolException.Kind.BAD_MESSAGE, refused("[5, {\"key\": [1], \"addr\": [null, 1]}]"));
    }

    @Test
    void errorMessagesQuoteAtMost200CharactersOfThePeersJson() {
        String big = "x".repeat(100_000);
        for (String json : new String[]{
                "[3, \"k\", [1, \"" + big + "\", 3], null]",
                "[3, \"k\", [\"" + big + "\", \"m\"], null]",
                "[3, [\"" + big + "\"], [1, \"m\"], null]",
                "[4, \"k\", \"\", [\"" + big + "\"]]",
                "[[\"" + big + "\"]]",
                "[5, {\"key\": [\"" + big.substring(0, 3000) + "\"], \"addr\": [null, 1]}]"}) {
            ProtocolException e = assertThrows(ProtocolException.class, () -> parse(json));
            assertTrue(e.getMessage().length() < 400, e.getMessage().length() + " characters: "
                    + e.getMessage().substring(0, 100));
        }
        assertEquals("[1]", TvmWire.excerpt(JsonParser.parseString("[1]")));
        assertTrue(TvmWire.excerpt(new JsonPrimitive(big)).endsWith("... (100002 characters)"));
    }

    @Test
    void writesAsciiOnlyAndLeavesHtmlCharactersAlone() {
        assertEquals("[\"a<b>=&'\",\"\\u00e9\\u20ac\\ud83d\\ude00\\u007f\"]",
                TvmWire.toJson(JsonParser.parseString("[\"a<b>=&'\", \"é€😀\u007f\"]")));
        assertEquals("0", TvmWire.toJson(new JsonPrimitive(0)));
        assertEquals("[0,null]", TvmWire.toJson(TvmWire.message(0, com.google.gson.JsonNull.INSTANCE)));
    }
}
