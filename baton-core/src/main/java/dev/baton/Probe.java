package dev.baton;

import dev.baton.spi.BatonProvider;
import dev.baton.spi.TransportFactory;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * Asks a master or a node about itself, as a tool: over connections of its own, in the tool role, so it joins
 * nothing, takes no rank and causes no membership event. What {@code bin/baton status}, {@code bin/baton health}
 * and the status page use; for health checks of orchestrators and for monitoring scripts.
 *
 * <pre>{@code
 * try (Probe probe = Probe.tcp()) {
 *     Membership m = probe.membership(master, Duration.ofSeconds(2));
 *     for (NodeInfo n : m.nodes()) {
 *         NodeStatus s = probe.nodeStatus(n.address(), Duration.ofSeconds(2));
 *         System.out.println(n.rank() + " " + s.stats().callsStarted());
 *     }
 * }
 * }</pre>
 *
 * <p>A probe has one I/O thread (started on the first question) and keeps one connection per process it asked
 * open for the next question, until that process hangs up or the probe is closed.
 *
 * <p>In a cluster with a {@link dev.baton.spi.ClusterSecret cluster secret}, give the probe the secret too:
 * {@code Probe.over(TransportFactory.tcp().withClusterSecret(secret))}; without it, every question fails with
 * UNAUTHENTICATED.
 *
 * <p>Every method blocks at most its timeout and throws {@link BatonException}: UNAVAILABLE when the target
 * cannot be reached or hangs up, UNAUTHENTICATED when it or the probe has a cluster secret the other lacks (or a
 * different one), DEADLINE_EXCEEDED when it does not answer in time, NO_SUCH_METHOD when it is
 * not the kind of process the question is for (a node status from a master), PERMISSION_DENIED when the
 * {@link Authorizer} of the master or node asked refuses the question ({@link Authorizer#authorizeObserve}: a node
 * is asked {@link Authorizer.Observation#HEALTH HEALTH}, {@link Authorizer.Observation#NODE_STATUS NODE_STATUS} and
 * {@link Authorizer.Observation#MEMBERSHIP MEMBERSHIP} for its view), with a message that names the probe (an
 * unranked tool) and what it may not see.
 * Thread-safe.
 */
public interface Probe extends AutoCloseable {

    /** A probe over Baton's TCP transport. */
    static Probe tcp() {
        return over(BatonProvider.get().tcpTransport());
    }

    /** A probe whose connections {@code transport} makes (the cluster's, e.g. when it needs TLS). */
    static Probe over(TransportFactory transport) {
        return BatonProvider.get().probe(transport);
    }

    /** Whether the master or node at {@code target} is serving. */
    Health health(InetSocketAddress target, Duration timeout);

    /** The status of the node whose data port is {@code node} (its address in the membership). */
    NodeStatus nodeStatus(InetSocketAddress node, Duration timeout);

    /**
     * The membership as the master at {@code target} has it now, or as the node at {@code target} sees it (with a
     * ZooKeeper registry there is no master: ask any node).
     */
    Membership membership(InetSocketAddress target, Duration timeout);

    /** The master's lease ages: how long since it last heard from each node, by rank (see {@link Master#leaseAges}). */
    java.util.SortedMap<Integer, Duration> leaseAges(InetSocketAddress master, Duration timeout);

    /** Closes its connections and stops its thread; questions asked after fail with CLOSED. Idempotent. */
    @Override
    void close();
}
