package dev.baton.internal.master;

import dev.baton.Authorizer;
import dev.baton.Caller;
import dev.baton.NodeInfo;
import dev.baton.Status;
import dev.baton.spi.LogLimiter;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.TransportConnection;

/**
 * The master's {@link Authorizer}: asked before a node joins and before a server is registered, outside the
 * master's lock (user code never runs under it). A denial is PERMISSION_DENIED to the node, logged once per node and
 * minute. Without an authorizer every check allows at once.
 *
 * <p>Thread-safe.
 */
final class MasterAuthorization {

    private static final System.Logger LOG = System.getLogger(MasterAuthorization.class.getName());
    private static final long LOG_INTERVAL_NS = 60_000_000_000L;

    private final Authorizer authorizer;
    private final LogLimiter denials = new LogLimiter(LOG_INTERVAL_NS);

    /** {@code authorizer} null: everything is allowed. */
    MasterAuthorization(Authorizer authorizer) {
        this.authorizer = authorizer;
    }

    /** Throws PERMISSION_DENIED unless the node on {@code c} may join. */
    void checkJoin(TransportConnection c) {
        if (authorizer == null) {
            return;
        }
        Caller caller = caller(c);
        String refusal = refusal(caller, "join the cluster", () -> authorizer.authorizeJoin(caller));
        if (refusal != null) {
            throw Status.of(Status.Code.PERMISSION_DENIED, refusal).asException();
        }
    }

    /**
     * Throws PERMISSION_DENIED unless the node on {@code c} may serve {@code service}. A connection that has not
     * joined, or an empty name, is left to the registration's own checks.
     */
    void checkServe(TransportConnection c, String service) {
        if (!(c.attachment() instanceof NodeInfo) || service == null || service.isEmpty()) {
            return;
        }
        String refusal = serveRefusal(c, service);
        if (refusal != null) {
            throw Status.of(Status.Code.PERMISSION_DENIED, refusal).asException();
        }
    }

    /** Why the node on {@code c} may not serve {@code service}, or null when it may. */
    String serveRefusal(TransportConnection c, String service) {
        if (authorizer == null) {
            return null;
        }
        Caller caller = caller(c);
        return refusal(caller, "serve '" + service + "'", () -> authorizer.authorizeServe(caller, service));
    }

    private String refusal(Caller caller, String what, java.util.function.Supplier<Authorizer.Decision> decide) {
        Authorizer.Decision d;
        try {
            d = decide.get();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "the master's authorizer failed on " + caller.describe(), e);
            d = Authorizer.Decision.deny("the authorizer failed: " + e);
        }
        if (d != null && d.allowed()) {
            return null;
        }
        String why = caller.describe() + " may not " + what + ": "
                + (d == null ? "the authorizer gave no decision" : d.reason());
        long held = denials.admit(caller.nodeId());
        if (held >= 0) {
            LOG.log(System.Logger.Level.WARNING, "denied: {0}{1}", why,
                    held == 0 ? "" : " (and " + held + " more denials of that node since the last report)");
        }
        return why;
    }

    /** The caller on {@code c}: its rank once joined, what its handshake said otherwise. */
    private static Caller caller(TransportConnection c) {
        PeerIdentity id = c.remoteIdentity();
        int rank = c.attachment() instanceof NodeInfo n ? n.rank() : id.rank();
        Caller.Role role = switch (id.role()) {
            case PeerIdentity.ROLE_NODE -> Caller.Role.NODE;
            case PeerIdentity.ROLE_MASTER -> Caller.Role.MASTER;
            default -> Caller.Role.TOOL;
        };
        return new Caller(id.nodeId(), rank, role, c.remoteAddress(), c.peerPrincipal(), id.provedClusterSecret(),
                false);
    }
}
