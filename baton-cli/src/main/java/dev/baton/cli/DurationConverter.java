package dev.baton.cli;

import picocli.CommandLine;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one duration syntax of the command line, for every flag that takes a time (and the same as
 * {@code bin/baton bench}'s): a number and a unit, {@code ns}, {@code us} (or {@code µs}), {@code ms}, {@code s},
 * {@code m} or {@code h}: {@code 50us}, {@code 1.5s}, {@code 500ms}; a bare number is seconds; an ISO-8601
 * duration ({@code PT10S}) works too. Negative values are refused.
 */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {

    private static final Pattern FORM = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ns|us|µs|ms|s|m|h)?");

    @Override
    public Duration convert(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        if (v.startsWith("pt")) {
            try {
                Duration d = Duration.parse(value.trim());
                if (d.isNegative()) {
                    throw new CommandLine.TypeConversionException("'" + value + "': a duration must not be negative");
                }
                return d;
            } catch (java.time.format.DateTimeParseException e) {
                throw notADuration(value);
            }
        }
        Matcher m = FORM.matcher(v);
        if (!m.matches()) {
            throw notADuration(value);
        }
        long nanosPerUnit = switch (m.group(2) == null ? "s" : m.group(2)) {
            case "ns" -> 1L;
            case "us", "µs" -> 1_000L;
            case "ms" -> 1_000_000L;
            case "s" -> 1_000_000_000L;
            case "m" -> 60_000_000_000L;
            default -> 3_600_000_000_000L;
        };
        BigDecimal nanos = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(nanosPerUnit));
        if (nanos.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new CommandLine.TypeConversionException("'" + value + "' is too long a duration");
        }
        return Duration.ofNanos(nanos.longValue());
    }

    private static CommandLine.TypeConversionException notADuration(String value) {
        return new CommandLine.TypeConversionException("'" + value + "' is not a duration: write a number and a "
                + "unit, ns, us, ms, s, m or h (e.g. 500ms, 1.5s, 50us; a bare number is seconds)");
    }

    /** {@code d} in the same syntax, in its largest exact unit: 3s, 500ms, 50us. */
    static String format(Duration d) {
        long ns = d.toNanos();
        if (ns != 0 && ns % 3_600_000_000_000L == 0) {
            return ns / 3_600_000_000_000L + "h";
        }
        if (ns != 0 && ns % 60_000_000_000L == 0) {
            return ns / 60_000_000_000L + "m";
        }
        if (ns % 1_000_000_000L == 0) {
            return ns / 1_000_000_000L + "s";
        }
        if (ns % 1_000_000L == 0) {
            return ns / 1_000_000L + "ms";
        }
        return ns % 1_000L == 0 ? ns / 1_000L + "us" : ns + "ns";
    }
}
