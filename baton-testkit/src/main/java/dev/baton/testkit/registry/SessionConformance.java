package dev.baton.testkit.registry;

import dev.baton.BatonException;
import dev.baton.Coordination;
import dev.baton.Coordination.DistributedLock;
import dev.baton.MembershipEvent;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.NodeOptions;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sessions (the master's lease): a node that stops renewing is removed, its coordination state released, and
 * it comes back once it reaches the registry again. Uses the fixture's {@link RegistryUnderTest#cutOff} and
 * {@link RegistryUnderTest#sessionExpiry()}; see {@link RegistryConformanceTest} for what is pinned.
 */
@SuppressWarnings("try")     // try-with-resources holds cut-offs and watches open; bodies need not name them
abstract class SessionConformance extends ConformanceBase {

    SessionConformance(Supplier<RegistryUnderTest> starter) {
        super(starter);
    }

    @Test
    void aNodeThatStopsRenewingIsRemovedEverywhereServersFirstWithinTheSessionExpiry() throws Exception {
        Member a = members.join("a");
        Member b = members.join("b");
        Member lost = members.join("lost");
        Set<ServerInfo> servers = Set.of(lost.register("p", -1), lost.register("p", -1));
        for (Member m : List.of(a, b)) {
            m.recorder().awaitView("sees the servers", v -> Set.copyOf(v.serversOn(lost.rank())).equals(servers),
                    CONVERGE);
        }
        int markA = a.recorder().mark();
        int markB = b.recorder().mark();
        long t0 = System.nanoTime();
        try (AutoCloseable cut = fixture.cutOff(lost.registry())) {
            for (Member m : List.of(a, b)) {
                List<MembershipEvent> events = m.recorder().awaitEventsSince(m == a ? markA : markB, 3,
                        left(t0, fixture.sessionExpiry()));
                assertEquals(servers.stream().map(MembershipConformance::removed).collect(Collectors.toSet()),
                        Set.copyOf(MembershipConformance.changes(events.subList(0, 2))), m.name() + ": servers first");
                assertEquals(MembershipConformance.left(lost.self()), MembershipConformance.change(events.get(2)));
                assertEquals(List.of(a.self(), b.self()), m.view().nodes(), m.name() + ": the others stay");
            }
        }
        a.recorder().assertContractKept();
        b.recorder().assertContractKept();
    }

    @Test
    void idleNodesThatRenewKeepTheirSessions() {
        Member a = members.join("a");
        Member b = members.join("b");
        List<NodeInfo> both = List.of(a.self(), b.self());
        a.recorder().awaitView("sees b", v -> v.nodes().equals(both), CONVERGE);
        int mark = a.recorder().mark();
        // Silent longer than a node that does not renew would last: renewing is the registry client's job.
        Await.holds("both stay members", () -> a.view().nodes().equals(both) && b.view().nodes().equals(both),
                fixture.sessionExpiry().plusMillis(500), () -> a.view() + " / " + b.view());
        assertEquals(List.of(), a.recorder().eventsSince(mark), "a was told of no change");
    }

    @Test
    void aNodeThatWasCutOffJoinsAgainWithItsRankAndServersOnceItReachesTheRegistry() throws Exception {
        Member a = members.join("a");
        Member back = members.join("back");
        Set<ServerInfo> servers = Set.of(back.register("p", -1), back.register("p", -1), back.register("q", 9));
        a.recorder().awaitView("sees the servers", v -> Set.copyOf(v.serversOn(back.rank())).equals(servers), CONVERGE);
        try (AutoCloseable cut = fixture.cutOff(back.registry())) {
            a.recorder().awaitView("no longer sees the node", v -> v.node(back.rank()).isEmpty(),
                    fixture.sessionExpiry());
        }
        for (Member m : List.of(a, back)) {
            m.recorder().awaitView("sees the node back with its rank and servers",
                    v -> v.nodes().equals(List.of(a.self(), back.self()))
                            && Set.copyOf(v.serversOn(back.rank())).equals(servers), CONVERGE);
            m.recorder().assertContractKept();
        }
        for (NodeInfo self : back.recorder().rejoins()) {
            assertEquals(back.self(), self, "onRejoined tells the node it has its old rank");
        }
    }

    /**
     * Only the registry lost the node: its data connections are fine, so the calls it makes meanwhile must all
     * succeed. The server's node hears that the caller left while the caller keeps sending on the connection
     * they share, and must not drop requests that are on their way.
     */
    @Test
    void callsOfANodeCutOffFromTheRegistryKeepSucceedingWhileTheOthersThinkItLeft() throws Exception {
        callsKeepSucceedingWhileCutOff(members.options("caller").build());
    }

    /**
     * The same over a connection that speaks protocol version 4, where the server's node sends no GOAWAY (a real
     * version-4 node would read any GOAWAY as "this node is leaving") and leaves the connection to the caller and
     * the keepalive: the calls go on. The caller here runs this code, so it would also survive a GOAWAY; that none is
     * sent is not checked here.
     */
    @Test
    void callsOfAVersion4NodeCutOffFromTheRegistryKeepSucceeding() throws Exception {
        TransportFactory version4 = ctx -> TransportFactory.tcp().create(new TransportContext(ctx.name(), ctx.nodeId(),
                ctx.role(), ctx.rank(), ctx.handler(), ctx.settings().toBuilder().protocolVersion(4).build()));
        callsKeepSucceedingWhileCutOff(members.options("caller").transport(version4).build());
    }

    private void callsKeepSucceedingWhileCutOff(NodeOptions callerOptions) throws Exception {
        Node server = members.node("server");
        Node caller = members.node(callerOptions);
        echo(server, "e").start();
        dev.baton.Client client = caller.client("e");
        client.awaitServers(1, CONVERGE);
        java.util.concurrent.atomic.LongAdder ok = new java.util.concurrent.atomic.LongAdder();
        java.util.Queue<String> failures = new java.util.concurrent.ConcurrentLinkedQueue<>();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            for (int t = 0; t < 2; t++) {
                pool.submit(() -> {
                    byte[] request = bytes("ping");
                    for (int i = 0; i < 10_000_000 && !stop.get(); i++) {
                        try {
                            client.call(ECHO, request);
                            ok.increment();
                        } catch (BatonException e) {
                            failures.add(e.toString());
                        }
                    }
                });
            }
            try {
                Await.until("calls flow", () -> ok.sum() > 100, CONVERGE);
                try (AutoCloseable cut = fixture.cutOff(members.registryOf(caller))) {
                    Await.until("the server's node no longer sees the caller",
                            () -> server.membership().node(caller.rank()).isEmpty(), fixture.sessionExpiry());
                    long seen = ok.sum();
                    Await.until("calls go on after that", () -> ok.sum() > seen + 500, CONVERGE);
                }
                Await.until("the caller is back", () -> server.membership().node(caller.rank()).isPresent(),
                        CONVERGE);
                long back = ok.sum();
                Await.until("calls go on after it came back", () -> ok.sum() > back + 500, CONVERGE);
            } finally {
                stop.set(true);
            }
        }
        assertEquals(List.of(), List.copyOf(failures), ok.sum() + " calls succeeded");
    }

    @Test
    void aLockOfANodeThatLosesItsSessionPassesToTheNextWaiterWithALargerFencingToken() throws Exception {
        Node holder = members.node("holder");
        Node other = members.node("other");
        DistributedLock held = holder.coordination().lock("L");
        held.lock(LONG);
        long token = held.fencingToken();
        DistributedLock wanted = other.coordination().lock("L");
        assertFalse(wanted.tryLock());
        long t0 = System.nanoTime();
        try (AutoCloseable cut = fixture.cutOff(members.registryOf(holder))) {
            wanted.lock(fixture.sessionExpiry());
            long ms = Await.msSince(t0);
            assertTrue(wanted.isHeldByCurrentThread());
            assertTrue(ms <= fixture.sessionExpiry().plus(TIMEOUT_SLACK).toMillis(), "granted after " + ms + " ms");
            assertTrue(wanted.fencingToken() > token, wanted.fencingToken() + " > " + token);
            assertTrue(held.isHeldByCurrentThread(), "the old holder's hold is local: it stays until unlock");
            wanted.unlock();
            // Never silently: once its node knows its session ended, the old holder's token is refused.
            AtomicReference<BatonException> told = new AtomicReference<>();
            Await.until("the old holder is told that its lock is lost", () -> {
                try {
                    held.fencingToken();
                    return false;
                } catch (BatonException e) {
                    told.set(e);
                    return true;
                }
            }, fixture.sessionExpiry().multipliedBy(2).minusNanos(System.nanoTime() - t0));
            assertEquals(Status.Code.UNAVAILABLE, told.get().code(), told.get().toString());
        }
        held.unlock();      // never throws for a registry failure
        assertFalse(held.isHeldByCurrentThread());
    }

    @Test
    void aBarrierArrivalOfANodeThatLosesItsSessionIsWithdrawnAndItsWaitFailsWithUnavailable() throws Exception {
        Node lost = members.node("lost");
        Node b = members.node("b");
        Node c = members.node("c");
        try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Future<Status.Code> waiting = pool.submit(() -> outcome(() -> lost.coordination().barrier("w", 2, LONG)));
            BarrierConformance.awaitRoundOf(c.coordination(), "w", 2);
            long t0 = System.nanoTime();
            try (AutoCloseable cut = fixture.cutOff(members.registryOf(lost))) {
                assertEquals(Status.Code.UNAVAILABLE, waiting.get(left(t0, fixture.sessionExpiry().plus(TIMEOUT_SLACK))
                        .toMillis(), TimeUnit.MILLISECONDS));
                Await.until("the arrival is withdrawn", () -> BarrierConformance.roundIsEmpty(c.coordination(), "w", 2),
                        left(t0, fixture.sessionExpiry()));
            }
        }
        BarrierConformance.openTogether(b.coordination(), c.coordination(), "w");
    }

    @Test
    void aLockWaitOfANodeThatLosesItsSessionFailsWithUnavailableAndIsNeverGranted() throws Exception {
        Node holder = members.node("holder");
        Node lost = members.node("lost");
        Node third = members.node("third");
        DistributedLock held = holder.coordination().lock("L");
        held.lock(LONG);
        try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Coordination co = lost.coordination();
            Future<Status.Code> waiting = startWaiting(pool, "the lock wait is in progress",
                    () -> outcome(() -> co.lock("L").lock(LONG)));
            long t0 = System.nanoTime();
            try (AutoCloseable cut = fixture.cutOff(members.registryOf(lost))) {
                assertEquals(Status.Code.UNAVAILABLE, waiting.get(left(t0, fixture.sessionExpiry().plus(TIMEOUT_SLACK))
                        .toMillis(), TimeUnit.MILLISECONDS));
            }
        }
        held.unlock();
        DistributedLock free = third.coordination().lock("L");
        assertTrue(free.tryLock(), "the lock went to nobody");
        free.unlock();
    }

    /** What is left of {@code budget} since {@code startNs}; never negative. */
    private static Duration left(long startNs, Duration budget) {
        Duration rest = budget.minusNanos(System.nanoTime() - startNs);
        return rest.isNegative() ? Duration.ZERO : rest;
    }
}
