package dev.baton.cli;

import org.HdrHistogram.Histogram;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
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
        StringBuilder b = new StringBuilder(PREFIX).append('{')
                .append("\"rank\":").append(rank)
                .append(",\"name\":").append(Json.quote(name))
                .append(",\"targets\":").append(targets.toString().replace(" ", ""))
                .append(",\"calls_per_target\":").append(callsPerTarget)
                .append(",\"payload\":").append(payloadBytes)
                .append(",\"warmup\":").append(warmupCalls)
                .append(",\"elapsed_ns\":").append(elapsedNs)
                .append(",\"rows\":[");
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            b.append(i == 0 ? "" : ",").append('{')
                    .append("\"service\":").append(Json.quote(r.service()))
                    .append(",\"calls\":").append(r.calls())
                    .append(",\"errors\":").append(r.errors())
                    .append(",\"p50_us\":").append(round(r.p50Us()))
                    .append(",\"p99_us\":").append(round(r.p99Us()))
                    .append(",\"elapsed_ns\":").append(r.elapsedNs())
                    .append(",\"calls_per_s\":").append(round(r.callsPerSecond()))
                    .append(",\"first_error\":").append(Json.quote(r.firstError()))
                    .append(",\"histogram\":").append(Json.quote(encode(r.latencyNs())))
                    .append('}');
        }
        return b.append("]}").toString();
    }

    /** Parses a {@code RESULT} line (with or without its prefix); {@link IllegalArgumentException} if malformed. */
    static NodeReport parse(String line) {
        String json = line.startsWith(PREFIX) ? line.substring(PREFIX.length()) : line;
        try {
            Map<String, Object> o = Json.object(Json.parse(json), "RESULT");
            List<Row> rows = new ArrayList<>();
            for (Object item : list(o, "rows")) {
                Map<String, Object> r = Json.object(item, "row");
                rows.add(new Row(string(r, "service"), number(r, "calls"), number(r, "errors"),
                        number(r, "elapsed_ns"), (String) r.get("first_error"), decode(string(r, "histogram"))));
            }
            List<Integer> targets = list(o, "targets").stream().map(t -> ((Number) t).intValue()).toList();
            return new NodeReport((int) number(o, "rank"), string(o, "name"), targets,
                    (int) number(o, "calls_per_target"), (int) number(o, "payload"), (int) number(o, "warmup"),
                    number(o, "elapsed_ns"), rows);
        } catch (ClassCastException | NullPointerException e) {
            throw new IllegalArgumentException("malformed RESULT line: " + e.getMessage(), e);
        }
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

    private static long number(Map<String, Object> o, String key) {
        if (o.get(key) instanceof Number n) {
            return n.longValue();
        }
        throw new IllegalArgumentException("RESULT: '" + key + "' must be a number, was " + o.get(key));
    }

    private static String string(Map<String, Object> o, String key) {
        if (o.get(key) instanceof String s) {
            return s;
        }
        throw new IllegalArgumentException("RESULT: '" + key + "' must be a string, was " + o.get(key));
    }

    private static List<?> list(Map<String, Object> o, String key) {
        if (o.get(key) instanceof List<?> l) {
            return l;
        }
        throw new IllegalArgumentException("RESULT: '" + key + "' must be an array, was " + o.get(key));
    }
}
