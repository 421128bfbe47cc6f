package dev.baton;

import dev.baton.spi.BatonProvider;

import java.net.InetSocketAddress;

/**
 * A process's membership in a Baton cluster (prpc's RpcService): it joins the registry (the master), gets a
 * global rank, keeps a live view of the membership, hosts servers and makes calls.
 *
 * <pre>{@code
 * try (Node node = Node.join(NodeOptions.builder().master(master.address()).build())) {
 *     node.newServer("echo").inline(0, call -> call.reply(call.request().buffer())).start();
 *     Client echo = node.client("echo");
 *     echo.awaitServers(1, Duration.ofSeconds(5));
 *     byte[] answer = echo.call(0, "hi".getBytes());
 * }
 * }</pre>
 *
 * <h2>Should be shared</h2>
 * One node per process is the norm (several are fine, e.g. in tests). Thread-safe.
 *
 * <h2>Shutdown</h2>
 * {@link #close()} leaves the membership first (other nodes stop choosing its servers), waits up to
 * {@link NodeOptions#drainTimeout()} for calls in flight (sending GOAWAY so peers send nothing new and hang up
 * once answered), then closes connections and stops its threads. Calls still pending then fail with CLOSED.
 * Idempotent.
 */
public interface Node extends AutoCloseable {

    /** Starts a node and joins the cluster; blocks until it has a rank (or throws {@link BatonException}). */
    static Node join(NodeOptions options) {
        return BatonProvider.get().join(options);
    }

    /**
     * Starts an <em>observer</em>: a node that follows the cluster's membership, makes calls and uses
     * coordination like any node, but does not join: it takes no rank ({@link #rank()} is -1), never appears in
     * the membership, causes no membership event, listens on no port ({@link #address()} is null) and serves
     * nothing ({@link #newServer} throws IllegalStateException). For tools and short-lived clients, so that
     * programs that loop over ranks 0..N-1 or size barriers by member count never see them.
     * Blocks until it has the membership (or throws {@link BatonException}: PERMISSION_DENIED when the master's
     * {@link Authorizer} refuses it {@link Authorizer.Observation#FOLLOW_MEMBERSHIP}).
     */
    static Node observe(NodeOptions options) {
        return BatonProvider.get().observe(options);
    }

    /** The global rank: 0, 1, 2, ... in join order; -1 for an observer. */
    int rank();

    /** This incarnation's random id. */
    long nodeId();

    /**
     * Where this node accepts connections, as other nodes are told: for a wildcard bind, this host's address
     * on the route to the master. Null for an observer.
     */
    InetSocketAddress address();

    /** The latest membership view. */
    Membership membership();

    /** Adds a listener for membership changes (called on the node's event thread). */
    void addMembershipListener(MembershipListener listener);

    void removeMembershipListener(MembershipListener listener);

    /**
     * Barriers, cluster-wide locks, unique ids and a small key/value context with watches, served by the
     * registry (the master). The same instance on every call. Its state lives in the registry: locks held by
     * this node are released when this node closes or loses its registry connection, and a master restarted
     * from nothing has forgotten every lock, barrier, id and value (see {@link Coordination}).
     */
    Coordination coordination();

    /** Starts configuring a server for {@code service}. */
    Server.Builder newServer(String service);

    /** A client for {@code service} (cheap; the same for every call). */
    Client client(String service);

    /** Counters since start. */
    NodeStats stats();

    /**
     * Sets the recorder told of every call this node's clients complete, for metrics (replacing any; null
     * removes it). See {@link dev.baton.spi.CallRecorder}.
     */
    void callRecorder(dev.baton.spi.CallRecorder recorder);

    /** The options the node runs with. */
    NodeOptions options();

    @Override
    void close();
}
