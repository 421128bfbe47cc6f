package dev.baton.cli;

import picocli.CommandLine;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one duration syntax of the command line: a whole number and a unit, {@code ns}, {@code us} (or
 * {@code µs}), {@code ms}, {@code s}, {@code m} or {@code h}: {@code 50us}, {@code 500ms}, {@code 3s}. A bare
 * number is refused (it would be ambiguous), as is a negative one.
 */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {

    private static final Pattern FORM = Pattern.compile("(\\d{1,18})\\s*(ns|us|µs|ms|s|m|h)");

    @Override
    public Duration convert(String value) {
        Matcher m = FORM.matcher(value.trim());
        if (!m.matches()) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a duration: write a whole number "
                    + "and a unit, ns, us, ms, s, m or h (e.g. 500ms, 3s)");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ns" -> Duration.ofNanos(n);
            case "us", "µs" -> Duration.ofNanos(Math.multiplyExact(n, 1_000L));
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
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
