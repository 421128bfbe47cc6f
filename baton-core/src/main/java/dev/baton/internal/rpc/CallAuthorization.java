package dev.baton.internal.rpc;

import dev.baton.Authorizer;
import dev.baton.Caller;
import dev.baton.Status;
import dev.baton.spi.LogLimiter;

/**
 * The node's {@link Authorizer} at the door of its servers: asked for each call before interceptors and handler see
 * it; a denial answers the call with PERMISSION_DENIED (not marked refused: another server of the service would
 * deny it too) and is logged once per caller and minute. A node without an authorizer has none of this, and its
 * servers pay one null check per call.
 *
 * <p>Thread-safe.
 */
final class CallAuthorization {

    private static final System.Logger LOG = System.getLogger(CallAuthorization.class.getName());
    private static final long LOG_INTERVAL_NS = 60_000_000_000L;

    private final Authorizer authorizer;
    private final LogLimiter denials = new LogLimiter(LOG_INTERVAL_NS);

    CallAuthorization(Authorizer authorizer) {
        this.authorizer = authorizer;
    }

    /** True when the authorizer allows {@code call}; otherwise the call is answered with the denial. */
    boolean admit(ServerCallImpl call, String service) {
        Caller caller = call.caller();
        int method = call.method();
        Authorizer.Decision d;
        try {
            d = authorizer.authorizeCall(caller, service, method);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "the authorizer failed on a call of method " + method + " of '"
                    + service + "' by " + caller.describe(), e);
            call.failFromHandler(Status.of(Status.Code.INTERNAL, "the authorizer of '" + service + "' failed: " + e));
            return false;
        }
        if (d != null && d.allowed()) {
            return true;
        }
        String why = caller.describe() + " may not call method " + method + " of '" + service + "': "
                + (d == null ? "the authorizer gave no decision" : d.reason());
        long held = denials.admit(caller.nodeId());
        if (held >= 0) {
            LOG.log(System.Logger.Level.WARNING, "denied a call: {0}{1}", why,
                    held == 0 ? "" : " (and " + held + " more denials of that caller since the last report)");
        }
        call.failFromHandler(Status.of(Status.Code.PERMISSION_DENIED, why));
        return false;
    }
}
