package dev.baton.cli;

import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The demo's result table: one row per (calling rank, workload), then a total row whose percentiles come
 * from the merged histograms and whose throughput is every measured call over the longest node's measuring
 * time (the nodes measure at the same time).
 *
 * <pre>
 * from    service           calls  errors    p50 µs    p99 µs    calls/s
 * rank 0  echo               4000       0      38.9      96.3      22874
 * ...
 * total                     36000       0      51.2     180.7      51342
 * </pre>
 */
final class SummaryTable {

    private static final String ROW = "%-7s %-15s %8s %7s %9s %9s %10s";

    private SummaryTable() {
    }

    /** The table's lines; {@code micro} is how to write "µs" (plain "us" where the console cannot). */
    static List<String> render(List<NodeReport> reports, String micro) {
        List<NodeReport> byRank = new ArrayList<>(reports);
        byRank.sort(Comparator.comparingInt(NodeReport::rank));
        List<String> lines = new ArrayList<>();
        lines.add(String.format(Locale.ROOT, ROW, "from", "service", "calls", "errors", "p50 " + micro,
                "p99 " + micro, "calls/s"));
        Histogram all = new Histogram(3);
        long calls = 0;
        long errors = 0;
        long longestNs = 0;
        for (NodeReport r : byRank) {
            for (NodeReport.Row row : r.rows()) {
                lines.add(row("rank " + r.rank(), row.service(), row.calls(), row.errors(), row.latencyNs(),
                        row.callsPerSecond()));
                all.add(row.latencyNs());
                calls += row.calls();
                errors += row.errors();
            }
            longestNs = Math.max(longestNs, r.elapsedNs());
        }
        lines.add(row("total", "", calls, errors, all, longestNs == 0 ? 0 : calls * 1e9 / longestNs));
        return lines;
    }

    private static String row(String from, String service, long calls, long errors, Histogram latencyNs,
                              double callsPerSecond) {
        return String.format(Locale.ROOT, ROW, from, service, calls, errors,
                String.format(Locale.ROOT, "%.1f", NodeReport.percentileUs(latencyNs, 50)),
                String.format(Locale.ROOT, "%.1f", NodeReport.percentileUs(latencyNs, 99)),
                String.format(Locale.ROOT, "%.0f", callsPerSecond));
    }
}
