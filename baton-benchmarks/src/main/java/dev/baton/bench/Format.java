package dev.baton.bench;

import java.time.Duration;
import java.util.Locale;

/** Number and duration formatting for the table, the JSON and the command line. */
final class Format {

    private Format() {
    }

    /** {@code 0}, {@code 50 µs}, {@code 1.5 s}... */
    static String duration(Duration d) {
        long ns = d.toNanos();
        if (ns == 0) {
            return "0";
        }
        if (ns % 1_000_000_000L == 0) {
            return ns / 1_000_000_000L + " s";
        }
        if (ns >= 1_000_000_000L) {
            return String.format(Locale.ROOT, "%.3f s", ns / 1e9);
        }
        if (ns % 1_000_000L == 0) {
            return ns / 1_000_000L + " ms";
        }
        if (ns % 1_000L == 0) {
            return ns / 1_000L + " µs";
        }
        return ns + " ns";
    }

    /**
     * Parses {@code 10}, {@code 10s}, {@code 1.5s}, {@code 500ms}, {@code 50us}, {@code 200ns}, {@code 2m}, or an
     * ISO-8601 duration ({@code PT10S}). A bare number means seconds.
     */
    static Duration parseDuration(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.startsWith("pt")) {
            return Duration.parse(text.trim());
        }
        String[][] units = {{"ns", "1"}, {"us", "1000"}, {"µs", "1000"}, {"ms", "1000000"}, {"s", "1000000000"},
                {"m", "60000000000"}};
        long scale = 1_000_000_000L;
        String number = t;
        for (String[] u : units) {
            if (t.endsWith(u[0])) {
                scale = Long.parseLong(u[1]);
                number = t.substring(0, t.length() - u[0].length()).trim();
                break;
            }
        }
        double value;
        try {
            value = Double.parseDouble(number);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a duration: '" + text + "' (try 10s, 500ms, 50us)");
        }
        if (value < 0 || Double.isNaN(value) || Double.isInfinite(value)) {
            throw new IllegalArgumentException("not a duration: '" + text + "' (must be zero or positive)");
        }
        return Duration.ofNanos(Math.round(value * scale));
    }

    /** A fixed-point number, or {@code -} for null. */
    static String number(Double v, int decimals) {
        return v == null ? "-" : String.format(Locale.ROOT, "%,." + decimals + "f", v);
    }
}
