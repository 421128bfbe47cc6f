package dev.baton.accumulator;

import dev.baton.LatencyHistogram;

import java.math.BigDecimal;
import java.math.MathContext;
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
     * {@link Aggregators#TIMER}: statistics of the recorded durations, in nanoseconds. {@code variance} is the
     * population variance. {@code histogram} counts the values in {@link LatencyHistogram}'s buckets (16 per
     * power of two), merged over every thread and node, for {@link #percentile percentiles}. With no value:
     * count 0, total 0, mean and variance NaN, min {@link Long#MAX_VALUE}, max {@link Long#MIN_VALUE}, an empty
     * histogram.
     *
     * <p>Count and histogram agree once writes have stopped and been flushed; a read while a node records may
     * find a few values in the histogram that the moments do not count yet. A node of a version without
     * histograms contributes to the moments only.
     */
    record Timer(String name, long count, double total, double mean, double variance, long min, long max,
                 LatencyHistogram histogram) implements AccumulatorValue {

        public Timer {
            Objects.requireNonNull(histogram, "histogram");
        }

        /** Without a histogram (an empty one). */
        public Timer(String name, long count, double total, double mean, double variance, long min, long max) {
            this(name, count, total, mean, variance, min, max, LatencyHistogram.empty());
        }

        @Override
        public String type() {
            return Aggregators.TIMER;
        }

        /** The standard deviation: the square root of the variance. */
        public double stddev() {
            return Math.sqrt(variance);
        }

        /**
         * The value in nanoseconds at or below which {@code percent} percent (0 to 100) of the values lie, from
         * the histogram: the top of its bucket (at most 1/16 above the true value), kept within [min, max];
         * 0 when the histogram is empty.
         *
         * @throws IllegalArgumentException for a percent outside [0, 100]
         */
        public long percentile(double percent) {
            long v = histogram.percentile(percent).toNanos();
            if (histogram.count() == 0 || count == 0 || min > max) {
                return v;
            }
            return Math.max(min, Math.min(max, v));
        }

        /** The median, in nanoseconds (see {@link #percentile}). */
        public long p50() {
            return percentile(50);
        }

        /** The 90th percentile, in nanoseconds. */
        public long p90() {
            return percentile(90);
        }

        /** The 99th percentile, in nanoseconds. */
        public long p99() {
            return percentile(99);
        }

        /** The 99.9th percentile, in nanoseconds. */
        public long p999() {
            return percentile(99.9);
        }

        /**
         * One line with units, e.g. {@code count=2 mean=20ns p50=10ns p90=30ns p99=30ns p999=30ns max=30ns}
         * (percentiles left out when no node sent a histogram); {@code count=0} when empty.
         */
        @Override
        public String render() {
            if (count == 0) {
                return "count=0";
            }
            StringBuilder b = new StringBuilder("count=").append(count).append(" mean=").append(nanos(mean));
            if (histogram.count() != 0) {
                b.append(" p50=").append(nanos(p50())).append(" p90=").append(nanos(p90()))
                        .append(" p99=").append(nanos(p99())).append(" p999=").append(nanos(p999()));
            }
            return b.append(" max=").append(nanos(max)).toString();
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

    /**
     * Nanoseconds for people: in ns, µs, ms or s, whichever keeps the number under 1000 (s beyond), with 3
     * significant digits, or none after the point from 100 up: {@code 20ns}, {@code 1.23µs}, {@code 150ms}.
     */
    private static String nanos(double ns) {
        if (!Double.isFinite(ns)) {
            return format(ns) + "ns";
        }
        double a = Math.abs(ns);
        double v;
        String unit;
        if (a < 999.5) {
            v = ns;
            unit = "ns";
        } else if (a < 999_500) {
            v = ns / 1e3;
            unit = "µs";
        } else if (a < 999_500_000) {
            v = ns / 1e6;
            unit = "ms";
        } else {
            v = ns / 1e9;
            unit = "s";
        }
        String digits = Math.abs(v) >= 99.95 ? Long.toString(Math.round(v))
                : BigDecimal.valueOf(v).round(new MathContext(3)).stripTrailingZeros().toPlainString();
        return (digits.equals("-0") ? "0" : digits) + unit;
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
