package dev.baton.tracker.internal;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The constants and the framing of TVM's RPC tracker protocol, shared by the tracker and the Java client.
 * Stateless and thread-safe.
 *
 * <p>Every integer is a little-endian int32. A connection opens with the magic, which the tracker echoes; then
 * each message, in either direction, is one frame:
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        magic 0x0002F271 (peer -> tracker, echoed back)         |   once, at the start
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        length N: int32 LE, 1 <= N <= 1 MiB (tracker's limit)   |   every frame
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        N bytes of UTF-8 JSON: [code, args...] or a reply       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 * The length counts bytes. What this side writes is ASCII only, as Python's {@code json.dumps} writes it
 * ({@code ensure_ascii}): every non-ASCII character is escaped as {@code \\uXXXX}, so a peer that counts
 * characters rather than bytes still reads the right length. HTML characters are not escaped, so a C++ or Java
 * peer that finds its matchkey by substring search in a reply still finds it.
 */
public final class TvmWire {

    /** The tracker protocol's magic, {@code RPC_TRACKER_MAGIC}. */
    public static final int TRACKER_MAGIC = 0x2F271;
    /** TVM's own limit on a tracker message ({@code MAX_TRACKER_MSG_BYTES}): 1 MiB. */
    public static final int MAX_FRAME_BYTES = 1 << 20;
    /** Baton's tracker's longest key, matchkey or host (custom_addr), in characters; longer ones close the connection. */
    public static final int MAX_NAME_CHARS = 256;
    /** The most characters of a peer's JSON that an error message quotes. */
    private static final int EXCERPT_CHARS = 200;

    public static final int FAIL = -1;
    public static final int SUCCESS = 0;
    public static final int PING = 1;
    public static final int STOP = 2;
    public static final int PUT = 3;
    public static final int REQUEST = 4;
    public static final int UPDATE_INFO = 5;
    public static final int SUMMARY = 6;
    public static final int GET_PENDING_MATCHKEYS = 7;

    /** Compact, nulls kept, HTML characters as they are: what every frame of this side is written with. */
    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().serializeNulls().create();
    /** Where Gson's parser stopped, in its messages. */
    private static final Pattern WHERE = Pattern.compile("at line \\d+ column \\d+( path \\S+)?");

    private TvmWire() {
    }

    /** The 4 bytes of the magic. */
    public static ByteBuffer magic() {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, TRACKER_MAGIC);
    }

    /** {@code value} as the JSON text this side sends: compact, ASCII only. */
    public static String toJson(JsonElement value) {
        return asciiOnly(GSON.toJson(value));
    }

    /**
     * {@code value} as JSON, cut to its first 200 characters (with how long it was) for an error message or a log
     * line: a peer's frame may hold a megabyte.
     */
    public static String excerpt(JsonElement value) {
        String json = toJson(value);
        return json.length() <= EXCERPT_CHARS ? json
                : json.substring(0, EXCERPT_CHARS) + "... (" + json.length() + " characters)";
    }

    /** One frame holding {@code value}, ready to write (position 0). */
    public static ByteBuffer frame(JsonElement value) {
        byte[] body = toJson(value).getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(4 + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(body.length).put(body).flip();
        return b;
    }

    /** One frame holding the bare code {@code code} ({@code 0} or {@code -1}), the way TVM answers. */
    public static ByteBuffer frame(int code) {
        return frame(new JsonPrimitive(code));
    }

    /** {@code [code, args...]}. */
    public static JsonArray message(int code, JsonElement... args) {
        JsonArray a = new JsonArray(1 + args.length);
        a.add(code);
        for (JsonElement e : args) {
            a.add(e);
        }
        return a;
    }

    /**
     * Parses one frame's body as strict JSON (RFC 8259: no comments, no single quotes, no NaN, nothing after the
     * value). Throws {@link ProtocolException} if the bytes are not UTF-8 or not exactly one JSON value.
     */
    public static JsonElement parse(byte[] body, int length) throws ProtocolException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(body, 0, length)).toString();
        } catch (CharacterCodingException e) {
            throw new ProtocolException(ProtocolException.Kind.MALFORMED, "a frame is not UTF-8");
        }
        return parse(text);
    }

    /** Parses {@code text} as strict JSON; see {@link #parse(byte[], int)}. */
    public static JsonElement parse(String text) throws ProtocolException {
        try {
            JsonReader reader = new JsonReader(new StringReader(text));
            reader.setStrictness(Strictness.STRICT);
            JsonElement value = JsonParser.parseReader(reader);
            if (reader.peek() != JsonToken.END_DOCUMENT) {
                throw new ProtocolException(ProtocolException.Kind.MALFORMED, "data after the JSON value");
            }
            return value;
        } catch (JsonParseException | IOException | IllegalStateException e) {
            throw new ProtocolException(ProtocolException.Kind.MALFORMED, "malformed JSON " + brief(e.getMessage()));
        }
    }

    /** Where Gson stopped ("at line 1 column 33 path $[3]"), without its advice to parse leniently. */
    private static String brief(String message) {
        if (message == null) {
            return "?";
        }
        Matcher at = WHERE.matcher(message);
        if (at.find()) {
            return at.group();
        }
        String line = message.lines().findFirst().orElse("?");
        return line.length() <= 160 ? line : line.substring(0, 160) + "...";
    }

    /** {@code json} with every character above 0x7E escaped, as {@code json.dumps} does by default. */
    static String asciiOnly(String json) {
        int i = 0;
        while (i < json.length() && json.charAt(i) < 0x7F) {
            i++;
        }
        if (i == json.length()) {
            return json;
        }
        StringBuilder b = new StringBuilder(json.length() + 16).append(json, 0, i);
        for (; i < json.length(); i++) {
            char c = json.charAt(i);
            if (c < 0x7F) {
                b.append(c);
            } else {
                // Outside strings JSON is ASCII, so every such character is inside a string, where this is valid.
                b.append(String.format("\\u%04x", (int) c));
            }
        }
        return b.toString();
    }
}
