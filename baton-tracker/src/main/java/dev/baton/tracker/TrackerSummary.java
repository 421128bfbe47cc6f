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
 * <p>A Baton tracker also holds Baton servers ({@link TrackerService}), apart from TVM's: their queues and list
 * are {@link #batonQueues()} and {@link #batonServers()}, and the JSON carries them under {@code "baton"} (only
 * when there are some, so that a summary of TVM servers alone is TVM's exactly).
 *
 * @param queues per key: free servers and waiting requests, sorted by key ({@code queue_info})
 * @param servers the servers that described themselves (UPDATE_INFO), in the tracker's order ({@code server_info})
 * @param batonQueues per key: free Baton servers and waiting Baton requests, sorted by key
 * @param batonServers every registered Baton server, in registration order
 */
public record TrackerSummary(SortedMap<String, Queue> queues, List<Server> servers,
                             SortedMap<String, Queue> batonQueues, List<BatonServer> batonServers) {

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

    /**
     * A Baton server registered under a key.
     *
     * @param key the key it is registered under
     * @param service its service
     * @param serverId its id within the service
     * @param rank the rank of its node
     * @param leasedTo the rank of the node that holds its lease, or -1 while it is free
     */
    public record BatonServer(String key, String service, int serverId, int rank, int leasedTo) {

        public BatonServer {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(service, "service");
        }

        public boolean leased() {
            return leasedTo >= 0;
        }
    }

    public TrackerSummary {
        queues = Collections.unmodifiableSortedMap(new TreeMap<>(queues));
        servers = List.copyOf(servers);
        batonQueues = Collections.unmodifiableSortedMap(new TreeMap<>(batonQueues));
        batonServers = List.copyOf(batonServers);
    }

    /** A summary of TVM servers only. */
    public TrackerSummary(SortedMap<String, Queue> queues, List<Server> servers) {
        this(queues, servers, new TreeMap<>(), List.of());
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
        if (!batonQueues.isEmpty() || !batonServers.isEmpty()) {
            root.add("baton", batonJson());
        }
        return root;
    }

    private JsonObject batonJson() {
        Map<String, Integer> totals = batonTotals();
        JsonObject queueInfo = new JsonObject();
        batonQueues.forEach((k, q) -> {
            JsonObject o = new JsonObject();
            o.addProperty("total", totals.getOrDefault(k, 0));
            o.addProperty("free", q.free());
            o.addProperty("pending", q.pending());
            queueInfo.add(k, o);
        });
        JsonArray serverInfo = new JsonArray();
        for (BatonServer s : batonServers) {
            JsonObject o = new JsonObject();
            o.addProperty("key", s.key());
            o.addProperty("service", s.service());
            o.addProperty("server_id", s.serverId());
            o.addProperty("rank", s.rank());
            if (s.leased()) {
                o.addProperty("leased_to", s.leasedTo());
            }
            serverInfo.add(o);
        }
        JsonObject baton = new JsonObject();
        baton.add("queue_info", queueInfo);
        baton.add("server_info", serverInfo);
        return baton;
    }

    private Map<String, Integer> batonTotals() {
        Map<String, Integer> totals = new HashMap<>();
        for (BatonServer s : batonServers) {
            totals.merge(s.key(), 1, Integer::sum);
        }
        return totals;
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
        SortedMap<String, Queue> batonQueues = new TreeMap<>();
        List<BatonServer> batonServers = new ArrayList<>();
        JsonElement baton = root.get("baton");
        if (baton != null && baton.isJsonObject()) {
            readBaton(baton.getAsJsonObject(), batonQueues, batonServers);
        }
        return new TrackerSummary(queues, servers, batonQueues, batonServers);
    }

    private static void readBaton(JsonObject baton, SortedMap<String, Queue> queues, List<BatonServer> servers) {
        JsonElement qi = baton.get("queue_info");
        if (qi != null && qi.isJsonObject()) {
            for (Map.Entry<String, JsonElement> e : qi.getAsJsonObject().entrySet()) {
                if (e.getValue().isJsonObject()) {
                    JsonObject q = e.getValue().getAsJsonObject();
                    queues.put(e.getKey(), new Queue(count(q.get("free")), count(q.get("pending"))));
                }
            }
        }
        JsonElement si = baton.get("server_info");
        if (si != null && si.isJsonArray()) {
            for (JsonElement e : si.getAsJsonArray()) {
                if (e.isJsonObject()) {
                    JsonObject o = e.getAsJsonObject();
                    JsonElement key = o.get("key");
                    JsonElement service = o.get("service");
                    if (key != null && key.isJsonPrimitive() && service != null && service.isJsonPrimitive()) {
                        servers.add(new BatonServer(key.getAsString(), service.getAsString(),
                                count(o.get("server_id")), count(o.get("rank")),
                                o.has("leased_to") ? count(o.get("leased_to")) : -1));
                    }
                }
            }
        }
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
        if (!batonQueues.isEmpty() || !batonServers.isEmpty()) {
            appendBaton(b);
        }
        return b.toString();
    }

    /**
     * The Baton servers, after TVM's tables (only when there are some):
     * <pre>
     *
     * Baton Server List
     * ---------------------------------------------
     * key      service   server  rank  leased-to
     * ---------------------------------------------
     * gpu      kernels   0       1     3
     * gpu      kernels   1       2     -
     * ---------------------------------------------
     *
     * Baton Queue Status
     * ---------------------------
     * key   total  free  pending
     * ---------------------------
     * gpu   2      1     0
     * ---------------------------
     * </pre>
     */
    private void appendBaton(StringBuilder b) {
        int keyWidth = 3;
        int serviceWidth = 7;
        for (BatonServer s : batonServers) {
            keyWidth = Math.max(keyWidth, s.key().length());
            serviceWidth = Math.max(serviceWidth, s.service().length());
        }
        String title = padRight("key", keyWidth) + "   " + padRight("service", serviceWidth) + "   server  rank  leased-to\n";
        String line = "-".repeat(title.length() - 1) + "\n";
        b.append("\nBaton Server List\n").append(line).append(title).append(line);
        for (BatonServer s : batonServers) {
            b.append(padRight(s.key(), keyWidth)).append("   ").append(padRight(s.service(), serviceWidth))
                    .append("   ").append(padRight(Integer.toString(s.serverId()), 6)).append("  ")
                    .append(padRight(Integer.toString(s.rank()), 4)).append("  ")
                    .append(s.leased() ? Integer.toString(s.leasedTo()) : "-").append('\n');
        }
        b.append(line);
        int width = 3;
        for (String k : batonQueues.keySet()) {
            width = Math.max(width, k.length());
        }
        Map<String, Integer> totals = batonTotals();
        String qTitle = padRight("key", width) + "   total  free  pending\n";
        String qLine = "-".repeat(qTitle.length() - 1) + "\n";
        b.append("\nBaton Queue Status\n").append(qLine).append(qTitle).append(qLine);
        for (Map.Entry<String, Queue> e : batonQueues.entrySet()) {
            Queue q = e.getValue();
            b.append(padRight(e.getKey(), width)).append("   ")
                    .append(padRight(Integer.toString(totals.getOrDefault(e.getKey(), 0)), 5)).append("  ")
                    .append(padRight(Integer.toString(q.free()), 4)).append("  ")
                    .append(q.pending()).append('\n');
        }
        b.append(qLine);
    }

    private static String padRight(String s, int width) {
        return s.length() >= width ? s : s + " ".repeat(width - s.length());
    }
}
