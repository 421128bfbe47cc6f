package dev.baton.bench;

import com.google.gson.JsonObject;
import dev.baton.NodeOptions;

import java.time.Duration;

/**
 * The {@link NodeOptions} the harness changes for the Baton TCP system; null fields keep the defaults.
 *
 * @param ioSpin     {@link NodeOptions#ioSpin()} of the client node and every server node, or null
 * @param callerSpin {@link NodeOptions#callerSpin()} of the client node and every server node, or null
 * @param lanes      {@link NodeOptions#lanes()} of the client node and every server node, or 0 for the default
 * @param ioThreads  {@link NodeOptions#ioThreads()} of the client node and every server node, or 0 for the default
 * @param metrics    whether the client node records its calls into Micrometer ({@code BatonNodeMetrics} bound to a
 *                   Prometheus registry), to measure what recording costs; the servers never do
 */
record BatonSettings(Duration ioSpin, Duration callerSpin, int lanes, int ioThreads, boolean metrics) {

    static final BatonSettings DEFAULTS = new BatonSettings(null, null, 0, 0, false);

    /**
     * {@code ioSpin} and {@code callerSpin} of every baton-tcp node with {@code --busy-poll}: far longer than any
     * wait between two calls of a run, so the nodes never park while measured, like the floor's polling threads.
     * Finite because the options take a duration, and so that an idle node (between workloads) does stop spinning.
     */
    static final Duration BUSY_POLL_SPIN = Duration.ofSeconds(1);

    /**
     * The settings of a run: the spins given on the command line (null: not given); in busy-poll mode the others
     * are {@link #BUSY_POLL_SPIN}, so that Baton waits the way the busy-polling floor does.
     */
    static BatonSettings forRun(Duration ioSpin, Duration callerSpin, boolean busyPoll, boolean metrics) {
        Duration spin = busyPoll ? BUSY_POLL_SPIN : null;
        return new BatonSettings(ioSpin != null ? ioSpin : spin, callerSpin != null ? callerSpin : spin, 0, 0, metrics);
    }

    /** These settings with {@code lanes} per peer and {@code ioThreads} loops (0: the default). */
    BatonSettings withLanes(int lanes, int ioThreads) {
        return new BatonSettings(ioSpin, callerSpin, lanes, ioThreads, metrics);
    }

    NodeOptions.Builder apply(NodeOptions.Builder b) {
        if (ioSpin != null) {
            b.ioSpin(ioSpin);
        }
        if (callerSpin != null) {
            b.callerSpin(callerSpin);
        }
        if (lanes > 0) {
            b.lanes(lanes);
        }
        if (ioThreads > 0) {
            b.ioThreads(ioThreads);
        }
        return b;
    }

    /** As passed to a child JVM: nanoseconds, -1 for the default. */
    String toArgs() {
        return (ioSpin == null ? -1 : ioSpin.toNanos()) + " " + (callerSpin == null ? -1 : callerSpin.toNanos()) + " "
                + lanes + " " + ioThreads;
    }

    static BatonSettings fromArgs(String ioSpinNs, String callerSpinNs, String lanes, String ioThreads) {
        long io = Long.parseLong(ioSpinNs);
        long caller = Long.parseLong(callerSpinNs);
        return new BatonSettings(io < 0 ? null : Duration.ofNanos(io), caller < 0 ? null : Duration.ofNanos(caller),
                Integer.parseInt(lanes), Integer.parseInt(ioThreads), false);
    }

    /** The effective values, e.g. {@code lanes=1 ioThreads=1 ioSpin=0 callerSpin=50 µs}. */
    String describe() {
        NodeOptions o = effective();
        return "lanes=" + o.lanes() + " ioThreads=" + o.ioThreads() + " ioSpin=" + Format.duration(o.ioSpin())
                + " callerSpin=" + Format.duration(o.callerSpin()) + (metrics ? " metrics=bound (client)" : "");
    }

    /** The effective values for the JSON document. */
    JsonObject toJson() {
        NodeOptions o = effective();
        JsonObject m = new JsonObject();
        m.addProperty("lanes", o.lanes());
        m.addProperty("io_threads", o.ioThreads());
        m.addProperty("io_spin_ns", o.ioSpin().toNanos());
        m.addProperty("caller_spin_ns", o.callerSpin().toNanos());
        m.addProperty("node_options_defaults", ioSpin == null && callerSpin == null && lanes == 0 && ioThreads == 0);
        m.addProperty("client_metrics_bound", metrics);
        return m;
    }

    private NodeOptions effective() {
        return apply(NodeOptions.builder().master("127.0.0.1:1")).build();
    }
}
