package dev.baton.internal.rpc;

import dev.baton.CallOptions;
import dev.baton.Membership;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import dev.baton.Status;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Routing on its own: a pure function of the membership, the options, reachability and the cursor. */
@Timeout(10)
class CallRouterTest {

    private static final int SELF = 0;
    private static final IntPredicate ALL_REACHABLE = rank -> true;

    /** Ranks 0, 1, 2; service "svc" has servers 0 on rank 0, 1 on rank 1, 2 on rank 2 and 3 on rank 2. */
    private static final Membership VIEW = Membership.of(7,
            List.of(node(0), node(1), node(2), node(3)),
            List.of(server(0, 0), server(1, 1), server(2, 2), server(3, 2)));

    private static NodeInfo node(int rank) {
        return new NodeInfo(rank, 100 + rank, new InetSocketAddress("127.0.0.1", 9000 + rank), "n" + rank);
    }

    private static ServerInfo server(int id, int rank) {
        return new ServerInfo("svc", 5, id, rank);
    }

    private static ServerInfo route(CallOptions o, int avoidRank, boolean strict, IntPredicate reachable, AtomicInteger cursor) {
        return CallRouter.route(VIEW, "svc", o, avoidRank, strict, SELF, reachable, cursor);
    }

    @Test
    void aServerIdPicksThatServerOrNone() {
        assertEquals(2, route(CallOptions.DEFAULT.withServerId(2), -1, false, ALL_REACHABLE, new AtomicInteger()).serverId());
        CallOptions missing = CallOptions.DEFAULT.withServerId(9);
        assertNull(route(missing, -1, false, ALL_REACHABLE, new AtomicInteger()));
        assertEquals(Status.Code.NO_SUCH_SERVER, CallRouter.noRoute(VIEW, "svc", missing).code());
    }

    @Test
    void aRankPicksItsServerWithTheLowestIdOrSaysWhyNot() {
        assertEquals(2, route(CallOptions.DEFAULT.withRank(2), -1, false, ALL_REACHABLE, new AtomicInteger()).serverId());
        CallOptions servesNothing = CallOptions.DEFAULT.withRank(3);
        assertNull(route(servesNothing, -1, false, ALL_REACHABLE, new AtomicInteger()));
        Status why = CallRouter.noRoute(VIEW, "svc", servesNothing);
        assertEquals(Status.Code.NO_SUCH_RANK, why.code());
        assertTrue(why.description().contains("serves no"), why.toString());
        assertEquals(Status.Code.NO_SUCH_RANK, CallRouter.noRoute(VIEW, "svc", CallOptions.DEFAULT.withRank(8)).code());
    }

    @Test
    void roundRobinVisitsEveryServerFromTheCursor() {
        AtomicInteger cursor = new AtomicInteger();
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            seen.add(route(CallOptions.DEFAULT, -1, false, ALL_REACHABLE, cursor).serverId());
        }
        assertEquals(Set.of(0, 1, 2, 3), seen);
        assertEquals(4, cursor.get(), "one step of the cursor per call");
    }

    @Test
    void unreachablePeersAreSkippedButThisNodeNeverIs() {
        IntPredicate none = rank -> false;
        for (int i = 0; i < 8; i++) {
            assertEquals(SELF, route(CallOptions.DEFAULT, -1, false, none, new AtomicInteger(i)).rank());
        }
    }

    @Test
    void aRerouteAvoidsTheFailedRankUnlessItServesAlone() {
        for (int i = 0; i < 8; i++) {
            assertTrue(route(CallOptions.DEFAULT, 2, false, ALL_REACHABLE, new AtomicInteger(i)).rank() != 2);
        }
        Membership alone = Membership.of(1, List.of(node(0), node(1)), List.of(server(0, 1)));
        assertEquals(1, CallRouter.route(alone, "svc", CallOptions.DEFAULT, 1, false, SELF, ALL_REACHABLE,
                new AtomicInteger()).rank(), "the only server is tried again after a failure");
        assertNull(CallRouter.route(alone, "svc", CallOptions.DEFAULT, 1, true, SELF, ALL_REACHABLE,
                new AtomicInteger()), "but never after a refusal");
    }

    @Test
    void noServerAtAllIsNoSuchServiceAndNoneReachableIsUnavailableBothRetrySafe() {
        Status none = CallRouter.noRoute(VIEW, "other", CallOptions.DEFAULT);
        assertEquals(Status.Code.NO_SUCH_SERVICE, none.code());
        assertTrue(none.retrySafe());
        Status unreachable = CallRouter.noRoute(VIEW, "svc", CallOptions.DEFAULT);
        assertEquals(Status.Code.UNAVAILABLE, unreachable.code());
        assertTrue(unreachable.retrySafe());
    }
}
