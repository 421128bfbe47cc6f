package dev.baton;

import java.util.Objects;

/**
 * Which callers may do what: a policy a master is given to restrict who joins and who serves which service
 * ({@link MasterOptions.Builder#authorizer}), and a node is given to restrict who calls which method of its servers
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
 *   <li>{@link #authorizeCall}: on the node that serves the call, before any interceptor and the handler see it
 *       (streams included, in-process calls too), after the node checked that the server and method exist. A
 *       refused call did not run; it is not retried elsewhere (other servers of the service would likely refuse
 *       too).</li>
 * </ul>
 * Refusals are logged once per caller and minute, not once per call.
 *
 * <p>Called on the thread that dispatches a call (an I/O thread, or the caller's for an in-process call) and on the
 * master's I/O thread (joins, registrations), never under a Baton lock: it must be quick and must not block. Thread-safe: one instance decides for many threads at once. An exception it
 * throws refuses, as INTERNAL for calls, and is logged.
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
