package dev.baton.testkit.registry;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.MembershipEvent.NodeJoined;
import dev.baton.MembershipEvent.NodeLeft;
import dev.baton.MembershipEvent.ServerAdded;
import dev.baton.MembershipEvent.ServerRemoved;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.Server;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.spi.Registry;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Joining, ranks, membership events and leaving; see {@link RegistryConformanceTest} for what is pinned. */
abstract class MembershipConformance extends ConformanceBase {

    MembershipConformance(Supplier<RegistryUnderTest> starter) {
        super(starter);
    }

    @Test
    void joinDeliversASnapshotContainingTheNodeBeforeItReturns() {
        Registry registry = members.create("a");
        MembershipRecorder recorder = new MembershipRecorder("a");
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", 7001);
        NodeInfo asked = new NodeInfo(-1, 42, address, "a", "test-host/mnt:[1]");
        NodeInfo self = registry.join(asked, recorder, Member.CALL_TIMEOUT);
        List<Membership> snapshots = recorder.snapshots();   // read at once: no waiting
        assertEquals(1, snapshots.size(), "snapshots delivered when join returned");
        assertEquals(asked.withRank(self.rank()), self, "join returns what the node said (its host too), with a rank");
        assertEquals(List.of(self), snapshots.getFirst().nodes());
        assertEquals(Set.of(), snapshots.getFirst().services());

        Member b = members.join("b");
        assertEquals(1, b.recorder().snapshots().size());
        assertEquals(List.of(self, b.self()), b.recorder().snapshots().getFirst().nodes(),
                "a later node's first snapshot has the earlier ones and itself");
        recorder.assertContractKept();
        b.recorder().assertContractKept();
    }

    @Test
    void ranksCountFromZeroInJoinOrder() {
        List<Member> joined = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            joined.add(members.join("n" + i));
            assertEquals(i, joined.get(i).rank(), "rank of the node that joined " + (i + 1) + "th");
        }
        List<NodeInfo> all = joined.stream().map(Member::self).toList();
        for (Member m : joined) {
            m.recorder().awaitView("sees all four nodes", v -> v.nodes().equals(all), CONVERGE);
            m.recorder().assertContractKept();
        }
    }

    @Test
    void nodesJoiningAtOnceGetDistinctRanksFromZeroToNMinusOne() throws Exception {
        int n = 6;
        CyclicBarrier start = new CyclicBarrier(n);
        List<Future<Member>> joins = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
            for (int i = 0; i < n; i++) {
                String name = "n" + i;
                joins.add(pool.submit(() -> {
                    start.await(10, TimeUnit.SECONDS);
                    return members.join(name);
                }));
            }
        }
        List<Member> joined = new ArrayList<>();
        for (Future<Member> f : joins) {
            joined.add(f.get(0, TimeUnit.SECONDS));
        }
        assertEquals(IntStream.range(0, n).boxed().collect(Collectors.toSet()),
                joined.stream().map(Member::rank).collect(Collectors.toSet()), "ranks are distinct and dense");
        List<NodeInfo> all = joined.stream().map(Member::self)
                .sorted((x, y) -> Integer.compare(x.rank(), y.rank())).toList();
        for (Member m : joined) {
            m.recorder().awaitView("sees every node", v -> v.nodes().equals(all), CONVERGE);
            m.recorder().assertContractKept();
        }
    }

    @Test
    void aNodeKeepsItsRankWhileOthersComeAndGoAndNoNewNodeTakesTheRankOfOneThatLeft() {
        Member a = members.join("a");
        Member b = members.join("b");
        Member c = members.join("c");
        b.close();
        Member d = members.join("d");
        assertFalse(Set.of(a.rank(), b.rank(), c.rank()).contains(d.rank()), "d got rank " + d.rank());
        List<NodeInfo> live = List.of(a.self(), c.self(), d.self());
        for (Member m : List.of(a, c, d)) {
            m.recorder().awaitView("sees a, c and d with their ranks", v -> v.nodes().equals(live), CONVERGE);
            m.recorder().assertContractKept();
        }
    }

    @Test
    void everyNodeSeesEveryChangeOnceInVersionOrderAndTheSameChangeAtTheSameVersion() {
        Member a = members.join("a");
        Member b = members.join("b");
        ServerInfo x0 = b.register("x", -1);
        ServerInfo x1 = b.register("x", -1);
        Member c = members.join("c");
        ServerInfo y = c.register("y", -1);
        b.deregister(x0);
        c.close();

        List<Object> expected = List.of(joined(b.self()), added(x0), added(x1), joined(c.self()), added(y),
                removed(x0), removed(y), left(c.self()));
        List<MembershipEvent> seenByA = a.recorder().awaitEventsSince(0, expected.size(), CONVERGE);
        assertEquals(expected, changes(seenByA), "a's events");
        // b hears of its own servers too, and of everything after its join.
        List<MembershipEvent> seenByB = b.recorder().awaitEventsSince(0, expected.size() - 1, CONVERGE);
        assertEquals(expected.subList(1, expected.size()), changes(seenByB), "b's events");

        Map<Long, MembershipEvent> byVersion = new HashMap<>();
        seenByA.forEach(e -> byVersion.put(e.version(), e));
        for (MembershipEvent e : seenByB) {
            assertEquals(byVersion.get(e.version()), e, "a and b were told different changes at v" + e.version());
        }
        a.recorder().assertContractKept();
        b.recorder().assertContractKept();
        c.recorder().assertContractKept();
    }

    @Test
    void aNodeThatLeavesHasItsServersRemovedThenItselfOnEveryOtherNode() {
        Member a = members.join("a");
        Member b = members.join("b");
        Member leaving = members.join("leaving");
        Set<ServerInfo> servers = Set.of(leaving.register("p", -1), leaving.register("p", -1),
                leaving.register("q", -1));
        for (Member m : List.of(a, b)) {
            m.recorder().awaitView("sees the leaving node's servers",
                    v -> Set.copyOf(v.serversOn(leaving.rank())).equals(servers), CONVERGE);
        }
        int markA = a.recorder().mark();
        int markB = b.recorder().mark();
        leaving.close();
        leaving.close();

        // close() does not promise that the registry has seen the departure when it returns (another node's
        // change may come first), so the marker is made once both have seen it. Versions are in order, so a
        // change after the marker shows that nothing else (no duplicate removal) came in between.
        for (Member m : List.of(a, b)) {
            m.recorder().awaitView("sees the node leave", v -> v.node(leaving.rank()).isEmpty(), CONVERGE);
        }
        ServerInfo marker = a.register("marker", -1);
        for (Member m : List.of(a, b)) {
            int mark = m == a ? markA : markB;
            List<MembershipEvent> events = m.recorder().awaitEventsSince(mark, 5, CONVERGE);
            assertEquals(5, events.size(), m.name() + " got " + events);
            assertEquals(servers.stream().map(MembershipConformance::removed).collect(Collectors.toSet()),
                    Set.copyOf(changes(events.subList(0, 3))), m.name() + ": each server removed once, first");
            assertEquals(left(leaving.self()), change(events.get(3)), m.name() + ": then the node");
            assertEquals(added(marker), change(events.get(4)));
            assertEquals(List.of(a.self(), b.self()), m.view().nodes());
            assertEquals(List.of(), m.view().serversOn(leaving.rank()));
            m.recorder().assertContractKept();
        }
    }

    @Test
    void joiningWhileTheRegistryIsAwayFailsWithUnavailable() {
        fixture.stop();
        Registry r = members.create("early");
        Duration timeout = Duration.ofSeconds(2);
        long t0 = System.nanoTime();
        BatonException e = assertFails(Status.Code.UNAVAILABLE, () -> r.join(new NodeInfo(-1, 7,
                new InetSocketAddress("127.0.0.1", 7002), "early"), new MembershipRecorder("early"), timeout));
        assertTrue(Await.msSince(t0) < timeout.plus(TIMEOUT_SLACK).toMillis(), "failed after " + Await.msSince(t0)
                + " ms: " + e);

        fixture.start();
        Member late = members.join("late");
        assertEquals(List.of(late.self()), late.view().nodes(), "the failed join left nothing behind");
    }

    @Test
    void nodesJoinThroughTheRegistryAndCallEachOthersServers() throws Exception {
        Node a = members.node("a");
        Node b = members.node("b");
        assertEquals(List.of(0, 1), List.of(a.rank(), b.rank()));
        Server s = echo(b, "echo").start();
        ServerInfo info = new ServerInfo("echo", s.serviceId(), s.serverId(), b.rank());
        Client client = a.client("echo");
        assertEquals(List.of(info), client.awaitServers(1, CONVERGE));
        assertArrayEquals(bytes("hi"), client.call(ECHO, bytes("hi")));
        for (Node n : List.of(a, b)) {
            Await.until(n + " sees both nodes at their addresses", () -> n.membership().nodes().stream()
                    .map(x -> x.rank() + "@" + x.address()).toList()
                    .equals(List.of(a.rank() + "@" + a.address(), b.rank() + "@" + b.address())), CONVERGE);
        }
        echo(a, "fixed").serverId(5).start();
        assertFails(Status.Code.ALREADY_EXISTS, () -> echo(b, "fixed").serverId(5).start());

        int bRank = b.rank();
        b.close();
        Await.until("a no longer sees b or its server", () -> a.membership().node(bRank).isEmpty()
                && a.membership().servers("echo").isEmpty(), CONVERGE, a::membership);
        assertEquals(List.of(a.rank()), a.membership().nodes().stream().map(NodeInfo::rank).toList());
    }

    // ------------------------------------------------------------------ events without their versions

    /** What an event changes, without its version: comparable across nodes and with expectations. */
    static Object change(MembershipEvent e) {
        return switch (e) {
            case NodeJoined j -> joined(j.node());
            case NodeLeft l -> left(l.node());
            case ServerAdded a -> added(a.server());
            case ServerRemoved r -> removed(r.server());
        };
    }

    static List<Object> changes(List<MembershipEvent> events) {
        return events.stream().map(MembershipConformance::change).toList();
    }

    static Object joined(NodeInfo n) {
        return List.of("NodeJoined", n);
    }

    static Object left(NodeInfo n) {
        return List.of("NodeLeft", n);
    }

    static Object added(ServerInfo s) {
        return List.of("ServerAdded", s);
    }

    static Object removed(ServerInfo s) {
        return List.of("ServerRemoved", s);
    }
}
