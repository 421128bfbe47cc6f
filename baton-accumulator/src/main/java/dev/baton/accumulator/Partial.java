package dev.baton.accumulator;

import java.nio.ByteBuffer;

/**
 * A mutable partial aggregate of one type: what a node sends (the delta of a flush, or its cumulative
 * contribution when it rebuilds a new server) and what the server keeps. Not thread-safe: the flusher's
 * partials are guarded by its state lock, the server's by the server lock.
 *
 * <p>State encodings (big-endian), which travel length-prefixed inside batches and read answers:
 * <pre>
 *   long-sum, long-max, long-min        i64 value
 *   double-sum, double-max, double-min  f64 value
 *   average                             i64 count | f64 sum
 *   timer                               i64 count | f64 mean | f64 m2 | i64 min | i64 max
 *   user-defined                        the bytes of AggregatorType.serialize
 * </pre>
 */
abstract sealed class Partial {

    final String type;

    private Partial(String type) {
        this.type = type;
    }

    /** A new empty partial of {@code type}, or null when this JVM does not know the type. */
    static Partial create(String type) {
        return switch (type) {
            case Aggregators.LONG_SUM -> new LongPartial(type, LongPartial.SUM);
            case Aggregators.LONG_MAX -> new LongPartial(type, LongPartial.MAX);
            case Aggregators.LONG_MIN -> new LongPartial(type, LongPartial.MIN);
            case Aggregators.DOUBLE_SUM -> new DoublePartial(type, DoublePartial.SUM);
            case Aggregators.DOUBLE_MAX -> new DoublePartial(type, DoublePartial.MAX);
            case Aggregators.DOUBLE_MIN -> new DoublePartial(type, DoublePartial.MIN);
            case Aggregators.AVERAGE -> new AveragePartial();
            case Aggregators.TIMER -> new TimerPartial();
            default -> {
                AggregatorType<?, ?> custom = Aggregators.custom(type).orElse(null);
                yield custom == null ? null : new CustomPartial(custom);
            }
        };
    }

    /** Back to the empty state (the aggregator's identity). */
    abstract void reset();

    /** Merges {@code other}, a partial of the same type. */
    abstract void merge(Partial other);

    /** Decodes a state of this type ({@code state}'s remaining bytes) and merges it. */
    abstract void mergeFrom(ByteBuffer state);

    /** Appends the state's encoding (without a length prefix). */
    abstract void write(Wire.Out out);

    abstract Partial copy();

    /** The state as a public value. */
    abstract AccumulatorValue value(String name);

    /** Decodes a state of {@code type} into a value (for readers, which may not know user-defined types). */
    static AccumulatorValue decode(String name, String type, ByteBuffer state, String rendered) {
        Partial p = Aggregators.BUILT_IN.contains(type) ? create(type) : null;
        if (p == null) {
            byte[] bytes = new byte[state.remaining()];
            state.duplicate().get(bytes);
            return new AccumulatorValue.Custom(name, type, bytes, rendered);
        }
        p.mergeFrom(state);
        return p.value(name);
    }

    static final class LongPartial extends Partial {
        static final int SUM = 0;
        static final int MAX = 1;
        static final int MIN = 2;

        final int op;
        long value;

        LongPartial(String type, int op) {
            super(type);
            this.op = op;
            reset();
        }

        static long identity(int op) {
            return op == MAX ? Long.MIN_VALUE : op == MIN ? Long.MAX_VALUE : 0L;
        }

        void add(long v) {
            value = switch (op) {
                case SUM -> value + v;
                case MAX -> Math.max(value, v);
                default -> Math.min(value, v);
            };
        }

        @Override
        void reset() {
            value = identity(op);
        }

        @Override
        void merge(Partial other) {
            add(((LongPartial) other).value);
        }

        @Override
        void mergeFrom(ByteBuffer state) {
            add(state.getLong(state.position()));
        }

        @Override
        void write(Wire.Out out) {
            out.putLong(value);
        }

        @Override
        Partial copy() {
            LongPartial p = new LongPartial(type, op);
            p.value = value;
            return p;
        }

        @Override
        AccumulatorValue value(String name) {
            return new AccumulatorValue.LongValue(name, type, value);
        }
    }

    static final class DoublePartial extends Partial {
        static final int SUM = 0;
        static final int MAX = 1;
        static final int MIN = 2;

        final int op;
        double value;

        DoublePartial(String type, int op) {
            super(type);
            this.op = op;
            reset();
        }

        static double identity(int op) {
            return op == MAX ? Double.NEGATIVE_INFINITY : op == MIN ? Double.POSITIVE_INFINITY : 0.0;
        }

        void add(double v) {
            value = switch (op) {
                case SUM -> value + v;
                case MAX -> Math.max(value, v);
                default -> Math.min(value, v);
            };
        }

        @Override
        void reset() {
            value = identity(op);
        }

        @Override
        void merge(Partial other) {
            add(((DoublePartial) other).value);
        }

        @Override
        void mergeFrom(ByteBuffer state) {
            add(state.getDouble(state.position()));
        }

        @Override
        void write(Wire.Out out) {
            out.putDouble(value);
        }

        @Override
        Partial copy() {
            DoublePartial p = new DoublePartial(type, op);
            p.value = value;
            return p;
        }

        @Override
        AccumulatorValue value(String name) {
            return new AccumulatorValue.DoubleValue(name, type, value);
        }
    }

    static final class AveragePartial extends Partial {
        long count;
        double sum;

        AveragePartial() {
            super(Aggregators.AVERAGE);
        }

        void add(long n, double s) {
            count += n;
            sum += s;
        }

        @Override
        void reset() {
            count = 0;
            sum = 0;
        }

        @Override
        void merge(Partial other) {
            AveragePartial o = (AveragePartial) other;
            add(o.count, o.sum);
        }

        @Override
        void mergeFrom(ByteBuffer state) {
            int p = state.position();
            add(state.getLong(p), state.getDouble(p + 8));
        }

        @Override
        void write(Wire.Out out) {
            out.putLong(count).putDouble(sum);
        }

        @Override
        Partial copy() {
            AveragePartial p = new AveragePartial();
            p.add(count, sum);
            return p;
        }

        @Override
        AccumulatorValue value(String name) {
            return new AccumulatorValue.Average(name, count, sum);
        }
    }

    /** Count, mean and sum of squared deviations (Welford), merged with Chan's formula; min and max. */
    static final class TimerPartial extends Partial {
        long count;
        double mean;
        double m2;
        long min;
        long max;

        TimerPartial() {
            super(Aggregators.TIMER);
            reset();
        }

        void add(long n, double mean2, double m2b, long min2, long max2) {
            if (n > 0) {
                if (count == 0) {
                    count = n;
                    mean = mean2;
                    m2 = m2b;
                } else {
                    long total = count + n;
                    double delta = mean2 - mean;
                    mean += delta * ((double) n / total);
                    m2 += m2b + delta * delta * ((double) count * n / total);
                    count = total;
                }
            }
            min = Math.min(min, min2);
            max = Math.max(max, max2);
        }

        @Override
        void reset() {
            count = 0;
            mean = 0;
            m2 = 0;
            min = Long.MAX_VALUE;
            max = Long.MIN_VALUE;
        }

        @Override
        void merge(Partial other) {
            TimerPartial o = (TimerPartial) other;
            add(o.count, o.mean, o.m2, o.min, o.max);
        }

        @Override
        void mergeFrom(ByteBuffer state) {
            int p = state.position();
            add(state.getLong(p), state.getDouble(p + 8), state.getDouble(p + 16), state.getLong(p + 24),
                    state.getLong(p + 32));
        }

        @Override
        void write(Wire.Out out) {
            out.putLong(count).putDouble(mean).putDouble(m2).putLong(min).putLong(max);
        }

        @Override
        Partial copy() {
            TimerPartial p = new TimerPartial();
            p.merge(this);
            return p;
        }

        @Override
        AccumulatorValue value(String name) {
            if (count == 0) {
                return new AccumulatorValue.Timer(name, 0, 0, Double.NaN, Double.NaN, min, max);
            }
            return new AccumulatorValue.Timer(name, count, mean * count, mean, Math.max(0, m2 / count), min, max);
        }
    }

    /** A user-defined type's state; the type's methods are called through raw casts, checked by its name. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static final class CustomPartial extends Partial {
        final AggregatorType aggregator;
        Object state;

        CustomPartial(AggregatorType<?, ?> aggregator) {
            super(aggregator.name());
            this.aggregator = aggregator;
            this.state = aggregator.init();
        }

        void mergeState(Object other) {
            state = aggregator.merge(state, other);
        }

        @Override
        void reset() {
            state = aggregator.init();
        }

        @Override
        void merge(Partial other) {
            // The other partial stays usable: merge a copy of its state.
            mergeState(aggregator.deserialize(aggregator.serialize(((CustomPartial) other).state)));
        }

        @Override
        void mergeFrom(ByteBuffer state) {
            byte[] bytes = new byte[state.remaining()];
            state.duplicate().get(bytes);
            mergeState(aggregator.deserialize(bytes));
        }

        @Override
        void write(Wire.Out out) {
            byte[] bytes = aggregator.serialize(state);
            out.putRaw(ByteBuffer.wrap(bytes));
        }

        @Override
        Partial copy() {
            CustomPartial p = new CustomPartial(aggregator);
            p.state = aggregator.deserialize(aggregator.serialize(state));
            return p;
        }

        String render() {
            return aggregator.render(state);
        }

        @Override
        AccumulatorValue value(String name) {
            return new AccumulatorValue.Custom(name, type, aggregator.serialize(state), render());
        }
    }
}
