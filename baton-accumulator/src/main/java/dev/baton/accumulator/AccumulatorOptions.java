package dev.baton.accumulator;

import dev.baton.BatonException;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * How a node's {@link Accumulators} run. Immutable; build with {@link #builder()}, derive with
 * {@link #toBuilder()}. {@link Builder#build()} checks every value and names the bad one.
 */
public final class AccumulatorOptions {

    /** The defaults. */
    public static final AccumulatorOptions DEFAULT = builder().build();

    private final int flushEvery;
    private final Duration flushInterval;
    private final ServerPlacement serverPlacement;
    private final Duration callTimeout;
    private final Duration rebuildTimeout;
    private final Duration electionDelay;
    private final Duration closeTimeout;
    private final Consumer<BatonException> errorHandler;

    private AccumulatorOptions(Builder b) {
        flushEvery = b.flushEvery;
        flushInterval = b.flushInterval;
        serverPlacement = b.serverPlacement;
        callTimeout = b.callTimeout;
        rebuildTimeout = b.rebuildTimeout;
        electionDelay = b.electionDelay;
        closeTimeout = b.closeTimeout;
        errorHandler = b.errorHandler;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.flushEvery = flushEvery;
        b.flushInterval = flushInterval;
        b.serverPlacement = serverPlacement;
        b.callTimeout = callTimeout;
        b.rebuildTimeout = rebuildTimeout;
        b.electionDelay = electionDelay;
        b.closeTimeout = closeTimeout;
        b.errorHandler = errorHandler;
        return b;
    }

    /**
     * prpc's flush frequency: after this many writes by one thread to one accumulator, the node pushes what
     * it has (default 1024). 0 pushes only on the interval, {@code flush()} and {@code awaitFlushed()}.
     */
    public int flushEvery() {
        return flushEvery;
    }

    /** The node pushes what changed at least this often (default 1 s). */
    public Duration flushInterval() {
        return flushInterval;
    }

    /** Whether this node may host the server (default {@link ServerPlacement#DEFAULT}). */
    public ServerPlacement serverPlacement() {
        return serverPlacement;
    }

    /** Deadline of each call to the server: batches, reads, resets (default 10 s). */
    public Duration callTimeout() {
        return callTimeout;
    }

    /**
     * How long a new server makes reads, resets and erasures wait for the nodes that were attached when it
     * started to send their contributions (default 5 s); after that it answers without the missing ones.
     */
    public Duration rebuildTimeout() {
        return rebuildTimeout;
    }

    /** The unit of the election stagger (default 100 ms; see {@link ServerPlacement}). */
    public Duration electionDelay() {
        return electionDelay;
    }

    /** How long {@link Accumulators#close()} waits for the final flush and the hand-over (default 5 s). */
    public Duration closeTimeout() {
        return closeTimeout;
    }

    /**
     * Told about errors of the background flusher: rejections by the server (type mismatch, unknown type)
     * and unexpected failures. Called on the flusher thread; must not block. Null (the default) logs them
     * as warnings. Rejections are also thrown by {@code flush}, {@code awaitFlushed} and {@code read}.
     */
    public Consumer<BatonException> errorHandler() {
        return errorHandler;
    }

    @Override
    public String toString() {
        return "AccumulatorOptions[flushEvery=" + flushEvery + ", flushInterval=" + flushInterval
                + ", serverPlacement=" + serverPlacement + ", callTimeout=" + callTimeout + ", rebuildTimeout="
                + rebuildTimeout + ", electionDelay=" + electionDelay + ", closeTimeout=" + closeTimeout + "]";
    }

    /** Builds {@link AccumulatorOptions}. Not thread-safe. */
    public static final class Builder {
        private int flushEvery = 1024;
        private Duration flushInterval = Duration.ofSeconds(1);
        private ServerPlacement serverPlacement = ServerPlacement.DEFAULT;
        private Duration callTimeout = Duration.ofSeconds(10);
        private Duration rebuildTimeout = Duration.ofSeconds(5);
        private Duration electionDelay = Duration.ofMillis(100);
        private Duration closeTimeout = Duration.ofSeconds(5);
        private Consumer<BatonException> errorHandler;

        private Builder() {
        }

        public Builder flushEvery(int writes) {
            this.flushEvery = writes;
            return this;
        }

        public Builder flushInterval(Duration interval) {
            this.flushInterval = interval;
            return this;
        }

        public Builder serverPlacement(ServerPlacement placement) {
            this.serverPlacement = placement;
            return this;
        }

        public Builder callTimeout(Duration timeout) {
            this.callTimeout = timeout;
            return this;
        }

        public Builder rebuildTimeout(Duration timeout) {
            this.rebuildTimeout = timeout;
            return this;
        }

        public Builder electionDelay(Duration delay) {
            this.electionDelay = delay;
            return this;
        }

        public Builder closeTimeout(Duration timeout) {
            this.closeTimeout = timeout;
            return this;
        }

        public Builder errorHandler(Consumer<BatonException> handler) {
            this.errorHandler = handler;
            return this;
        }

        public AccumulatorOptions build() {
            check(flushEvery >= 0, "flushEvery", flushEvery, "zero or positive");
            positive(flushInterval, "flushInterval");
            Objects.requireNonNull(serverPlacement, "serverPlacement");
            positive(callTimeout, "callTimeout");
            positive(rebuildTimeout, "rebuildTimeout");
            Objects.requireNonNull(electionDelay, "electionDelay");
            check(!electionDelay.isNegative(), "electionDelay", electionDelay, "zero or positive");
            Objects.requireNonNull(closeTimeout, "closeTimeout");
            check(!closeTimeout.isNegative(), "closeTimeout", closeTimeout, "zero or positive");
            return new AccumulatorOptions(this);
        }

        private static void positive(Duration d, String field) {
            Objects.requireNonNull(d, field);
            check(!d.isNegative() && !d.isZero(), field, d, "positive");
        }

        private static void check(boolean ok, String field, Object value, String expected) {
            if (!ok) {
                throw new IllegalArgumentException(field + " must be " + expected + ", was " + value);
            }
        }
    }
}
