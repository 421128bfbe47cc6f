package dev.baton.internal.master;

import dev.baton.Authorizer;
import dev.baton.Caller;
import dev.baton.NodeInfo;
import dev.baton.Status;
import dev.baton.internal.wire.ControlProtocol;
import dev.baton.internal.wire.WireReader;
import dev.baton.spi.LogLimiter;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.TransportConnection;

/**
 * The master's {@link Authorizer}: asked before a node joins, before a server is registered, before a coordination
 * request is acted on and before a tool's or observer's question is answered, outside the master's and its
 * coordination's locks (user code never runs under them). A denial is PERMISSION_DENIED to the asker, logged once per
 * node and minute. Without an authorizer every check returns at once, allocating nothing.
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

    /**
     * Throws PERMISSION_DENIED unless the caller on {@code c} may make the coordination request {@code method},
     * whose body {@code body} holds (read from a copy: {@code body} is left where it was). Releases (UNLOCK,
     * LEAVE_BARRIER, UNWATCH) are never refused; a name the request's own checks refuse is left to them.
     */
    void checkCoordination(TransportConnection c, int method, WireReader body) {
        if (authorizer == null) {
            return;
        }
        Authorizer.CoordinationAction action = switch (method) {
            case ControlProtocol.LOCK, ControlProtocol.TRY_LOCK -> Authorizer.CoordinationAction.LOCK;
            case ControlProtocol.BARRIER -> Authorizer.CoordinationAction.BARRIER;
            case ControlProtocol.KV_GET, ControlProtocol.WATCH -> Authorizer.CoordinationAction.READ;
            case ControlProtocol.KV_PUT, ControlProtocol.KV_DELETE -> Authorizer.CoordinationAction.WRITE;
            case ControlProtocol.NEXT_ID -> Authorizer.CoordinationAction.NEXT_ID;
            default -> null;
        };
        if (action == null) {
            return;
        }
        WireReader r = body.copy();
        if (method == ControlProtocol.WATCH) {
            r.getLong();        // the watch id comes before the prefix
        }
        String name = r.getString();
        if (name == null || name.length() > ControlProtocol.MAX_NAME_CHARS) {
            return;
        }
        String what = switch (method) {
            case ControlProtocol.LOCK, ControlProtocol.TRY_LOCK -> "take lock '";
            case ControlProtocol.BARRIER -> "wait at barrier '";
            case ControlProtocol.KV_GET -> "read key '";
            case ControlProtocol.WATCH -> "watch the keys under '";
            case ControlProtocol.KV_PUT -> "write key '";
            case ControlProtocol.KV_DELETE -> "delete key '";
            default -> "take an id of '";
        } + name + "'";
        Caller caller = caller(c);
        String refusal = refusal(caller, what, () -> authorizer.authorizeCoordination(caller, action, name));
        if (refusal != null) {
            throw Status.of(Status.Code.PERMISSION_DENIED, refusal).asException();
        }
    }

    /**
     * Throws PERMISSION_DENIED unless the caller on {@code c} may have the answer to {@code method} (SUBSCRIBE,
     * SNAPSHOT, LEASES, HEALTH). A SNAPSHOT on a connection that already follows the membership (joined or
     * subscribed: {@code c} has an attachment) is not asked: the runtime catches up with it after a gap.
     */
    void checkObserve(TransportConnection c, int method) {
        if (authorizer == null) {
            return;
        }
        Authorizer.Observation what;
        String described;
        switch (method) {
            case ControlProtocol.SUBSCRIBE -> {
                what = Authorizer.Observation.FOLLOW_MEMBERSHIP;
                described = "follow the membership";
            }
            case ControlProtocol.SNAPSHOT -> {
                if (c.attachment() != null) {
                    return;
                }
                what = Authorizer.Observation.MEMBERSHIP;
                described = "read the membership";
            }
            case ControlProtocol.LEASES -> {
                what = Authorizer.Observation.LEASE_AGES;
                described = "read the lease ages";
            }
            case ControlProtocol.HEALTH -> {
                what = Authorizer.Observation.HEALTH;
                described = "ask the master's health";
            }
            default -> {
                return;
            }
        }
        Caller caller = caller(c);
        String refusal = refusal(caller, described, () -> authorizer.authorizeObserve(caller, what));
        if (refusal != null) {
            throw Status.of(Status.Code.PERMISSION_DENIED, refusal).asException();
        }
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
