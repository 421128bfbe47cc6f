package dev.baton.accumulator;

import java.math.BigDecimal;
import java.util.Objects;

/**
 * The global value of one accumulator, as the server had merged it when it answered a read. Immutable.
 * One record per family of types; switch on it:
 *
 * <pre>{@code
 * switch (accumulators.read("loss").orElseThrow()) {
 *     case AccumulatorValue.DoubleValue d -> System.out.println(d.value());
 *     case AccumulatorValue.Timer t -> System.out.println(t.mean() + " ns");
 *     default -> ...
 * }
 * }</pre>
 */
public sealed interface AccumulatorValue {

    /** The accumulator's name. */
    String name();

    /** Its aggregator type name ({@link Aggregators#LONG_SUM}, ..., or a user-defined one). */
    String type();

    /** The value for people, as the {@code bin/baton accumulators} table shows it. */
    String render();

    /** {@link Aggregators#LONG_SUM}, {@link Aggregators#LONG_MAX} or {@link Aggregators#LONG_MIN}. */
    record LongValue(String name, String type, long value) implements AccumulatorValue {
        @Override
        public String render() {
            return Long.toString(value);
        }
    }

    /** {@link Aggregators#DOUBLE_SUM}, {@link Aggregators#DOUBLE_MAX} or {@link Aggregators#DOUBLE_MIN}. */
    record DoubleValue(String name, String type, double value) implements AccumulatorValue {
        @Override
        public String render() {
            return format(value);
        }
    }

    /** {@link Aggregators#AVERAGE}: how many values, and their sum. */
    record Average(String name, long count, double sum) implements AccumulatorValue {
        @Override
        public String type() {
            return Aggregators.AVERAGE;
        }

        /** sum / count; NaN when no value was written. */
        public double mean() {
            return count == 0 ? Double.NaN : sum / count;
        }

        @Override
        public String render() {
            return count == 0 ? "N/A" : format(mean()) + " (n=" + count + ")";
        }
    }

    /**
     * {@link Aggregators#TIMER}: statistics of the recorded durations, in the unit they were recorded in
     * (nanoseconds for {@link TimerAccumulator#record(java.time.Duration)}). {@code variance} is the
     * population variance. With no value: count 0, total 0, mean and variance NaN, min {@link Long#MAX_VALUE},
     * max {@link Long#MIN_VALUE}.
     */
    record Timer(String name, long count, double total, double mean, double variance, long min, long max)
            implements AccumulatorValue {
        @Override
        public String type() {
            return Aggregators.TIMER;
        }

        /** The standard deviation: the square root of the variance. */
        public double stddev() {
            return Math.sqrt(variance);
        }

        @Override
        public String render() {
            if (count == 0) {
                return "count=0";
            }
            return "count=" + count + " total=" + format(total) + " mean=" + format(mean) + " variance="
                    + format(variance) + " min=" + min + " max=" + max;
        }
    }

    /**
     * A user-defined type: the serialized state and the server's rendering of it. {@link #state} decodes the
     * state with the type registered in this JVM.
     */
    record Custom(String name, String type, byte[] bytes, String rendered) implements AccumulatorValue {
        public Custom {
            Objects.requireNonNull(bytes, "bytes");
        }

        @Override
        public String render() {
            return rendered;
        }

        /** The state, decoded by {@code aggregator} (which must be this value's type). */
        public <S> S state(AggregatorType<S, ?> aggregator) {
            if (!aggregator.name().equals(type)) {
                throw new IllegalArgumentException("value of '" + name + "' is a " + type + ", not a "
                        + aggregator.name());
            }
            return aggregator.deserialize(bytes.clone());
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Custom c && c.name.equals(name) && c.type.equals(type)
                    && java.util.Arrays.equals(c.bytes, bytes) && Objects.equals(c.rendered, rendered);
        }

        @Override
        public int hashCode() {
            return Objects.hash(name, type, java.util.Arrays.hashCode(bytes), rendered);
        }

        @Override
        public String toString() {
            return "Custom[name=" + name + ", type=" + type + ", " + bytes.length + " bytes, rendered=" + rendered + "]";
        }
    }

    /** A double for a table: plain digits in [1e-4, 1e15), without a trailing ".0"; otherwise Java's form. */
    private static String format(double d) {
        double a = Math.abs(d);
        if (Double.isFinite(d) && (a == 0 || (a >= 1e-4 && a < 1e15))) {
            String s = BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
            return s.equals("-0") ? "0" : s;
        }
        return Double.toString(d);
    }
}
