package dev.baton.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import org.HdrHistogram.Histogram;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.zip.DataFormatException;

/**
 * What one driving node measured, as it travels from a node to the demo on one line of stdout:
 *
 * <pre>
 * RESULT {"rank":0,"name":"node-1","targets":[1,2],"calls_per_target":2000,"payload":1024,"warmup":100,
 *         "elapsed_ns":812345678,
 *         "rows":[{"service":"echo","calls":4000,"errors":0,"p50_us":41.3,"p99_us":97.2,
 *                  "elapsed_ns":190000000,"calls_per_s":21052.6,"first_error":null,"histogram":"HISTFA..."}, ...]}
 * </pre>
 *
 * One row per {@link Workload}, summed over every target rank. {@code p50_us}, {@code p99_us} and
 * {@code calls_per_s} are for people and scripts; the demo merges the base64 compressed HdrHistogram of
 * latencies in nanoseconds (successful calls only) so that its total row has true percentiles.
 *
 * @param elapsedNs time spent in the measured phases, warm-up excluded
 */
record NodeReport(int rank, String name, List<Integer> targets, int callsPerTarget, int payloadBytes,
                  int warmupCalls, long elapsedNs, List<Row> rows) {

    static final String PREFIX = "RESULT ";
    /** Compact, nulls kept ({@code first_error}), strict when reading: a node's line is taken as it is or refused. */
    private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping()
            .setStrictness(Strictness.STRICT).create();

    NodeReport {
        targets = List.copyOf(targets);
        rows = List.copyOf(rows);
    }

    /**
     * One workload's numbers. {@code calls} counts measured calls; {@code errors} counts failed or wrong
     * answers, warm-up calls included. The histogram belongs to the row: do not modify it.
     */
    record Row(String service, long calls, long errors, long elapsedNs, String firstError, Histogram latencyNs) {

        double p50Us() {
            return percentileUs(latencyNs, 50);
        }

        double p99Us() {
            return percentileUs(latencyNs, 99);
        }

        double callsPerSecond() {
            return elapsedNs <= 0 ? 0 : calls * 1e9 / elapsedNs;
        }
    }

    static double percentileUs(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1000.0;
    }

    long errors() {
        return rows.stream().mapToLong(Row::errors).sum();
    }

    /** The {@code RESULT} line, without a line terminator. */
    String toLine() {
        JsonObject o = new JsonObject();
        o.addProperty("rank", rank);
        o.addProperty("name", name);
        JsonArray t = new JsonArray();
        targets.forEach(t::add);
        o.add("targets", t);
        o.addProperty("calls_per_target", callsPerTarget);
        o.addProperty("payload", payloadBytes);
        o.addProperty("warmup", warmupCalls);
        o.addProperty("elapsed_ns", elapsedNs);
        JsonArray rowsJson = new JsonArray();
        for (Row r : rows) {
            JsonObject row = new JsonObject();
            row.addProperty("service", r.service());
            row.addProperty("calls", r.calls());
            row.addProperty("errors", r.errors());
            row.addProperty("p50_us", round(r.p50Us()));
            row.addProperty("p99_us", round(r.p99Us()));
            row.addProperty("elapsed_ns", r.elapsedNs());
            row.addProperty("calls_per_s", round(r.callsPerSecond()));
            row.addProperty("first_error", r.firstError());
            row.addProperty("histogram", encode(r.latencyNs()));
            rowsJson.add(row);
        }
        o.add("rows", rowsJson);
        return PREFIX + GSON.toJson(o);
    }

    /** Parses a {@code RESULT} line (with or without its prefix); {@link IllegalArgumentException} if malformed. */
    static NodeReport parse(String line) {
        String json = line.startsWith(PREFIX) ? line.substring(PREFIX.length()) : line;
        JsonObject o;
        try {
            o = GSON.fromJson(json, JsonObject.class);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException("malformed RESULT line, not JSON: " + e.getMessage(), e);
        }
        if (o == null) {
            throw new IllegalArgumentException("malformed RESULT line: empty");
        }
        List<Row> rows = new ArrayList<>();
        for (JsonElement item : array(o, "rows")) {
            JsonObject r = object(item, "row");
            rows.add(new Row(string(r, "service"), number(r, "calls"), number(r, "errors"),
                    number(r, "elapsed_ns"), optionalString(r, "first_error"), decode(string(r, "histogram"))));
        }
        List<Integer> targets = new ArrayList<>();
        for (JsonElement t : array(o, "targets")) {
            targets.add((int) number(t, "targets[]"));
        }
        return new NodeReport((int) number(o, "rank"), string(o, "name"), targets,
                (int) number(o, "calls_per_target"), (int) number(o, "payload"), (int) number(o, "warmup"),
                number(o, "elapsed_ns"), rows);
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    private static String encode(Histogram h) {
        ByteBuffer buf = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
        int n = h.encodeIntoCompressedByteBuffer(buf);
        return Base64.getEncoder().encodeToString(Arrays.copyOf(buf.array(), n));
    }

    private static Histogram decode(String base64) {
        try {
            return Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(Base64.getDecoder().decode(base64)), 0);
        } catch (DataFormatException e) {
            throw new IllegalArgumentException("malformed histogram in RESULT line: " + e.getMessage(), e);
        }
    }

    private static long number(JsonObject o, String key) {
        return number(o.get(key), key);
    }

    private static long number(JsonElement e, String what) {
        if (e instanceof JsonPrimitive p && p.isNumber()) {
            return p.getAsLong();
        }
        throw new IllegalArgumentException("RESULT: '" + what + "' must be a number, was " + e);
    }

    private static String string(JsonObject o, String key) {
        if (o.get(key) instanceof JsonPrimitive p && p.isString()) {
            return p.getAsString();
        }
        throw new IllegalArgumentException("RESULT: '" + key + "' must be a string, was " + o.get(key));
    }

    private static String optionalString(JsonObject o, String key) {
        return o.get(key) == null || o.get(key).isJsonNull() ? null : string(o, key);
    }

    private static JsonArray array(JsonObject o, String key) {
        if (o.get(key) instanceof JsonArray a) {
            return a;
        }
        throw new IllegalArgumentException("RESULT: '" + key + "' must be an array, was " + o.get(key));
    }

    private static JsonObject object(JsonElement e, String what) {
        if (e instanceof JsonObject o) {
            return o;
        }
        throw new IllegalArgumentException("RESULT: '" + what + "' must be an object, was " + e);
    }
}
