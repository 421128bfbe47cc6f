package dev.baton.testkit.registry;

import dev.baton.MembershipEvent;
import dev.baton.ServerInfo;
import dev.baton.Status;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Registering and removing servers; see {@link RegistryConformanceTest} for what is pinned. */
abstract class ServerConformance extends ConformanceBase {

    private static final Comparator<ServerInfo> BY_ID = Comparator.comparingInt(ServerInfo::serverId);

    ServerConformance(Supplier<RegistryUnderTest> starter) {
        super(starter);
    }

    @Test
    void chosenServerIdsCountFromZeroPerServiceAndServiceIdsAreTheSameEverywhere() {
        Member a = members.join("a");
        Member b = members.join("b");
        ServerInfo s0 = a.register("s", -1);
        ServerInfo s1 = b.register("s", -1);
        ServerInfo s2 = a.register("s", -1);
        ServerInfo t0 = b.register("t", -1);

        assertEquals(List.of(0, 1, 2, 0), List.of(s0.serverId(), s1.serverId(), s2.serverId(), t0.serverId()));
        assertEquals(List.of("s", "s", "s", "t"), List.of(s0.service(), s1.service(), s2.service(), t0.service()));
        assertEquals(List.of(a.rank(), b.rank(), a.rank(), b.rank()), List.of(s0.rank(), s1.rank(), s2.rank(), t0.rank()),
                "a server carries the rank of the node that registered it");
        assertEquals(List.of(s0.serviceId(), s0.serviceId()), List.of(s1.serviceId(), s2.serviceId()),
                "one id per service");
        assertNotEquals(s0.serviceId(), t0.serviceId(), "services have distinct ids");
        assertTrue(s0.serviceId() >= 1 && t0.serviceId() >= 1, "service id 0 is the control plane's");
        for (Member m : List.of(a, b)) {
            m.recorder().awaitView("lists every server, with the same ids",
                    v -> v.servers("s").equals(List.of(s0, s1, s2)) && v.servers("t").equals(List.of(t0)), CONVERGE);
            m.recorder().assertContractKept();
        }
    }

    @Test
    void chosenServerIdsAreUniqueWhenManyNodesRegisterAtOnce() throws Exception {
        int nodes = 4;
        int each = 10;
        List<Member> joined = new ArrayList<>();
        for (int i = 0; i < nodes; i++) {
            joined.add(members.join("n" + i));
        }
        CyclicBarrier start = new CyclicBarrier(nodes);
        List<Future<List<ServerInfo>>> registrations = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(nodes)) {
            for (Member m : joined) {
                registrations.add(pool.submit(() -> {
                    start.await(10, TimeUnit.SECONDS);
                    List<ServerInfo> mine = new ArrayList<>();
                    for (int i = 0; i < each; i++) {
                        mine.add(m.register("busy", -1));
                    }
                    return mine;
                }));
            }
        }
        List<ServerInfo> all = new ArrayList<>();
        for (Future<List<ServerInfo>> f : registrations) {
            all.addAll(f.get(0, TimeUnit.SECONDS));
        }
        assertEquals(nodes * each, all.stream().map(ServerInfo::serverId).distinct().count(), "ids: " + all);
        all.sort(BY_ID);
        for (Member m : joined) {
            m.recorder().awaitView("lists all " + all.size() + " servers", v -> v.servers("busy").equals(all), CONVERGE);
            m.recorder().assertContractKept();
        }
    }

    @Test
    void aRequestedServerIdIsHonouredWhenFreeAndAlreadyExistsWhenTaken() {
        Member a = members.join("a");
        Member b = members.join("b");
        ServerInfo five = a.register("svc", 5);
        assertEquals(5, five.serverId());
        assertFails(Status.Code.ALREADY_EXISTS, () -> b.register("svc", 5));
        assertFails(Status.Code.ALREADY_EXISTS, () -> a.register("svc", 5));
        List<ServerInfo> expected = new ArrayList<>(List.of(five));
        for (int i = 0; i < 7; i++) {
            ServerInfo chosen = b.register("svc", -1);
            assertNotEquals(5, chosen.serverId(), "the registry chose a taken id");
            expected.add(chosen);
        }
        expected.sort(BY_ID);
        assertEquals(8, expected.stream().map(ServerInfo::serverId).distinct().count(), "ids: " + expected);
        for (Member m : List.of(a, b)) {
            m.recorder().awaitView("lists the servers, and nothing of the refused registrations",
                    v -> v.servers("svc").equals(expected), CONVERGE);
            m.recorder().assertContractKept();
        }
    }

    @Test
    void deregistrationRemovesTheServerEverywhereAndItsIdIsNotChosenAgain() {
        Member a = members.join("a");
        Member b = members.join("b");
        ServerInfo s0 = a.register("d", -1);
        ServerInfo s1 = a.register("d", -1);
        b.recorder().awaitView("sees both servers", v -> v.servers("d").equals(List.of(s0, s1)), CONVERGE);
        int mark = b.recorder().mark();
        a.deregister(s0);
        for (Member m : List.of(a, b)) {
            m.recorder().awaitView("no longer lists the removed server", v -> v.servers("d").equals(List.of(s1)),
                    CONVERGE);
        }
        assertEquals(List.of(MembershipConformance.removed(s0)),
                MembershipConformance.changes(b.recorder().eventsSince(mark)), "b was told once");

        ServerInfo next = a.register("d", -1);
        assertFalse(Set.of(s0.serverId(), s1.serverId()).contains(next.serverId()),
                "a chosen id is never one used before: " + next);
        ServerInfo again = a.register("d", s0.serverId());
        assertEquals(s0, again, "a freed id can be requested again");
        for (Member m : List.of(a, b)) {
            m.recorder().awaitView("lists the servers", v -> new HashSet<>(v.servers("d")).equals(Set.of(s1, next, again)),
                    CONVERGE);
            m.recorder().assertContractKept();
        }
        List<MembershipEvent> events = b.recorder().eventsSince(mark);
        assertEquals(3, events.size(), "b's events: " + events);
    }

    @Test
    void badRegistrationsFailWithTypedErrorsAndChangeNothing() {
        Member a = members.join("a");
        Member b = members.join("b");
        assertFails(Status.Code.INVALID_ARGUMENT, () -> a.register("", -1));
        ServerInfo theirs = b.register("e", -1);
        assertFails(Status.Code.NO_SUCH_SERVER, () -> a.deregister(theirs));
        ServerInfo mine = a.register("e", -1);
        a.deregister(mine);
        assertFails(Status.Code.NO_SUCH_SERVER, () -> a.deregister(mine));

        ServerInfo marker = b.register("marker", -1);   // events are in order: once it is seen, all are
        for (Member m : List.of(a, b)) {
            m.recorder().awaitView("sees the marker", v -> v.servers("marker").equals(List.of(marker)), CONVERGE);
            assertEquals(List.of(theirs), m.view().servers("e"), m.name() + ": the other node's server stays");
            assertEquals(Set.of("e", "marker"), m.view().services());
            m.recorder().assertContractKept();
        }
    }
}
