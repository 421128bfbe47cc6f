package dev.baton.tracker;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What a tracker holds at one moment: TVM's SUMMARY. Immutable and thread-safe. Read it from an embedded
 * {@link Tracker#summary()} or over the wire with {@link TrackerClient#summary()} (from Baton's tracker or TVM's
 * own), print it with {@link #toText()} as TVM's {@code query_rpc_tracker} does, or as JSON with
 * {@link #toJson()}.
 *
 * @param queues per key: free servers and waiting requests, sorted by key ({@code queue_info})
 * @param servers the servers that described themselves (UPDATE_INFO), in the tracker's order ({@code server_info})
 */
public record TrackerSummary(SortedMap<String, Queue> queues, List<Server> servers) {

    /**
     * One key's queue.
     *
     * @param free servers of this key waiting for a client
     * @param pending requests for this key waiting for a server
     */
    public record Queue(int free, int pending) {
    }

    /**
     * A server as it described itself.
     *
     * @param key its info key, {@code "server:<key>"} (a TVM proxy: {@code "server:proxy[k1,k2]"})
     * @param host its advertised address, or the address the tracker saw it connect from
     * @param port its port
     */
    public record Server(String key, String host, int port) {

        public Server {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(host, "host");
        }

        /** The key it serves: the part of {@link #key()} between the first and the second colon, as TVM reads it. */
        public String deviceKey() {
            int first = key.indexOf(':');
            if (first < 0) {
                return "";
            }
            int second = key.indexOf(':', first + 1);
            return second < 0 ? key.substring(first + 1) : key.substring(first + 1, second);
        }
    }

    public TrackerSummary {
        queues = Collections.unmodifiableSortedMap(new TreeMap<>(queues));
        servers = List.copyOf(servers);
    }

    /** Servers that described themselves under {@code deviceKey}: the "total" of {@code query_rpc_tracker}. */
    public int total(String deviceKey) {
        int n = 0;
        for (Server s : servers) {
            if (s.deviceKey().equals(deviceKey)) {
                n++;
            }
        }
        return n;
    }

    /** The queue of {@code key}, or an empty one if the tracker has none. */
    public Queue queue(String key) {
        return queues.getOrDefault(key, new Queue(0, 0));
    }

    /**
     * TVM's JSON of it: {@code {"queue_info": {key: {"free": n, "pending": m}}, "server_info": [{"key":
     * "server:k", "addr": [host, port]}]}}. Ports are numbers (Baton's tracker stores the C++ and Java dialects'
     * string ports as the numbers they name).
     */
    public JsonObject toJson() {
        JsonObject queueInfo = new JsonObject();
        queues.forEach((k, q) -> {
            JsonObject o = new JsonObject();
            o.addProperty("free", q.free());
            o.addProperty("pending", q.pending());
            queueInfo.add(k, o);
        });
        JsonArray serverInfo = new JsonArray();
        for (Server s : servers) {
            JsonObject o = new JsonObject();
            o.addProperty("key", s.key());
            JsonArray addr = new JsonArray();
            addr.add(s.host());
            addr.add(s.port());
            o.add("addr", addr);
            serverInfo.add(o);
        }
        JsonObject root = new JsonObject();
        root.add("queue_info", queueInfo);
        root.add("server_info", serverInfo);
        return root;
    }

    /**
     * Reads TVM's JSON (the second element of a SUMMARY reply). Lenient where TVM's trackers differ: a port may be
     * a number or a string of digits; extra fields are ignored; a server entry without a usable address or key
     * is left out. Throws {@link IllegalArgumentException} if {@code json} is not a summary at all.
     */
    public static TrackerSummary fromJson(JsonElement json) {
        if (json == null || !json.isJsonObject()) {
            throw new IllegalArgumentException("a tracker summary is a JSON object, got " + json);
        }
        JsonObject root = json.getAsJsonObject();
        SortedMap<String, Queue> queues = new TreeMap<>();
        JsonElement qi = root.get("queue_info");
        if (qi != null && qi.isJsonObject()) {
            for (Map.Entry<String, JsonElement> e : qi.getAsJsonObject().entrySet()) {
                if (e.getValue().isJsonObject()) {
                    JsonObject q = e.getValue().getAsJsonObject();
                    queues.put(e.getKey(), new Queue(count(q.get("free")), count(q.get("pending"))));
                }
            }
        } else if (qi != null) {
            throw new IllegalArgumentException("queue_info is not an object: " + qi);
        }
        List<Server> servers = new ArrayList<>();
        JsonElement si = root.get("server_info");
        if (si != null && si.isJsonArray()) {
            for (JsonElement e : si.getAsJsonArray()) {
                Server s = server(e);
                if (s != null) {
                    servers.add(s);
                }
            }
        } else if (si != null) {
            throw new IllegalArgumentException("server_info is not an array: " + si);
        }
        return new TrackerSummary(queues, servers);
    }

    private static Server server(JsonElement e) {
        if (!e.isJsonObject()) {
            return null;
        }
        JsonElement key = e.getAsJsonObject().get("key");
        JsonElement addr = e.getAsJsonObject().get("addr");
        if (key == null || !key.isJsonPrimitive() || addr == null || !addr.isJsonArray()
                || addr.getAsJsonArray().size() != 2) {
            return null;
        }
        JsonElement host = addr.getAsJsonArray().get(0);
        JsonElement port = addr.getAsJsonArray().get(1);
        if (!host.isJsonPrimitive() || !port.isJsonPrimitive()) {
            return null;
        }
        try {
            return new Server(key.getAsString(), host.getAsString(), Integer.parseInt(port.getAsString().trim()));
        } catch (NumberFormatException notAPort) {
            return null;
        }
    }

    private static int count(JsonElement e) {
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            return 0;
        }
        return e.getAsInt();
    }

    /**
     * The text of TVM's {@code query_rpc_tracker} ({@code TrackerSession.text_summary}), character for character:
     * the server list sorted by key, then one row per key that has servers or waiting requests.
     * <pre>
     * Server List
     * ------------------------------
     * server-address           key
     * ------------------------------
     * 127.0.0.1:9091           server:rasp
     * ------------------------------
     *
     * Queue Status
     * ----------------------------
     * key    total  free  pending
     * ----------------------------
     * rasp   1      1     0
     * ----------------------------
     * </pre>
     */
    public String toText() {
        StringBuilder b = new StringBuilder();
        b.append("Server List\n");
        b.append("------------------------------\n");
        b.append("server-address           key\n");
        b.append("------------------------------\n");
        List<Server> sorted = new ArrayList<>(servers);
        sorted.sort(Comparator.comparing(Server::key));   // stable, as Python's sorted()
        Map<String, Integer> totals = new HashMap<>();
        for (Server s : sorted) {
            b.append(padRight(s.host() + ":" + s.port(), 21)).append("    ").append(s.key()).append('\n');
            totals.merge(s.deviceKey(), 1, Integer::sum);
        }
        b.append("------------------------------\n");
        b.append('\n');
        int width = 0;
        for (String k : queues.keySet()) {
            width = Math.max(width, k.length());
        }
        b.append("Queue Status\n");
        String title = padRight("key", width) + "   total  free  pending\n";
        String line = "-".repeat(title.length()) + "\n";
        b.append(line).append(title).append(line);
        for (Map.Entry<String, Queue> e : queues.entrySet()) {
            int total = totals.getOrDefault(e.getKey(), 0);
            Queue q = e.getValue();
            if (total != 0 || q.pending() != 0) {
                b.append(padRight(e.getKey(), width)).append("   ").append(padRight(Integer.toString(total), 5))
                        .append("  ").append(padRight(Integer.toString(q.free()), 4)).append("  ")
                        .append(padRight(Integer.toString(q.pending()), 7)).append('\n');
            }
        }
        b.append(line);
        return b.toString();
    }

    private static String padRight(String s, int width) {
        return s.length() >= width ? s : s + " ".repeat(width - s.length());
    }
}
