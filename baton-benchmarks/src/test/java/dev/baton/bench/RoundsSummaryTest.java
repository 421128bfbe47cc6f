package dev.baton.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What {@code --rounds} prints at the end: medians, ranges and same-round ratios. */
@Timeout(10)
class RoundsSummaryTest {

    private static Result result(SystemKind s, double p50, double callsPerS) {
        return new Result(s, Workload.SEQ_16B, p50, p50 * 2, p50 * 3, callsPerS, callsPerS * 16 / 1e6, 32.0,
                1000, 0, 1, null);
    }

    @Test
    void theMedianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
        assertEquals(2.0, RoundsSummary.median(List.of(3.0, 1.0, 2.0)));
        assertEquals(2.5, RoundsSummary.median(List.of(4.0, 1.0, 2.0, 3.0)));
        assertEquals("0.25 (0.20 0.30)", RoundsSummary.ratios(List.of(0.2, 0.3)));
        assertEquals("-", RoundsSummary.ratios(List.of()));
    }

    @Test
    void printsEachSystemsSpreadAndItsRatiosToTheBaselineRoundByRound() {
        SystemKind baton = SystemKind.BATON_TCP;
        SystemKind grpc = SystemKind.GRPC;
        List<List<Result>> rounds = List.of(
                List.of(result(baton, 20, 40_000), result(grpc, 100, 10_000)),
                List.of(result(baton, 30, 30_000), Result.failed(grpc, Workload.SEQ_16B, 3, "refused")),
                List.of(result(baton, 40, 25_000), result(grpc, 80, 12_500)));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new RoundsSummary(List.of(baton, grpc), List.of(Workload.SEQ_16B), grpc, rounds)
                .print(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("Over 3 rounds"), text);
        String batonRow = line(text, "  " + baton.id + " ");
        assertTrue(batonRow.contains(" 3 ") && batonRow.contains("30.0 [20.0 - 40.0]")
                && batonRow.contains("30,000 [25,000 - 40,000]"), batonRow);
        String grpcRow = line(text, "  " + grpc.id + " ");
        assertTrue(grpcRow.contains(" 2 ") && grpcRow.contains("90.0 [80.0 - 100.0]"), grpcRow);
        // The failed round has no ratio; the others are this system's over the baseline's of the same round.
        assertEquals("  " + baton.id + " / " + grpc.id + ": p50 0.35 (0.20 0.50); calls/s 3.00 (4.00 2.00)",
                line(text, "  " + baton.id + " / "));
    }

    @Test
    void withoutABaselineNoRatios() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new RoundsSummary(List.of(SystemKind.BATON_TCP), List.of(Workload.SEQ_16B), null,
                List.of(List.of(result(SystemKind.BATON_TCP, 20, 40_000))))
                .print(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertFalse(text.contains(" / "), text);
        assertTrue(text.contains("20.0 [20.0 - 20.0]"), text);
    }

    private static String line(String text, String prefix) {
        return text.lines().filter(l -> l.startsWith(prefix)).findFirst().orElse("(no line starting '" + prefix + "')");
    }
}
