package dev.baton.tracker.internal;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import java.math.BigDecimal;

/**
 * One message a peer sends the tracker, checked and typed. {@link #parse} accepts what TVM's Python, C++ and
 * Java peers send (the C++ and Java ones build JSON by hand and send UPDATE_INFO's port as a string) and refuses
 * everything else with a {@link ProtocolException}, which closes the connection, as TVM's tracker does.
 *
 * <pre>
 * [1]                                        PING                   -> 0
 * [2, stop_key]                              STOP                   -> 0 (then stops), or -1
 * [3, key, [port, matchkey], custom_addr?]   PUT                    -> 0
 * [4, key, user, priority]                   REQUEST                -> later: [0, [host, port, matchkey]]
 * [5, {"key": "server:K", "addr": [host|null, port|"port"]}]  UPDATE_INFO -> 0
 * [6]                                        SUMMARY                -> [0, {"queue_info": .., "server_info": ..}]
 * [7]                                        GET_PENDING_MATCHKEYS  -> [matchkey, ...]
 * </pre>
 */
sealed interface TvmMessage {

    /** Longest key, matchkey or host accepted, in characters (UPDATE_INFO's key is bounded by the info's size). */
    int MAX_NAME_CHARS = TvmWire.MAX_NAME_CHARS;
    /** Largest UPDATE_INFO dictionary kept per connection, as JSON text. */
    int MAX_INFO_CHARS = 4 * 1024;

    record Ping() implements TvmMessage {
    }

    /** {@code key} is null when the peer sent something other than a string (which never matches). */
    record Stop(String key) implements TvmMessage {
    }

    /** {@code customAddr} is null when the peer left it out or sent null: the tracker uses the peer's IP. */
    record Put(String key, int port, String matchKey, String customAddr) implements TvmMessage {
    }

    /** TVM ignores {@code user}, and so does Baton. Priority may be any JSON number; higher is served first. */
    record Request(String key, double priority) implements TvmMessage {
    }

    /**
     * The dictionary to merge into the connection's info. Its {@code addr} is already checked: two elements, a
     * host (string or null) and a port (number, or a string of digits from the C++ and Java dialects).
     */
    record UpdateInfo(JsonObject info) implements TvmMessage {
    }

    record Summary() implements TvmMessage {
    }

    record PendingMatchKeys() implements TvmMessage {
    }

    /** The message {@code json} holds. */
    static TvmMessage parse(JsonElement json) throws ProtocolException {
        if (!json.isJsonArray() || json.getAsJsonArray().isEmpty()) {
            throw bad("a message must be a JSON array that starts with its code");
        }
        JsonArray a = json.getAsJsonArray();
        int code = integer(a.get(0), "code");
        return switch (code) {
            case TvmWire.PING -> new Ping();
            case TvmWire.STOP -> {
                need(a, 2, "STOP");
                JsonElement k = a.get(1);
                yield new Stop(k.isJsonPrimitive() && k.getAsJsonPrimitive().isString() ? k.getAsString() : null);
            }
            case TvmWire.PUT -> put(a);
            case TvmWire.REQUEST -> {
                need(a, 4, "REQUEST");
                JsonElement p = a.get(3);
                if (!p.isJsonPrimitive() || !p.getAsJsonPrimitive().isNumber()) {
                    throw bad("REQUEST's priority must be a number, was " + TvmWire.excerpt(p));
                }
                yield new Request(name(a.get(1), "REQUEST's key"), p.getAsDouble());
            }
            case TvmWire.UPDATE_INFO -> updateInfo(a);
            case TvmWire.SUMMARY -> new Summary();
            case TvmWire.GET_PENDING_MATCHKEYS -> new PendingMatchKeys();
            default -> throw new ProtocolException(ProtocolException.Kind.UNKNOWN_CODE, "unknown code " + code);
        };
    }

    private static TvmMessage put(JsonArray a) throws ProtocolException {
        need(a, 3, "PUT");
        String key = name(a.get(1), "PUT's key");
        JsonElement v = a.get(2);
        if (!v.isJsonArray() || v.getAsJsonArray().size() != 2) {
            throw bad("PUT's value must be [port, matchkey], was " + TvmWire.excerpt(v));
        }
        int port = port(v.getAsJsonArray().get(0), "PUT's port");
        String matchKey = name(v.getAsJsonArray().get(1), "PUT's matchkey");
        String customAddr = null;
        if (a.size() >= 4 && !a.get(3).isJsonNull()) {
            customAddr = name(a.get(3), "PUT's custom_addr");
        }
        return new Put(key, port, matchKey, customAddr);
    }

    private static TvmMessage updateInfo(JsonArray a) throws ProtocolException {
        need(a, 2, "UPDATE_INFO");
        if (!a.get(1).isJsonObject()) {
            throw bad("UPDATE_INFO's argument must be an object");
        }
        JsonObject info = a.get(1).getAsJsonObject().deepCopy();
        if (TvmWire.toJson(info).length() > MAX_INFO_CHARS) {
            throw new ProtocolException(ProtocolException.Kind.LIMIT,
                    "UPDATE_INFO's object is over " + MAX_INFO_CHARS + " characters");
        }
        // No 256-character limit here: a TVM proxy describes itself as "server:proxy[k1,k2,...]", as long as the
        // keys behind it make it; the info's own size limit bounds it.
        JsonElement key = info.get("key");
        if (key != null && (!key.isJsonPrimitive() || !key.getAsJsonPrimitive().isString())) {
            throw bad("UPDATE_INFO's key must be a string, was " + TvmWire.excerpt(key));
        }
        JsonElement addr = info.get("addr");
        if (addr == null || !addr.isJsonArray() || addr.getAsJsonArray().size() != 2) {
            throw bad("UPDATE_INFO's addr must be [host or null, port]");
        }
        JsonArray hp = addr.getAsJsonArray();
        if (!hp.get(0).isJsonNull()) {
            name(hp.get(0), "UPDATE_INFO's host");
        }
        // The C++ and Java servers send the port as a string ("9090"): kept as the number it names.
        hp.set(1, new JsonPrimitive(port(hp.get(1), "UPDATE_INFO's port")));
        return new UpdateInfo(info);
    }

    private static void need(JsonArray a, int size, String what) throws ProtocolException {
        if (a.size() < size) {
            throw bad(what + " needs " + (size - 1) + " argument(s), got " + (a.size() - 1));
        }
    }

    private static String name(JsonElement e, String what) throws ProtocolException {
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw bad(what + " must be a string, was " + TvmWire.excerpt(e));
        }
        String s = e.getAsString();
        if (s.isEmpty() || s.length() > MAX_NAME_CHARS) {
            throw bad(what + " must have 1.." + MAX_NAME_CHARS + " characters, had " + s.length());
        }
        return s;
    }

    /** A TCP port, 1..65535: a JSON integer, or a string of decimal digits (the C++ and Java dialects). */
    private static int port(JsonElement e, String what) throws ProtocolException {
        long p;
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() && e.getAsString().matches("[0-9]{1,5}")) {
            p = Long.parseLong(e.getAsString());
        } else {
            p = integer(e, what);
        }
        if (p < 1 || p > 65535) {
            throw bad(what + " must be 1..65535, was " + TvmWire.excerpt(e));
        }
        return (int) p;
    }

    private static int integer(JsonElement e, String what) throws ProtocolException {
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
            try {
                return new BigDecimal(e.getAsJsonPrimitive().getAsString()).intValueExact();
            } catch (ArithmeticException | NumberFormatException notAnInt) {
                // fall through
            }
        }
        throw bad(what + " must be an integer, was " + TvmWire.excerpt(e));
    }

    private static ProtocolException bad(String message) {
        return new ProtocolException(ProtocolException.Kind.BAD_MESSAGE, message);
    }
}
