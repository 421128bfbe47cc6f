package dev.baton.accumulator;

import dev.baton.LatencyHistogram;

import java.nio.ByteBuffer;
import java.util.Arrays;

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
 *                                       [ histogram: n varint | n x (bucket gap varint | count varint) ]
 *   user-defined                        the bytes of AggregatorType.serialize
 * </pre>
 * The timer's histogram lists its non-empty {@link LatencyHistogram} buckets in increasing order: the first
 * entry's gap is its bucket, each next one's is its bucket minus the previous one's, minus 1; counts are
 * positive. It is optional: a 40-byte timer state (from a node that predates histograms) merges as moments
 * without histogram, and such nodes ignore it (they read fixed offsets and the state is length-prefixed), so
 * the protocol version stays 1.
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

    /** The state's position, once it is known to hold at least {@code bytes}: else a malformed message. */
    static int checkLength(ByteBuffer state, int bytes) {
        if (state.remaining() < bytes) {
            throw Wire.malformed("state of " + state.remaining() + " bytes, expected " + bytes);
        }
        return state.position();
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
            add(state.getLong(checkLength(state, 8)));
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
            add(state.getDouble(checkLength(state, 8)));
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
            int p = checkLength(state, 16);
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

    /**
     * Count, mean and sum of squared deviations (Welford), merged with Chan's formula; min and max; and the
     * counts of a {@link LatencyHistogram}, allocated on the first non-empty bucket, with {@code [lo, hi]}
     * bounding the non-empty ones (so reset and encoding touch only those).
     */
    static final class TimerPartial extends Partial {
        /** The fixed part of the state: count, mean, m2, min, max. */
        static final int MOMENTS_BYTES = 40;

        long count;
        double mean;
        double m2;
        long min;
        long max;
        long[] buckets;
        int lo = LatencyHistogram.BUCKETS;
        int hi = -1;

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

        /** Adds {@code n} (positive) values to {@code bucket}; a count saturates at {@link Long#MAX_VALUE}. */
        void addBucket(int bucket, long n) {
            if (buckets == null) {
                buckets = new long[LatencyHistogram.BUCKETS];
            }
            long s = buckets[bucket] + n;
            buckets[bucket] = s < 0 ? Long.MAX_VALUE : s;
            lo = Math.min(lo, bucket);
            hi = Math.max(hi, bucket);
        }

        @Override
        void reset() {
            count = 0;
            mean = 0;
            m2 = 0;
            min = Long.MAX_VALUE;
            max = Long.MIN_VALUE;
            if (lo <= hi) {
                Arrays.fill(buckets, lo, hi + 1, 0L);
            }
            lo = LatencyHistogram.BUCKETS;
            hi = -1;
        }

        @Override
        void merge(Partial other) {
            TimerPartial o = (TimerPartial) other;
            add(o.count, o.mean, o.m2, o.min, o.max);
            for (int i = o.lo; i <= o.hi; i++) {
                if (o.buckets[i] != 0) {
                    addBucket(i, o.buckets[i]);
                }
            }
        }

        /**
         * Validates the whole state before merging any of it, so a malformed one (INVALID_ARGUMENT, as every
         * malformed accumulator message) leaves this partial as it was.
         */
        @Override
        void mergeFrom(ByteBuffer state) {
            int p = checkLength(state, MOMENTS_BYTES);
            int length = state.remaining();
            ByteBuffer histogram = state.slice(p + MOMENTS_BYTES, length - MOMENTS_BYTES);
            if (histogram.hasRemaining()) {
                readHistogram(histogram, null);
            }
            add(state.getLong(p), state.getDouble(p + 8), state.getDouble(p + 16), state.getLong(p + 24),
                    state.getLong(p + 32));
            if (histogram.hasRemaining()) {
                readHistogram(histogram, this);
            }
        }

        /**
         * Reads a histogram section (all of {@code section}), adding it to {@code into}, or only validating it
         * when {@code into} is null: at most {@link LatencyHistogram#BUCKETS} entries, no more than the bytes
         * left can hold (2 bytes at least each), buckets increasing and in range, counts positive with a total
         * below 2^63, nothing after the last entry.
         */
        static void readHistogram(ByteBuffer section, TimerPartial into) {
            Wire.In in = Wire.in(section);
            long n = in.getVarLong();
            if (n < 0 || n > LatencyHistogram.BUCKETS || n * 2 > in.remaining()) {
                throw Wire.malformed("timer histogram of " + Long.toUnsignedString(n) + " buckets in "
                        + in.remaining() + " bytes");
            }
            int bucket = -1;
            long total = 0;
            for (long i = 0; i < n; i++) {
                long gap = in.getVarLong();
                if (gap < 0 || gap >= LatencyHistogram.BUCKETS - 1 - bucket) {
                    throw Wire.malformed("timer histogram bucket past " + (LatencyHistogram.BUCKETS - 1));
                }
                bucket += 1 + (int) gap;
                long c = in.getVarLong();
                total += c;
                if (c <= 0 || total < 0) {
                    throw Wire.malformed("timer histogram count " + Long.toUnsignedString(c));
                }
                if (into != null) {
                    into.addBucket(bucket, c);
                }
            }
            if (in.hasRemaining()) {
                throw Wire.malformed(in.remaining() + " bytes after the timer histogram");
            }
        }

        @Override
        void write(Wire.Out out) {
            out.putLong(count).putDouble(mean).putDouble(m2).putLong(min).putLong(max);
            int n = 0;
            for (int i = lo; i <= hi; i++) {
                if (buckets[i] != 0) {
                    n++;
                }
            }
            out.putVarLong(n);
            int previous = -1;
            for (int i = lo; i <= hi; i++) {
                if (buckets[i] != 0) {
                    out.putVarLong(i - previous - 1).putVarLong(buckets[i]);
                    previous = i;
                }
            }
        }

        @Override
        Partial copy() {
            TimerPartial p = new TimerPartial();
            p.merge(this);
            return p;
        }

        LatencyHistogram histogram() {
            return lo > hi ? LatencyHistogram.empty() : LatencyHistogram.of(buckets);
        }

        @Override
        AccumulatorValue value(String name) {
            if (count == 0) {
                return new AccumulatorValue.Timer(name, 0, 0, Double.NaN, Double.NaN, min, max, histogram());
            }
            return new AccumulatorValue.Timer(name, count, mean * count, mean, Math.max(0, m2 / count), min, max,
                    histogram());
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
