package dev.baton.accumulator;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The aggregator types this JVM knows: the built-ins, and the user-defined ones {@link #register registered}
 * by name. One registry per JVM (class loader), shared by every {@link Accumulators}; thread-safe.
 *
 * <h2>Built-in types</h2>
 * <table>
 *   <caption>Built-in aggregator types</caption>
 *   <tr><th>name</th><th>created by</th><th>value</th><th>empty value</th></tr>
 *   <tr><td>{@value #LONG_SUM}</td><td>{@link Accumulators#longSum}</td><td>sum (wraps on overflow)</td><td>0</td></tr>
 *   <tr><td>{@value #DOUBLE_SUM}</td><td>{@link Accumulators#doubleSum}</td><td>sum</td><td>0.0</td></tr>
 *   <tr><td>{@value #LONG_MAX}</td><td>{@link Accumulators#longMax}</td><td>maximum</td><td>{@link Long#MIN_VALUE}</td></tr>
 *   <tr><td>{@value #LONG_MIN}</td><td>{@link Accumulators#longMin}</td><td>minimum</td><td>{@link Long#MAX_VALUE}</td></tr>
 *   <tr><td>{@value #DOUBLE_MAX}</td><td>{@link Accumulators#doubleMax}</td><td>maximum (NaN wins, as in {@link Math#max})</td><td>-Infinity</td></tr>
 *   <tr><td>{@value #DOUBLE_MIN}</td><td>{@link Accumulators#doubleMin}</td><td>minimum (NaN wins)</td><td>+Infinity</td></tr>
 *   <tr><td>{@value #AVERAGE}</td><td>{@link Accumulators#average}</td><td>count, sum, mean</td><td>count 0, mean NaN</td></tr>
 *   <tr><td>{@value #TIMER}</td><td>{@link Accumulators#timer}</td><td>count, total, mean, variance, min, max (nanoseconds), a latency histogram for percentiles</td><td>count 0</td></tr>
 * </table>
 * Unlike prpc's, max and min of doubles start from -Infinity and +Infinity, so negative values work.
 */
public final class Aggregators {

    public static final String LONG_SUM = "long-sum";
    public static final String DOUBLE_SUM = "double-sum";
    public static final String LONG_MAX = "long-max";
    public static final String LONG_MIN = "long-min";
    public static final String DOUBLE_MAX = "double-max";
    public static final String DOUBLE_MIN = "double-min";
    public static final String AVERAGE = "average";
    public static final String TIMER = "timer";

    /** Every built-in type name. */
    public static final List<String> BUILT_IN =
            List.of(LONG_SUM, DOUBLE_SUM, LONG_MAX, LONG_MIN, DOUBLE_MAX, DOUBLE_MIN, AVERAGE, TIMER);

    private static final Map<String, AggregatorType<?, ?>> CUSTOM = new ConcurrentHashMap<>();

    private Aggregators() {
    }

    /**
     * Registers a user-defined type under its {@link AggregatorType#name()}. Registering the same instance
     * again does nothing; another instance under a taken name, or a built-in name, throws
     * {@link IllegalArgumentException}.
     */
    public static void register(AggregatorType<?, ?> type) {
        Objects.requireNonNull(type, "type");
        String name = checkName(type.name());
        if (BUILT_IN.contains(name)) {
            throw new IllegalArgumentException("'" + name + "' is a built-in aggregator type");
        }
        AggregatorType<?, ?> before = CUSTOM.putIfAbsent(name, type);
        if (before != null && before != type) {
            throw new IllegalArgumentException("aggregator type '" + name + "' is already registered (by "
                    + before.getClass().getName() + ")");
        }
    }

    /** The user-defined type registered under {@code name}, if any. */
    public static Optional<AggregatorType<?, ?>> custom(String name) {
        return Optional.ofNullable(CUSTOM.get(name));
    }

    /** True for a built-in type name, or a registered user-defined one. */
    public static boolean isKnown(String name) {
        return BUILT_IN.contains(name) || CUSTOM.containsKey(name);
    }

    static String checkName(String name) {
        Objects.requireNonNull(name, "type name");
        int n = name.getBytes(StandardCharsets.UTF_8).length;
        if (n == 0 || n > 255) {
            throw new IllegalArgumentException("aggregator type name must be 1 to 255 UTF-8 bytes, was '" + name + "'");
        }
        return name;
    }
}
