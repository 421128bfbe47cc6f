package dev.baton.internal.rpc;

import dev.baton.Authorizer;
import dev.baton.Caller;
import dev.baton.Status;
import dev.baton.spi.LogLimiter;

/**
 * The node's {@link Authorizer} at the door of its servers: asked for each call before interceptors and handler see
 * it; a denial answers the call with PERMISSION_DENIED (not marked refused: another server of the service would
 * deny it too). Also asked before the node answers a tool's question on its data port ({@link #observeRefusal}).
 * Denials of both are logged once per caller and minute, on one count. A node without an authorizer has none of
 * this, and its servers pay one null check per call, its questions one per question.
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
        logDenial("a call", caller, why);
        call.failFromHandler(Status.of(Status.Code.PERMISSION_DENIED, why));
        return false;
    }

    /**
     * Why {@code caller} may not see {@code what} of this node ({@code described}: "read the node's status"), or
     * null when it may. An authorizer that throws refuses, and is logged as an error.
     */
    String observeRefusal(Caller caller, Authorizer.Observation what, String described) {
        Authorizer.Decision d;
        try {
            d = authorizer.authorizeObserve(caller, what);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "the authorizer failed on a question (" + what + ") of "
                    + caller.describe(), e);
            d = Authorizer.Decision.deny("the authorizer failed: " + e);
        }
        if (d != null && d.allowed()) {
            return null;
        }
        String why = caller.describe() + " may not " + described + ": "
                + (d == null ? "the authorizer gave no decision" : d.reason());
        logDenial("a question", caller, why);
        return why;
    }

    private void logDenial(String what, Caller caller, String why) {
        long held = denials.admit(caller.nodeId());
        if (held >= 0) {
            LOG.log(System.Logger.Level.WARNING, "denied {0}: {1}{2}", what, why,
                    held == 0 ? "" : " (and " + held + " more denials of that caller since the last report)");
        }
    }
}
