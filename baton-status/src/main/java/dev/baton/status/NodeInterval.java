package dev.baton.status;

import dev.baton.LatencyHistogram;
import dev.baton.NodeStats;
import dev.baton.NodeStatus;

/**
 * A node's figures between two of its statuses: its counters only grow, so the interval's are the later minus
 * the earlier. When there is no earlier status of the same node incarnation (it is new, or restarted), the
 * interval is empty ({@link #seconds()} 0, no rates) and the latency is since the node started.
 *
 * @param seconds           the interval's length, from the node's own uptime; 0 when there is none
 * @param callsPerSecond    calls the node's clients started
 * @param requestsPerSecond requests that arrived for the node's servers
 * @param failuresPerSecond calls of the node's clients that failed
 * @param latency           the latencies timed in the interval (or since start, when there is none)
 */
public record NodeInterval(double seconds, double callsPerSecond, double requestsPerSecond, double failuresPerSecond,
                           LatencyHistogram latency) {

    /** The interval from {@code before} (may be null) to {@code now}. */
    public static NodeInterval between(NodeStatus now, NodeStatus before) {
        if (before == null || before.node().nodeId() != now.node().nodeId()) {
            return new NodeInterval(0, 0, 0, 0, now.stats().callLatency());
        }
        double s = (now.uptime().toMillis() - before.uptime().toMillis()) / 1000.0;
        if (s <= 0) {
            return new NodeInterval(0, 0, 0, 0, now.stats().callLatency());
        }
        NodeStats a = now.stats();
        NodeStats b = before.stats();
        return new NodeInterval(s, Math.max(0, a.callsStarted() - b.callsStarted()) / s,
                Math.max(0, a.requestsReceived() - b.requestsReceived()) / s,
                Math.max(0, a.callsFailed() - b.callsFailed()) / s, a.callLatency().minus(b.callLatency()));
    }

    /** Whether there was an earlier status to measure from. */
    public boolean hasRates() {
        return seconds > 0;
    }
}
