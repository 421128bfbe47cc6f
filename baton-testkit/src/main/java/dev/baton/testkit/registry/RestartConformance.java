package dev.baton.testkit.registry;

import dev.baton.Client;
import dev.baton.Coordination;
import dev.baton.Membership;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.Server;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.spi.HostIdentity;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The registry goes away and comes back ({@link RegistryUnderTest#stop()}, {@link RegistryUnderTest#start()});
 * see {@link RegistryConformanceTest} for what is pinned.
 */
@SuppressWarnings("try")     // try-with-resources holds cut-offs and watches open; bodies need not name them
abstract class RestartConformance extends ConformanceBase {

    private static final int CALLS = 20;

    RestartConformance(Supplier<RegistryUnderTest> starter) {
        super(starter);
    }

    @Test
    void nodesKeepCallingEachOtherWhileTheRegistryIsAwayAndRejoinWithTheirRanksAndServers() throws Exception {
        Node a = members.node("a");
        Node b = members.node("b");
        Node caller = members.node("caller");
        List<Node> nodes = List.of(a, b, caller);
        ServerInfo echo0 = info(echo(a, "echo").start(), a);
        ServerInfo echo7 = info(echo(b, "echo").serverId(7).start(), b);
        ServerInfo other = info(echo(b, "other").start(), b);
        Client client = caller.client("echo");
        assertEquals(List.of(echo0, echo7), client.awaitServers(2, CONVERGE));
        caller.client("other").awaitServers(1, CONVERGE);
        List<Integer> ranks = nodes.stream().map(Node::rank).toList();

        fixture.stop();
        callEachServer(client, echo0, echo7);
        assertEquals(List.of(echo0, echo7), caller.client("echo").servers(),
                "a client made while the registry is away sees the last membership");

        fixture.start();
        // A node is back once it can register again; calls go on meanwhile.
        for (Node n : nodes) {
            Await.available(n + " registers again", () -> echo(n, "late").start(), CONVERGE);
            callEachServer(client, echo0, echo7);
        }
        assertEquals(ranks, nodes.stream().map(Node::rank).toList(), "ranks after the registry came back");

        // What the registry knows now, as a newcomer's first snapshot shows it.
        Membership known = members.join("newcomer").recorder().snapshots().getFirst();
        List<NodeInfo> old = nodes.stream().map(n -> new NodeInfo(n.rank(), n.nodeId(), n.address(), n.options().name(),
                        HostIdentity.current()))
                .toList();
        assertEquals(old, known.nodes().subList(0, 3), "every node is back, as it was");
        assertEquals(List.of(echo0, echo7), known.servers("echo"), "servers are back with their service and server ids");
        assertEquals(List.of(other), known.servers("other"));
        assertEquals(3, known.servers("late").size());
        for (Node n : nodes) {
            Await.until(n + "'s view converges on the registry's",
                    () -> n.membership().nodes().equals(known.nodes())
                            && known.services().stream().allMatch(s -> n.membership().servers(s).equals(known.servers(s))),
                    CONVERGE, () -> n.membership() + " vs " + known);
        }
        callEachServer(client, echo0, echo7);
    }

    @Test
    void aServiceFirstRegisteredAfterARestartNeverTakesTheIdOfOneWhoseNodeIsNotBackYet() throws Exception {
        Node a = members.node("a");
        Node b = members.node("b");
        Node caller = members.node("caller");
        ServerInfo echo = info(echo(a, "echo").start(), a);
        ServerInfo old = info(replying(b, "old"), b);
        caller.client("old").awaitServers(1, CONVERGE);

        try (AutoCloseable cut = fixture.cutOff(members.registryOf(b))) {     // b stays away while a comes back
            fixture.stop();
            fixture.start();
            Server fresh = Await.available("a registers a new service", () -> replying(a, "fresh"), CONVERGE);
            assertEquals(echo.serviceId(), Await.available("a is back", () -> echo(a, "echo").start(), CONVERGE)
                    .serviceId(), "a's own service kept its id");
            assertTrue(fresh.serviceId() != old.serviceId(), "the new service took the id of b's " + old);
        }
        Await.available("b is back", () -> replying(b, "late"), CONVERGE);
        Membership known = members.join("newcomer").recorder().snapshots().getFirst();
        assertEquals(List.of(old), known.servers("old"), "b's service came back with its id");
        for (String service : List.of("old", "fresh", "late")) {
            Client client = caller.client(service);
            Await.until("the caller sees " + service + " as the registry does",
                    () -> client.servers().equals(known.servers(service)), CONVERGE);
            for (ServerInfo s : known.servers(service)) {
                assertArrayEquals(bytes(service), client.withOptions(client.options().withServerId(s.serverId()))
                        .call(ECHO, new byte[0]), "answered by the right server");
            }
        }
    }

    @Test
    void listenersSeeTheMembershipConvergeAfterTheRegistryComesBack() {
        List<Member> all = List.of(members.join("a"), members.join("b"), members.join("c"));
        ServerInfo bx = all.get(1).register("x", -1);
        ServerInfo by = all.get(1).register("y", 3);
        ServerInfo cx = all.get(2).register("x", -1);
        List<NodeInfo> nodes = all.stream().map(Member::self).toList();
        for (Member m : all) {
            m.recorder().awaitView("sees everything", v -> v.nodes().equals(nodes)
                    && v.servers("x").equals(List.of(bx, cx)), CONVERGE);
        }

        fixture.stop();
        fixture.start();
        List<ServerInfo> after = new ArrayList<>();
        for (Member m : all) {
            after.add(Await.available(m.name() + " registers again", () -> m.register("after", -1), CONVERGE));
        }
        for (Member m : all) {
            m.recorder().awaitView("converges: the same nodes, ranks and servers", v -> v.nodes().equals(nodes)
                    && v.servers("x").equals(List.of(bx, cx)) && v.servers("y").equals(List.of(by))
                    && Set.copyOf(v.servers("after")).equals(Set.copyOf(after)), CONVERGE);
            m.recorder().assertContractKept();
            for (NodeInfo self : m.recorder().rejoins()) {
                assertEquals(m.self(), self, "onRejoined tells the node it has its old rank");
            }
        }
    }

    @Test
    void registryCallsFailWithUnavailableWhileTheRegistryIsAway() throws Exception {
        Member member = members.join("member");
        ServerInfo registered = member.register("svc", -1);
        Coordination co = members.node("node").coordination();
        Coordination prober = members.node("prober").coordination();
        co.put("k", bytes("v"));
        try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
            Future<Status.Code> waiting = pool.submit(() -> outcome(() -> co.barrier("never", 2, LONG)));
            BarrierConformance.awaitRoundOf(prober, "never", 2);

            fixture.stop();
            assertEquals(Status.Code.UNAVAILABLE, waiting.get(CONVERGE.toMillis(), TimeUnit.MILLISECONDS),
                    "a barrier wait when the registry goes away");
        }
        long bound = Member.CALL_TIMEOUT.plus(TIMEOUT_SLACK).toMillis();
        Duration wait = Duration.ofSeconds(1);
        List<Action> calls = List.of(
                () -> member.register("svc", -1),
                () -> co.nextId("i"),
                () -> co.put("k", bytes("w")),
                () -> co.get("k"),
                () -> co.delete("k"),
                () -> co.watch("k", (k, v) -> { }),
                () -> co.lock("L").tryLock(),
                () -> co.lock("L").lock(wait),
                () -> co.barrier("b", 2, wait),
                () -> member.deregister(registered));
        for (int i = 0; i < calls.size(); i++) {
            long t0 = System.nanoTime();
            assertEquals(Status.Code.UNAVAILABLE, outcome(calls.get(i)), "call " + i + " while the registry is away");
            assertTrue(Await.msSince(t0) < bound, "call " + i + " took " + Await.msSince(t0) + " ms");
        }

        fixture.start();
        ServerInfo back = Await.available("registers again", () -> member.register("svc2", -1), CONVERGE);
        assertEquals("svc2", back.service());
        assertEquals(Boolean.TRUE, Await.available("coordination works again", () -> {
            co.put("k2", bytes("v"));
            return co.get("k2").isPresent();
        }, CONVERGE));
    }

    @Test
    void aWatchRegisteredBeforeTheRegistryWentAwayReportsChangesMadeAfterItCameBack() throws Exception {
        Coordination writer = members.node("writer").coordination();
        Coordination reader = members.node("reader").coordination();
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        reader.watch("k/", (k, v) -> seen.add(k));
        writer.put("k/before", bytes("1"));
        assertEquals("k/before", seen.poll(CONVERGE.toMillis(), TimeUnit.MILLISECONDS));

        fixture.stop();
        fixture.start();
        // Until both nodes are back, a put may fail (UNAVAILABLE) or go unseen; once the reader sees one, its
        // watch is back.
        long end = System.nanoTime() + CONVERGE.toNanos();
        String got = null;
        for (int i = 0; got == null && System.nanoTime() - end < 0; i++) {
            String key = "k/after" + i;
            Status.Code put = outcome(() -> writer.put(key, bytes("2")));
            assertTrue(put == Status.Code.OK || put == Status.Code.UNAVAILABLE, "put: " + put);
            got = seen.poll(100, TimeUnit.MILLISECONDS);
        }
        assertTrue(got != null && got.startsWith("k/after"), "the watch is not back: " + got);
    }

    // ------------------------------------------------------------------ helpers

    /** A server of {@code service} on {@code node} that answers every request with the service's name. */
    private static Server replying(Node node, String service) {
        byte[] name = bytes(service);
        return node.newServer(service).inline(ECHO, call -> call.reply(name)).start();
    }

    private static ServerInfo info(Server s, Node host) {
        return new ServerInfo(s.service(), s.serviceId(), s.serverId(), host.rank());
    }

    /** {@link #CALLS} echo calls to each server, addressed by id: all must succeed. */
    private static void callEachServer(Client client, ServerInfo... servers) {
        for (ServerInfo s : servers) {
            for (int i = 0; i < CALLS; i++) {
                byte[] request = bytes("call " + i + " to " + s.serverId());
                try (Message m = client.call(ECHO, ByteBuffer.wrap(request),
                        client.options().withServerId(s.serverId()))) {
                    assertArrayEquals(request, m.toByteArray());
                }
            }
        }
    }
}
