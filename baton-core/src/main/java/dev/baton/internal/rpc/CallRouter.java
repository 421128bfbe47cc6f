package dev.baton.internal.rpc;

import dev.baton.CallOptions;
import dev.baton.Membership;
import dev.baton.ServerInfo;
import dev.baton.Status;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;

/**
 * Picks the server a call goes to. Pure: a function of the membership, the call's options, which ranks are
 * reachable now, and the service's round-robin cursor (the only state it moves). The sender calls
 * {@link #route}; when that finds nothing, {@link #noRoute} says why.
 *
 * <ul>
 *   <li>{@code serverId >= 0}: that server.</li>
 *   <li>{@code rank >= 0}: the service's server on that node with the lowest id.</li>
 *   <li>Neither: round robin from the cursor, over servers whose rank is this node or reachable; a re-routed
 *       call skips the rank it just failed on unless the service has only that one (or, after a refusal,
 *       always: that server would refuse again).</li>
 * </ul>
 * A server on this node is one more entry in the round robin, not preferred.
 */
final class CallRouter {

    private CallRouter() {
    }

    /**
     * The server to call, or null (then {@link #noRoute} says why).
     *
     * @param avoidRank   the rank the call's last attempt went to (-1 for a first attempt)
     * @param strictAvoid never choose {@code avoidRank}, even when it is the only choice
     * @param selfRank    this node's rank: always reachable (in process)
     * @param reachable   whether a remote rank may be called now (not backing off, not leaving)
     */
    static ServerInfo route(Membership m, String service, CallOptions o, int avoidRank, boolean strictAvoid,
                            int selfRank, IntPredicate reachable, AtomicInteger cursor) {
        List<ServerInfo> servers = m.servers(service);
        if (o.serverId() >= 0) {
            for (int i = 0; i < servers.size(); i++) {
                if (servers.get(i).serverId() == o.serverId()) {
                    return servers.get(i);
                }
            }
            return null;
        }
        if (o.rank() >= 0) {
            for (int i = 0; i < servers.size(); i++) {
                if (servers.get(i).rank() == o.rank()) {
                    return servers.get(i);
                }
            }
            return null;
        }
        int n = servers.size();
        if (n == 0) {
            return null;
        }
        int start = n == 1 ? 0 : cursor.getAndIncrement();      // one server: no shared counter to bump
        for (int i = 0; i < n; i++) {
            ServerInfo s = servers.get(Math.floorMod(start + i, n));
            if (s.rank() == avoidRank && (n > 1 || strictAvoid)) {
                continue;
            }
            if (s.rank() == selfRank || reachable.test(s.rank())) {
                return s;
            }
        }
        return null;
    }

    /** Why {@link #route} found no server for the same arguments. Every such failure is retry-safe: nothing was sent. */
    static Status noRoute(Membership m, String service, CallOptions o) {
        List<ServerInfo> servers = m.servers(service);
        if (servers.isEmpty() && o.rank() < 0) {
            return Status.of(Status.Code.NO_SUCH_SERVICE, "no server of service '" + service + "' is known")
                    .withRetrySafe(true);
        }
        if (o.serverId() >= 0) {
            return Status.of(Status.Code.NO_SUCH_SERVER, "service '" + service + "' has no server " + o.serverId())
                    .withRetrySafe(true);
        }
        if (o.rank() >= 0) {
            return Status.of(Status.Code.NO_SUCH_RANK, m.node(o.rank()).isEmpty() ? "no node has rank " + o.rank()
                    : "rank " + o.rank() + " serves no '" + service + "'").withRetrySafe(true);
        }
        return Status.of(Status.Code.UNAVAILABLE, "no reachable server of '" + service + "' (" + servers.size()
                + " known, all failing)").withRetrySafe(true);
    }
}
