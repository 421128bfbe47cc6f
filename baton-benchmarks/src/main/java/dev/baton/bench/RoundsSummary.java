package dev.baton.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The end of a run of several rounds ({@code --rounds}): per workload and system, the median and range of what each
 * round measured, and with a baseline ({@code --baseline}) each system's ratios to it, round by round, with their
 * median. On a small shared machine the speed of everything flips between states every few seconds, so systems are
 * compared within a round (measured minutes apart at most) and a target is judged by the median of those ratios,
 * not by one run.
 */
final class RoundsSummary {

    private final List<SystemKind> systems;
    private final List<Workload> workloads;
    private final SystemKind baseline;
    private final List<List<Result>> rounds;

    /** @param baseline the system others are divided by, or null for none */
    RoundsSummary(List<SystemKind> systems, List<Workload> workloads, SystemKind baseline, List<List<Result>> rounds) {
        this.systems = systems;
        this.workloads = workloads;
        this.baseline = baseline;
        this.rounds = rounds;
    }

    void print(PrintStream out) {
        out.println();
        out.println("Over " + rounds.size() + " rounds: median [lowest - highest] of the rounds' figures"
                + (baseline == null ? "" : "; ratios to " + baseline.id + " measured in the same round, in round order"));
        for (Workload w : workloads) {
            out.println();
            out.println(w.id);
            out.printf(Locale.ROOT, "  %-13s %7s %26s %32s %26s%n", "system", "rounds", "p50 µs", "calls/s", "MB/s");
            for (SystemKind s : systems) {
                List<Result> ok = measured(s, w);
                if (!ok.isEmpty()) {
                    out.printf(Locale.ROOT, "  %-13s %7d %26s %32s %26s%n", s.id, ok.size(),
                            spread(ok, Result::p50Us, 1), spread(ok, Result::callsPerS, 0), spread(ok, Result::mbPerS, 1));
                }
            }
            if (baseline != null) {
                for (SystemKind s : systems) {
                    if (s != baseline) {
                        printRatios(out, s, w);
                    }
                }
            }
        }
    }

    private void printRatios(PrintStream out, SystemKind s, Workload w) {
        List<Double> p50 = new ArrayList<>();
        List<Double> rate = new ArrayList<>();
        for (List<Result> round : rounds) {
            Result r = Result.find(round, s, w);
            Result b = Result.find(round, baseline, w);
            if (r != null && b != null && r.ok() && b.ok()) {
                add(p50, r.p50Us(), b.p50Us());
                add(rate, r.callsPerS(), b.callsPerS());
            }
        }
        if (!p50.isEmpty() || !rate.isEmpty()) {
            out.println("  " + s.id + " / " + baseline.id + ": p50 " + ratios(p50) + "; calls/s " + ratios(rate));
        }
    }

    private static void add(List<Double> ratios, Double value, Double base) {
        if (value != null && base != null && base > 0) {
            ratios.add(value / base);
        }
    }

    /** {@code 0.19 (0.16 0.22 0.19)}: the median, then every round's. */
    static String ratios(List<Double> values) {
        if (values.isEmpty()) {
            return "-";
        }
        StringBuilder each = new StringBuilder();
        for (double v : values) {
            each.append(each.isEmpty() ? "" : " ").append(ratio(v));
        }
        return ratio(median(values)) + " (" + each + ")";
    }

    /** Two decimals, or two significant digits below 0.1 ({@code 0.0041}). */
    private static String ratio(double v) {
        return String.format(Locale.ROOT, v >= 0.1 ? "%.2f" : "%.2g", v);
    }

    /** {@code 31.7 [29.2 - 40.1]}; {@code -} when no round measured it. */
    static String spread(List<Result> results, Function<Result, Double> metric, int decimals) {
        List<Double> values = new ArrayList<>();
        for (Result r : results) {
            Double v = metric.apply(r);
            if (v != null) {
                values.add(v);
            }
        }
        if (values.isEmpty()) {
            return "-";
        }
        values.sort(null);
        return Format.number(median(values), decimals) + " [" + Format.number(values.getFirst(), decimals) + " - "
                + Format.number(values.getLast(), decimals) + "]";
    }

    /** The middle value (the mean of the two middle ones for an even count). */
    static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(null);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    private List<Result> measured(SystemKind s, Workload w) {
        List<Result> ok = new ArrayList<>();
        for (List<Result> round : rounds) {
            Result r = Result.find(round, s, w);
            if (r != null && r.ok()) {
                ok.add(r);
            }
        }
        return ok;
    }
}
