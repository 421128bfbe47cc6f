package dev.baton.testkit.registry;

import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import dev.baton.spi.Registry;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Observers (tools) follow the cluster without joining it; see {@link RegistryConformanceTest}. */
abstract class ObserverConformance extends ConformanceBase {

    ObserverConformance(Supplier<RegistryUnderTest> starter) {
        super(starter);
    }

    /** A registry from the factory, observing. */
    private MembershipRecorder observe(String name) {
        Registry r = members.create(name);
        MembershipRecorder recorder = new MembershipRecorder(name);
        r.observe(name, ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, recorder, Member.CALL_TIMEOUT);
        return recorder;
    }

    @Test
    void anObserverSeesEveryoneAndNobodySeesIt() {
        Member a = members.join("a");
        ServerInfo s = a.register("svc", -1);
        MembershipRecorder tool = observe("tool");
        assertEquals(1, tool.snapshots().size(), "observe delivers a snapshot before it returns");
        assertEquals(List.of(a.self()), tool.snapshots().getFirst().nodes(), "the observer is not in it");
        assertEquals(List.of(s), tool.snapshots().getFirst().servers("svc"));

        int mark = a.recorder().mark();
        Member b = members.join("b");
        assertEquals(1, b.rank(), "the observer took no rank");
        tool.awaitView("sees the node that joined after it", v -> v.nodes().equals(List.of(a.self(), b.self())),
                CONVERGE);
        a.recorder().awaitEventsSince(mark, 1, CONVERGE);
        assertEquals(List.of(b.self()), a.recorder().eventsSince(mark).stream()
                .map(e -> ((dev.baton.MembershipEvent.NodeJoined) e).node()).toList(),
                "members were told of b alone, never of the observer");
        b.close();
        tool.awaitView("sees the node that left", v -> v.nodes().equals(List.of(a.self())), CONVERGE);
        tool.assertContractKept();
        a.recorder().assertContractKept();
    }

    @Test
    void anObserverNodeCallsAndCoordinatesWithoutARank() throws InterruptedException {
        Node server = members.node("server");
        echo(server, "echo").start();
        Node tool = Node.observe(members.options("tool").build());
        try {
            assertEquals(-1, tool.rank());
            assertNull(tool.address());
            tool.client("echo").awaitServers(1, CONVERGE);
            assertEquals("hi", new String(tool.client("echo").call(ECHO, bytes("hi")), StandardCharsets.UTF_8));
            assertEquals(0, tool.coordination().nextId("observer-ids"));
            assertEquals(List.of(server.rank()), server.membership().nodes().stream().map(NodeInfo::rank).toList());
        } finally {
            tool.close();
        }
        assertEquals(1, members.node("after").rank(), "the next node's rank is not taken by the observer");
    }

    @Test
    void anObserverKeepsFollowingWhenTheRegistryComesBack() {
        Member a = members.join("a");
        MembershipRecorder tool = observe("tool");
        fixture.stop();
        fixture.start();
        Member b = Await.available("b joins the registry that came back", () -> members.join("b"), CONVERGE);
        tool.awaitView("sees the node that joined after the registry came back",
                v -> v.nodes().stream().anyMatch(n -> n.nodeId() == b.self().nodeId()), CONVERGE);
        assertTrue(tool.view().nodes().stream().noneMatch(n -> n.name().equals("tool")),
                "the observer is still in no membership");
        a.close();
    }
}
