package dev.baton.status;

import dev.baton.BatonException;
import dev.baton.Membership;
import dev.baton.NodeInfo;
import dev.baton.NodeStatus;
import dev.baton.Probe;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The cluster at one moment: the membership, and each node's status asked from the node itself (all at once,
 * each within the timeout), or why it could not be had. Two samples make an interval: see
 * {@link StatusJson#nodes}.
 *
 * @param membership the membership the statuses were asked for
 * @param statuses   by rank, for the nodes that answered
 * @param failures   by rank, for the nodes that did not: the error's message
 * @param leaseAges  by rank, how long since the master last heard from each node ({@link dev.baton.Master#leaseAges});
 *                   empty when there is no master to ask (a ZooKeeper registry)
 * @param takenAtMs  when the sample was taken (wall clock, ms since the epoch)
 */
public record ClusterSample(Membership membership, Map<Integer, NodeStatus> statuses, Map<Integer, String> failures,
                            Map<Integer, Duration> leaseAges, long takenAtMs) {

    public ClusterSample {
        statuses = Collections.unmodifiableMap(new LinkedHashMap<>(statuses));
        failures = Collections.unmodifiableMap(new LinkedHashMap<>(failures));
        leaseAges = Collections.unmodifiableMap(new LinkedHashMap<>(leaseAges));
    }

    /**
     * Asks every node of {@code membership} for its status through {@code probe}, all at once (a virtual thread
     * each); returns when every node answered or failed, within about {@code timeout}. {@code leaseAges} are the
     * master's, taken with the membership (empty when unknown).
     */
    public static ClusterSample take(Membership membership, Map<Integer, Duration> leaseAges, Probe probe,
                                     Duration timeout) throws InterruptedException {
        long at = System.currentTimeMillis();
        List<NodeInfo> nodes = membership.nodes();
        Map<Integer, NodeStatus> statuses = new LinkedHashMap<>();
        Map<Integer, String> failures = new LinkedHashMap<>();
        try (ExecutorService askers = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<NodeStatus>> answers = new ArrayList<>();
            for (NodeInfo n : nodes) {
                answers.add(askers.submit(() -> probe.nodeStatus(n.address(), timeout)));
            }
            for (int i = 0; i < nodes.size(); i++) {
                int rank = nodes.get(i).rank();
                try {
                    statuses.put(rank, answers.get(i).get());
                } catch (ExecutionException e) {
                    failures.put(rank, e.getCause() instanceof BatonException b ? b.getMessage() : e.getCause().toString());
                }
            }
        }
        return new ClusterSample(membership, statuses, failures, leaseAges, at);
    }
}
