package dev.baton;

import java.util.Objects;

/**
 * Which callers may do what: a policy a master is given to restrict who joins, who serves which service, who
 * coordinates on which name and which tools may ask it what ({@link MasterOptions.Builder#authorizer}), and a node is
 * given to restrict who calls which method of its servers and which tools may ask it what
 * ({@link NodeOptions.Builder#authorizer}). Every method allows by default; override the ones that matter. Without
 * an authorizer (the default) nothing is checked and nothing is paid.
 *
 * <p>What each decision refuses, the caller sees as PERMISSION_DENIED, with a message that says what was refused,
 * to whom, and the policy's reason:
 * <ul>
 *   <li>{@link #authorizeJoin}: on the master, before a node joins (its {@code Node.join} throws).</li>
 *   <li>{@link #authorizeServe}: on the master, before a server of the service is registered (its
 *       {@code Server.Builder.start} throws), and for each server a node brings back when it joins again (left
 *       out, and logged, when refused).</li>
 *   <li>{@link #authorizeCoordination}: on the master, before a lock, barrier, key/value or id request of a node's or
 *       observer's {@link Coordination} is acted on (the method throws; nothing was taken, waited for or
 *       changed).</li>
 *   <li>{@link #authorizeObserve}: on the master, before it lets an observer follow the membership
 *       ({@code Node.observe} throws) or answers a tool's question ({@link Probe} throws); on a node, before it
 *       answers a question asked on its data port: its health, status or view of the membership ({@link Probe}
 *       throws).</li>
 *   <li>{@link #authorizeCall}: on the node that serves the call, before any interceptor and the handler see it
 *       (streams included, in-process calls too), after the node checked that the server and method exist. A
 *       refused call did not run; it is not retried elsewhere (other servers of the service would likely refuse
 *       too).</li>
 * </ul>
 * Refusals are logged once per caller and minute, not once per call or request.
 *
 * <p>Called on the thread that dispatches a call (an I/O thread, or the caller's for an in-process call), on the
 * I/O thread that read a question to a node, and on the master's I/O thread (everything the master asks), never
 * under a Baton lock: it must be quick and must not block. Thread-safe: one instance decides for many threads at
 * once. An exception it throws refuses, as INTERNAL for calls and PERMISSION_DENIED for everything else, and is
 * logged.
 *
 * <pre>{@code
 * Authorizer onlyProved = new Authorizer() {
 *     public Decision authorizeCall(Caller caller, String service, int method) {
 *         return caller.provedClusterSecret() || caller.inProcess() ? Decision.ALLOW
 *                 : Decision.deny("only members of the cluster may call");
 *     }
 * };
 * }</pre>
 */
public interface Authorizer {

    /** Whether {@code caller}, a node, may join the membership (on the master). */
    default Decision authorizeJoin(Caller caller) {
        return Decision.ALLOW;
    }

    /** Whether {@code caller}, a joined node, may register a server of {@code service} (on the master). */
    default Decision authorizeServe(Caller caller, String service) {
        return Decision.ALLOW;
    }

    /** Whether {@code caller} may call method {@code method} of {@code service} (on the serving node). */
    default Decision authorizeCall(Caller caller, String service, int method) {
        return Decision.ALLOW;
    }

    /**
     * Whether {@code caller}, a node or an observer, may {@code action} on {@code name} (on the master): the lock's,
     * barrier's or id sequence's name, the key read or written, or the prefix of the keys a watch follows. Asked for
     * every such request of every connection, joined nodes' included, before the master acts on it: a refused
     * {@code lock}, {@code tryLock} or {@code barrier} throws at once and leaves no waiter behind; a refused
     * {@code watch} is not registered. Releasing what one holds is never asked about, so it works whatever the
     * policy became meanwhile: unlocking, withdrawing a lock request, leaving a barrier, closing a watch. A watch's
     * name is a prefix, and it sees every key that starts with it: a policy that keeps a caller from reading the keys
     * under {@code "secret/"} refuses it READ of the prefixes that cover them too ({@code ""}, {@code "sec"}:
     * {@code "secret/".startsWith(name)}). Only with the master as the registry: with ZooKeeper's, coordination
     * goes to the ensemble, and its ACLs govern it.
     *
     * <pre>{@code
     * public Decision authorizeCoordination(Caller caller, CoordinationAction action, String name) {
     *     return name.startsWith("admin/") && caller.rank() != 0 ? Decision.deny("admin/ is rank 0's")
     *             : Decision.ALLOW;
     * }
     * }</pre>
     */
    default Decision authorizeCoordination(Caller caller, CoordinationAction action, String name) {
        return Decision.ALLOW;
    }

    /**
     * Whether {@code caller} may see {@code what} of the process asked: the master, or the node that was given this
     * authorizer.
     *
     * <p>On the master: asked of observers ({@code Node.observe} throws when refused
     * {@link Observation#FOLLOW_MEMBERSHIP}) and tools (the {@link Probe} method, or {@code bin/baton status}, throws),
     * whatever role their handshake claims. Not asked on a connection that already follows the membership, a joined
     * node's ({@link #authorizeJoin} decided) or an admitted observer's, when it fetches the
     * {@link Observation#MEMBERSHIP} again to catch up after a gap in its events: a policy that refuses tools never
     * cuts a member or an admitted observer off its own view. Anything else is asked whoever asks, members included
     * (their runtime asks nothing else).
     *
     * <p>On a node: asked before it answers a question on its data port, {@link Observation#HEALTH},
     * {@link Observation#NODE_STATUS} or {@link Observation#MEMBERSHIP} (its view), whoever asks and whatever role
     * its handshake claims: the cluster's runtime never asks a node these (nodes call each other's servers, which
     * {@link #authorizeCall} decides), so a policy that refuses tools cuts no node off anything.
     */
    default Decision authorizeObserve(Caller caller, Observation what) {
        return Decision.ALLOW;
    }

    /** What a coordination request does, as {@link #authorizeCoordination} is asked about it. */
    enum CoordinationAction {
        /** Take a lock: {@code DistributedLock.lock} and {@code tryLock}; the name is the lock's. */
        LOCK,
        /** Wait at a barrier: {@code Coordination.barrier}; the name is the barrier's. */
        BARRIER,
        /** Read a key ({@code get}; the name is the key) or watch keys ({@code watch}; the name is the prefix). */
        READ,
        /** Write a key: {@code put} and {@code delete}; the name is the key. */
        WRITE,
        /** Take the next id of a sequence: {@code nextId}; the name is the sequence's key. */
        NEXT_ID
    }

    /**
     * What a tool or observer asks the master or a node to see, as {@link #authorizeObserve} is asked about it. The
     * master asks about all but {@link #NODE_STATUS}; a node about {@link #MEMBERSHIP}, {@link #HEALTH} and
     * {@link #NODE_STATUS}.
     */
    enum Observation {
        /** Follow the membership: its snapshot, then every change as it happens ({@code Node.observe}; the master). */
        FOLLOW_MEMBERSHIP,
        /**
         * The membership once: nodes and servers. On the master, the membership it keeps ({@code Probe.membership},
         * {@code bin/baton status}); on a node, the node's view of it ({@code Probe.membership} of a node's address,
         * the way to see the membership with a ZooKeeper registry).
         */
        MEMBERSHIP,
        /** How long ago the master last heard from each node ({@code Probe.leaseAges}; the master). */
        LEASE_AGES,
        /**
         * Whether the process asked, the master or a node, is up and not shutting down ({@code Probe.health},
         * {@code bin/baton health}).
         */
        HEALTH,
        /**
         * A node's status: who it is (rank, name, address, host), how long it has run and its counters
         * ({@link NodeStats}: calls, failures by status code, latency, paths to its peers; {@code Probe.nodeStatus},
         * {@code bin/baton status} for each node, the status page; a node).
         */
        NODE_STATUS
    }

    /** An authorizer's answer: allowed, or denied with a reason. Immutable. */
    final class Decision {

        /** Allowed. */
        public static final Decision ALLOW = new Decision(null);

        private final String reason;

        private Decision(String reason) {
            this.reason = reason;
        }

        /** Denied, for {@code reason}: what the caller reads after what was refused. */
        public static Decision deny(String reason) {
            return new Decision(Objects.requireNonNull(reason, "reason"));
        }

        public boolean allowed() {
            return reason == null;
        }

        /** Why it was denied; null when allowed. */
        public String reason() {
            return reason;
        }

        @Override
        public String toString() {
            return reason == null ? "ALLOW" : "DENY(" + reason + ")";
        }
    }
}
