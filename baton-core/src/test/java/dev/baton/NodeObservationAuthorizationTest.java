package dev.baton;

import dev.baton.Authorizer.Decision;
import dev.baton.Authorizer.Observation;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.logging.Level;
import java.util.logging.SimpleFormatter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A node's authorizer asked before it answers a question on its data port (its health, status and view of the
 * membership: what {@link Probe} asks a node), with a real master and nodes on loopback: a refusal reaches the tool
 * as PERMISSION_DENIED naming who and what, the cluster's own traffic is never asked about it, and the master (no
 * authorizer here) still answers.
 */
@Timeout(60)
class NodeObservationAuthorizationTest {

    private static final String AUTHORIZATION_LOG = "dev.baton.internal.rpc.CallAuthorization";

    private static final Duration T = Duration.ofSeconds(5);

    /** What a policy was asked: by whom and about what. */
    private record Asked(Caller.Role role, Observation what) {
    }

    /** A policy that lets nodes see anything and tools only what {@code toTools} allows, recording what it is asked. */
    private static Authorizer toolsMay(Predicate<Observation> toTools, List<Asked> asked) {
        return new Authorizer() {
            @Override
            public Decision authorizeObserve(Caller caller, Observation what) {
                asked.add(new Asked(caller.role(), what));
                return caller.role() != Caller.Role.TOOL || toTools.test(what) ? Decision.ALLOW
                        : Decision.deny("no tools here");
            }
        };
    }

    /** Refused with PERMISSION_DENIED, the message naming the caller (an unranked tool) and {@code what}. */
    private static BatonException assertDenied(Executable e, String what) {
        BatonException x = assertThrows(BatonException.class, e);
        assertEquals(Status.Code.PERMISSION_DENIED, x.code(), x.getMessage());
        assertTrue(x.getMessage().contains("an unranked tool (") && x.getMessage().contains("may not " + what),
                x.getMessage());
        return x;
    }

    @Test
    void aNodeRefusesToolsItsQuestionsWhileTheClusterGoesOn() throws Exception {
        List<Asked> asked = new CopyOnWriteArrayList<>();
        Authorizer noTools = toolsMay(what -> false, asked);
        try (Cluster c = new Cluster(); Probe probe = Probe.tcp()) {
            Node a = c.join(c.options("a").authorizer(noTools).build());
            Node b = c.join(c.options("b").authorizer(noTools).build());
            Cluster.startEcho(a, "echo-a");
            Cluster.startEcho(b, "echo-b");
            Client toA = b.client("echo-a");
            Client toB = a.client("echo-b");
            toA.awaitServers(1, T);
            toB.awaitServers(1, T);
            assertArrayEquals(new byte[]{1}, toA.call(Cluster.ECHO, new byte[]{1}));
            assertArrayEquals(new byte[]{2}, toB.call(Cluster.ECHO, new byte[]{2}));

            assertDenied(() -> probe.health(a.address(), T), "ask the node's health: no tools here");
            assertDenied(() -> probe.nodeStatus(a.address(), T), "read the node's status: no tools here");
            assertDenied(() -> probe.membership(b.address(), T),
                    "read the node's view of the membership: no tools here");
            assertEquals(List.of(new Asked(Caller.Role.TOOL, Observation.HEALTH),
                    new Asked(Caller.Role.TOOL, Observation.NODE_STATUS),
                    new Asked(Caller.Role.TOOL, Observation.MEMBERSHIP)), asked);

            // The cluster goes on: a third node joins, everyone sees it, calls go both ways.
            Node third = c.join("third");
            for (Node n : c.nodes) {
                Wait.until(() -> n.membership().nodes().size() == 3, T);
            }
            third.client("echo-a").awaitServers(1, T);
            assertArrayEquals(new byte[]{3}, third.client("echo-a").call(Cluster.ECHO, new byte[]{3}));
            assertArrayEquals(new byte[]{4}, toA.call(Cluster.ECHO, new byte[]{4}));
            assertArrayEquals(new byte[]{5}, toB.call(Cluster.ECHO, new byte[]{5}));
            assertEquals(3, asked.size(), "no node's runtime asks a node these questions: " + asked);
            // The master has no authorizer here; the node without one answers too.
            assertTrue(probe.health(c.master.address(), T).serving());
            assertEquals(3, probe.membership(c.master.address(), T).nodes().size());
            assertEquals(third.rank(), probe.nodeStatus(third.address(), T).node().rank());
        }
    }

    @Test
    void eachQuestionIsAskedApartAndAnAllowedOneIsAnswered() throws Exception {
        List<Asked> asked = new CopyOnWriteArrayList<>();
        Authorizer healthChecksOnly = toolsMay(what -> what == Observation.HEALTH, asked);
        List<Asked> askedToo = new CopyOnWriteArrayList<>();
        Authorizer anything = toolsMay(what -> true, askedToo);
        try (Cluster c = new Cluster(); Probe probe = Probe.tcp()) {
            Node guarded = c.join(c.options("guarded").authorizer(healthChecksOnly).build());
            Node open = c.join(c.options("open").authorizer(anything).build());
            Wait.until(() -> open.membership().nodes().size() == 2, T);

            assertTrue(probe.health(guarded.address(), T).serving());
            assertDenied(() -> probe.nodeStatus(guarded.address(), T), "read the node's status: no tools here");
            assertDenied(() -> probe.membership(guarded.address(), T),
                    "read the node's view of the membership: no tools here");
            assertEquals(List.of(Observation.HEALTH, Observation.NODE_STATUS, Observation.MEMBERSHIP),
                    asked.stream().map(Asked::what).toList());

            assertTrue(probe.health(open.address(), T).serving());
            NodeStatus s = probe.nodeStatus(open.address(), T);
            assertEquals(open.rank(), s.node().rank());
            assertEquals("open", s.node().name());
            assertEquals(2, probe.membership(open.address(), T).nodes().size());
            assertEquals(List.of(new Asked(Caller.Role.TOOL, Observation.HEALTH),
                    new Asked(Caller.Role.TOOL, Observation.NODE_STATUS),
                    new Asked(Caller.Role.TOOL, Observation.MEMBERSHIP)), askedToo);
        }
    }

    @Test
    void anAuthorizerThatThrowsRefusesAndIsLoggedAsAnError() throws Exception {
        Authorizer broken = new Authorizer() {
            @Override
            public Decision authorizeObserve(Caller caller, Observation what) {
                throw new IllegalStateException("policy store down");
            }
        };
        try (LogCapture errors = LogCapture.start(AUTHORIZATION_LOG, r -> r.getLevel() == Level.SEVERE);
             Cluster c = new Cluster(); Probe probe = Probe.tcp()) {
            Node server = c.join(c.options("server").authorizer(broken).build());
            Node caller = c.join("caller");
            Cluster.startEcho(server, "echo");
            BatonException e = assertDenied(() -> probe.nodeStatus(server.address(), T), "read the node's status");
            assertTrue(e.getMessage().contains("the authorizer failed") && e.getMessage().contains("policy store down"),
                    e.getMessage());
            assertDenied(() -> probe.health(server.address(), T), "ask the node's health");
            assertEquals(2, errors.records().size(), "each failure logged as an error: " + errors);
            assertTrue(errors.records().stream().allMatch(r -> r.getThrown() instanceof IllegalStateException));
            // Calls are another question, which this policy leaves at its default.
            Client echo = caller.client("echo");
            echo.awaitServers(1, T);
            assertArrayEquals(new byte[]{9}, echo.call(Cluster.ECHO, new byte[]{9}));
        }
    }

    @Test
    void refusalsAreLoggedOncePerCallerAndMinuteTogetherWithCalls() throws Exception {
        Authorizer nothing = new Authorizer() {
            @Override
            public Decision authorizeObserve(Caller caller, Observation what) {
                return Decision.deny("nothing to see");
            }

            @Override
            public Decision authorizeCall(Caller caller, String service, int method) {
                return caller.inProcess() ? Decision.ALLOW : Decision.deny("no calls");
            }
        };
        try (LogCapture warnings = LogCapture.start(AUTHORIZATION_LOG, r -> r.getLevel() == Level.WARNING);
             Cluster c = new Cluster(); Probe one = Probe.tcp(); Probe two = Probe.tcp()) {
            Node server = c.join(c.options("server").authorizer(nothing).build());
            Node caller = c.join("caller");
            Cluster.startEcho(server, "echo");
            Client echo = caller.client("echo");
            echo.awaitServers(1, T);
            for (int i = 0; i < 5; i++) {
                assertDenied(() -> one.health(server.address(), T), "ask the node's health: nothing to see");
                assertDenied(() -> one.nodeStatus(server.address(), T), "read the node's status: nothing to see");
                assertDenied(() -> two.membership(server.address(), T),
                        "read the node's view of the membership: nothing to see");
                BatonException e = assertThrows(BatonException.class, () -> echo.call(Cluster.ECHO, new byte[]{1}));
                assertEquals(Status.Code.PERMISSION_DENIED, e.code());
            }
            SimpleFormatter f = new SimpleFormatter();
            List<String> lines = warnings.records().stream().map(f::formatMessage).toList();
            assertEquals(3, lines.size(), "one line per caller (two probes, one node): " + lines);
            assertEquals(2, lines.stream().filter(l -> l.startsWith("denied a question: an unranked tool")).count(),
                    "" + lines);
            String callerId = "node " + Long.toHexString(caller.nodeId());
            assertEquals(1, lines.stream().filter(l -> l.startsWith("denied a call: ") && l.contains(callerId))
                    .count(), "" + lines);
        }
    }
}
