package dev.baton;

import java.time.Duration;
import java.util.Objects;

/**
 * What a node says about itself when a tool asks ({@link Probe#nodeStatus}): who it is, how long it has run,
 * and its counters.
 *
 * @param node   the node as the membership knows it (rank -1 for a node that has not joined, or an observer)
 * @param uptime since the node started
 * @param stats  its counters, as {@link Node#stats()} gives them in its own process
 */
public record NodeStatus(NodeInfo node, Duration uptime, NodeStats stats) {

    public NodeStatus {
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(uptime, "uptime");
        Objects.requireNonNull(stats, "stats");
    }
}
