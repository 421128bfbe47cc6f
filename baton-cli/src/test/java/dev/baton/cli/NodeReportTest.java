package dev.baton.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class NodeReportTest {

    private static Histogram latencies(long... ns) {
        Histogram h = new Histogram(3);
        for (long v : ns) {
            h.recordValue(v);
        }
        return h;
    }

    private static NodeReport report(int rank, long calls, long errors, String firstError, long... latencyNs) {
        NodeReport.Row row = new NodeReport.Row("echo", calls, errors, 1_000_000_000L, firstError, latencies(latencyNs));
        return new NodeReport(rank, "node-" + rank, List.of(1 - rank), 2, 1024, 0, 1_000_000_000L, List.of(row));
    }

    @Test
    void aResultLineReadsBackAsTheSameReportHistogramIncluded() {
        NodeReport sent = report(0, 4, 1, "rank 1: \"quoted\"\nand a newline", 10_000, 20_000, 30_000, 40_000);

        String line = sent.toLine();
        NodeReport got = NodeReport.parse(line);

        assertTrue(line.startsWith("RESULT {") && !line.contains("\n"), line);
        assertEquals(sent.rank(), got.rank());
        assertEquals(sent.name(), got.name());
        assertEquals(sent.targets(), got.targets());
        assertEquals(sent.elapsedNs(), got.elapsedNs());
        NodeReport.Row row = got.rows().getFirst();
        assertEquals("rank 1: \"quoted\"\nand a newline", row.firstError());
        assertEquals(4, row.calls());
        assertEquals(1, row.errors());
        assertEquals(4, row.latencyNs().getTotalCount());
        assertEquals(sent.rows().getFirst().p99Us(), row.p99Us(), 0.0);
        JsonObject json = JsonParser.parseString(line.substring(NodeReport.PREFIX.length())).getAsJsonObject();
        JsonObject jsonRow = json.getAsJsonArray("rows").get(0).getAsJsonObject();
        assertEquals(4.0, jsonRow.get("calls_per_s").getAsDouble(), 0.0);
        assertEquals(List.of("rank", "name", "targets", "calls_per_target", "payload", "warmup", "elapsed_ns", "rows"),
                List.copyOf(json.keySet()));
        assertEquals(List.of("service", "calls", "errors", "p50_us", "p99_us", "elapsed_ns", "calls_per_s",
                "first_error", "histogram"), List.copyOf(jsonRow.keySet()));
    }

    @Test
    void aRowWithoutErrorsCarriesANullFirstError() {
        String line = report(1, 2, 0, null, 5_000, 6_000).toLine();

        assertTrue(line.contains("\"first_error\":null,"), line);
        assertNull(NodeReport.parse(line).rows().getFirst().firstError());
    }

    @Test
    void malformedLinesAreRefusedWithAReason() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NodeReport.parse("RESULT {\"rank\":0,"));
        assertTrue(e.getMessage().contains("JSON"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NodeReport.parse("RESULT {\"rank\":\"zero\"}"));
    }

    @Test
    void theTotalRowAddsCallsAndErrorsAndMergesLatencies() {
        List<String> table = SummaryTable.render(
                List.of(report(1, 2, 0, null, 100_000, 100_000), report(0, 2, 3, "x", 1_000_000, 1_000_000)), "us");

        assertEquals(4, table.size(), String.join("\n", table));
        assertTrue(table.get(0).startsWith("from    service"), table.get(0));
        assertTrue(table.get(1).startsWith("rank 0  echo"), "rows are sorted by rank: " + table.get(1));
        assertTrue(table.get(2).startsWith("rank 1  echo"), table.get(2));
        String total = table.get(3);
        assertTrue(total.matches("total +4 +3 +100\\.0 +1000\\.\\d +4\\s*"), total);
    }
}
