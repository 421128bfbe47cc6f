package dev.baton;

import dev.baton.Authorizer.CoordinationAction;
import dev.baton.Authorizer.Decision;
import dev.baton.Authorizer.Observation;
import dev.baton.internal.registry.ControlClient;
import dev.baton.internal.wire.ControlProtocol;
import dev.baton.internal.wire.WireWriter;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.TransportFactory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.SimpleFormatter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The master's authorizer asked about coordination (locks, barriers, keys, ids) and about what tools and observers
 * see, with a real master and nodes on loopback: a refusal reaches the caller as PERMISSION_DENIED naming who, what
 * and why, leaves nothing behind on the master, and never cuts the cluster's own nodes off their membership.
 */
@Timeout(60)
class CoordinationAuthorizationTest {

    private static final String AUTHORIZATION_LOG = "dev.baton.internal.master.MasterAuthorization";

    private static final Duration T = Duration.ofSeconds(5);

    /** A master with {@code authorizer} and {@code n} nodes (ranks 0..n-1), closed in reverse order. */
    private static final class Setup implements AutoCloseable {
        final Master master;
        final List<Node> nodes = new ArrayList<>();

        Setup(Authorizer authorizer, int n) {
            master = Master.start(MasterOptions.builder().port(0).authorizer(authorizer).build());
            try {
                for (int i = 0; i < n; i++) {
                    join();
                }
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        Node join() {
            Node node = Node.join(NodeOptions.builder().master(master.address()).name("node-" + nodes.size())
                    .joinTimeout(T).build());
            nodes.add(node);
            return node;
        }

        Coordination co(int rank) {
            return nodes.get(rank).coordination();
        }

        @Override
        public void close() {
            for (int i = nodes.size() - 1; i >= 0; i--) {
                nodes.get(i).close();
            }
            master.close();
        }
    }

    /**
     * Refused with PERMISSION_DENIED, the message naming the caller (its rank; -1: unranked) and {@code what} was
     * refused.
     */
    private static BatonException assertDenied(Executable e, int rank, String what) {
        BatonException x = assertThrows(BatonException.class, e);
        assertEquals(Status.Code.PERMISSION_DENIED, x.code(), x.getMessage());
        String who = rank >= 0 ? "rank " + rank + " (" : "an unranked ";
        assertTrue(x.getMessage().contains(who) && x.getMessage().contains("may not " + what), x.getMessage());
        return x;
    }

    @Test
    void aDeniedLockIsRefusedOnLockAndTryLockAndLeavesNoWaiter() throws Exception {
        Authorizer adminLocks = new Authorizer() {
            @Override
            public Decision authorizeCoordination(Caller caller, CoordinationAction action, String name) {
                return action == CoordinationAction.LOCK && name.startsWith("admin/") && caller.rank() != 0
                        ? Decision.deny("admin locks are rank 0's") : Decision.ALLOW;
            }
        };
        try (Setup s = new Setup(adminLocks, 2)) {
            Coordination.DistributedLock held = s.co(0).lock("admin/x");
            held.lock(T);
            try {
                Coordination.DistributedLock wanted = s.co(1).lock("admin/x");
                long start = System.nanoTime();
                assertDenied(() -> wanted.lock(Duration.ofSeconds(20)), 1,
                        "take lock 'admin/x': admin locks are rank 0's");
                assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "refused at once, not on timeout");
                assertDenied(wanted::tryLock, 1, "take lock 'admin/x': admin locks are rank 0's");
                assertFalse(wanted.isHeldByCurrentThread(), "a refused lock is not held locally either");
                CoordinationState.Lock state = s.master.coordinationState().locks().stream()
                        .filter(l -> l.name().equals("admin/x")).findFirst().orElseThrow();
                assertEquals(0, state.holderRank());
                assertEquals(0, state.waiting(), "the refused request left no waiter behind");
                // Another name is not refused.
                Coordination.DistributedLock jobs = s.co(1).lock("jobs/1");
                assertTrue(jobs.tryLock());
                jobs.unlock();
                jobs.lock(T);
                jobs.unlock();
            } finally {
                held.unlock();
            }
            assertTrue(s.master.coordinationState().locks().isEmpty(), "" + s.master.coordinationState().locks());
        }
    }

    @Test
    void readsAndWritesOfKeysAreAskedApart() throws Exception {
        Authorizer keys = new Authorizer() {
            @Override
            public Decision authorizeCoordination(Caller caller, CoordinationAction action, String name) {
                if (action == CoordinationAction.WRITE && name.startsWith("config/") && caller.rank() != 0) {
                    return Decision.deny("config is rank 0's to write");
                }
                if (action == CoordinationAction.READ && (name.startsWith("secret/") || "secret/".startsWith(name))) {
                    return Decision.deny("nobody reads secrets");
                }
                return Decision.ALLOW;
            }
        };
        try (Setup s = new Setup(keys, 2)) {
            byte[] v = "1".getBytes(StandardCharsets.UTF_8);
            List<String> seen = new CopyOnWriteArrayList<>();
            try (AutoCloseable watch = s.co(1).watch("config/", (key, value) -> seen.add(key))) {
                assertDenied(() -> s.co(1).put("config/a", v), 1, "write key 'config/a': config is rank 0's to write");
                assertEquals(Optional.empty(), s.co(1).get("config/a"), "the refused write changed nothing");
                s.co(0).put("config/a", v);
                assertArrayEquals(v, s.co(1).get("config/a").orElseThrow(), "rank 1 reads what it may not write");
                assertDenied(() -> s.co(1).delete("config/a"), 1, "delete key 'config/a'");
                assertTrue(s.co(1).get("config/a").isPresent(), "the refused delete changed nothing");
                Wait.until(() -> seen.equals(List.of("config/a")), T);
            }
            s.co(0).put("secret/k", v);
            assertDenied(() -> s.co(0).get("secret/k"), 0, "read key 'secret/k': nobody reads secrets");
            assertDenied(() -> s.co(1).watch("secret/", (key, value) -> { }), 1,
                    "watch the keys under 'secret/': nobody reads secrets");
            assertDenied(() -> s.co(1).watch("", (key, value) -> { }), 1, "watch the keys under ''");
            assertEquals(0, s.master.coordinationState().watches(), "refused watches are not registered");
        }
    }

    @Test
    void aRefusedBarrierArrivalDoesNotCountAndNextIdIsAsked() throws Exception {
        Authorizer rankOneWaitsNowhere = new Authorizer() {
            @Override
            public Decision authorizeCoordination(Caller caller, CoordinationAction action, String name) {
                if (action == CoordinationAction.BARRIER && caller.rank() == 1) {
                    return Decision.deny("rank 1 waits nowhere");
                }
                if (action == CoordinationAction.NEXT_ID && name.equals("tickets") && caller.rank() == 1) {
                    return Decision.deny("tickets are rank 0's");
                }
                return Decision.ALLOW;
            }
        };
        try (Setup s = new Setup(rankOneWaitsNowhere, 3)) {
            CompletableFuture<Void> first = CompletableFuture.runAsync(() -> {
                try {
                    s.co(0).barrier("gate", 2, Duration.ofSeconds(30));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            Wait.until(() -> s.master.coordinationState().barriers().stream()
                    .anyMatch(b -> b.name().equals("gate") && b.arrivedRanks().equals(List.of(0))), T);
            assertDenied(() -> s.co(1).barrier("gate", 2, Duration.ofSeconds(30)), 1,
                    "wait at barrier 'gate': rank 1 waits nowhere");
            assertEquals(List.of(0), s.master.coordinationState().barriers().get(0).arrivedRanks(),
                    "the refused arrival is not counted");
            assertFalse(first.isDone());
            s.co(2).barrier("gate", 2, T);      // the second party opens it
            first.get(10, TimeUnit.SECONDS);
            assertTrue(s.master.coordinationState().barriers().isEmpty());

            assertDenied(() -> s.co(1).nextId("tickets"), 1, "take an id of 'tickets': tickets are rank 0's");
            assertEquals(0, s.co(0).nextId("tickets"), "the refused request took no id");
            assertEquals(0, s.co(1).nextId("orders"), "another sequence is not refused");
        }
    }

    @Test
    void toolsAreRefusedWhatTheClusterKeepsSeeing() throws Exception {
        List<Caller> askedAboutNodes = new CopyOnWriteArrayList<>();
        Authorizer noTools = new Authorizer() {
            @Override
            public Decision authorizeObserve(Caller caller, Observation what) {
                if (caller.role() != Caller.Role.TOOL) {
                    askedAboutNodes.add(caller);
                }
                return caller.role() == Caller.Role.TOOL ? Decision.deny("no tools here") : Decision.ALLOW;
            }
        };
        try (Setup s = new Setup(noTools, 2); Probe probe = Probe.tcp()) {
            assertDenied(() -> Node.observe(NodeOptions.builder().master(s.master.address()).name("tool")
                    .joinTimeout(T).build()), -1, "follow the membership: no tools here");
            assertDenied(() -> probe.membership(s.master.address(), T), -1, "read the membership: no tools here");
            assertDenied(() -> probe.leaseAges(s.master.address(), T), -1, "read the lease ages: no tools here");
            assertDenied(() -> probe.health(s.master.address(), T), -1, "ask the master's health: no tools here");
            // The cluster goes on: a node joins, and every member sees it.
            Node third = s.join();
            assertEquals(2, third.rank());
            for (Node n : s.nodes) {
                Wait.until(() -> n.membership().nodes().size() == 3, T);
            }
            Cluster.startEcho(s.nodes.get(0), "echo");
            Client echo = third.client("echo");
            echo.awaitServers(1, T);
            assertArrayEquals(new byte[]{7}, echo.call(Cluster.ECHO, new byte[]{7}));
            assertEquals(List.of(), askedAboutNodes, "members are not asked about their own membership feed");
            // A node's data port is not the master: its authorizer (none here) decides there.
            assertTrue(probe.health(third.address(), T).serving());
        }
    }

    @Test
    void aConnectionThatFollowsTheMembershipMayCatchUpWhatOthersMayNotAsk() throws Exception {
        Authorizer followOnly = new Authorizer() {
            @Override
            public Decision authorizeObserve(Caller caller, Observation what) {
                return what == Observation.FOLLOW_MEMBERSHIP ? Decision.ALLOW : Decision.deny("follow, do not ask");
            }
        };
        try (Setup s = new Setup(followOnly, 1);
             ControlClient member = control(s.master, PeerIdentity.ROLE_NODE);
             ControlClient observer = control(s.master, PeerIdentity.ROLE_TOOL);
             ControlClient stranger = control(s.master, PeerIdentity.ROLE_TOOL)) {
            ByteBuffer join = new WireWriter().putLong(42).putInt(-1).putString("127.0.0.1").putInt(1)
                    .putString("raw").putString("").putInt(0).toBuffer();
            member.callSync(ControlProtocol.JOIN, join, T).close();
            observer.callSync(ControlProtocol.SUBSCRIBE, ByteBuffer.allocate(0), T).close();
            // What the runtime fetches after a gap in its events is not asked of those already following.
            member.callSync(ControlProtocol.SNAPSHOT, ByteBuffer.allocate(0), T).close();
            observer.callSync(ControlProtocol.SNAPSHOT, ByteBuffer.allocate(0), T).close();
            assertDenied(() -> stranger.callSync(ControlProtocol.SNAPSHOT, ByteBuffer.allocate(0), T), -1,
                    "read the membership: follow, do not ask");
            // Anything else is asked, members included.
            assertDenied(() -> member.callSync(ControlProtocol.LEASES, ByteBuffer.allocate(0), T), 1,
                    "read the lease ages");
        }
    }

    private static ControlClient control(Master master, int role) {
        ControlClient c = new ControlClient("raw", System.nanoTime(), role, () -> -1, master.address(),
                TransportFactory.tcp(), m -> m.close(), x -> { });
        c.awaitOpen(T);
        return c;
    }

    @Test
    void releasingIsNeverRefusedWhateverThePolicyBecame() throws Exception {
        AtomicBoolean locked = new AtomicBoolean();
        Authorizer switchable = new Authorizer() {
            @Override
            public Decision authorizeCoordination(Caller caller, CoordinationAction action, String name) {
                return locked.get() ? Decision.deny("locked down") : Decision.ALLOW;
            }
        };
        try (Setup s = new Setup(switchable, 2)) {
            Coordination.DistributedLock lock = s.co(0).lock("l");
            lock.lock(T);
            AutoCloseable watch = s.co(0).watch("k", (key, value) -> { });
            assertEquals(1, s.master.coordinationState().watches());
            locked.set(true);
            lock.unlock();
            watch.close();
            assertTrue(s.master.coordinationState().locks().isEmpty(), "the unlock reached the master");
            Wait.until(() -> s.master.coordinationState().watches() == 0, T);
            assertDenied(() -> s.co(1).lock("l").tryLock(), 1, "take lock 'l': locked down");
        }
    }

    @Test
    void anAuthorizerThatThrowsRefusesAndIsLoggedAsAnError() throws Exception {
        Authorizer broken = new Authorizer() {
            @Override
            public Decision authorizeCoordination(Caller caller, CoordinationAction action, String name) {
                throw new IllegalStateException("policy store down");
            }

            @Override
            public Decision authorizeObserve(Caller caller, Observation what) {
                throw new IllegalStateException("policy store down");
            }
        };
        try (LogCapture errors = LogCapture.start(AUTHORIZATION_LOG, r -> r.getLevel() == Level.SEVERE);
             Setup s = new Setup(broken, 1); Probe probe = Probe.tcp()) {
            BatonException e = assertDenied(() -> s.co(0).nextId("ids"), 0, "take an id of 'ids'");
            assertTrue(e.getMessage().contains("the authorizer failed") && e.getMessage().contains("policy store down"),
                    e.getMessage());
            e = assertThrows(BatonException.class, () -> probe.health(s.master.address(), T));
            assertEquals(Status.Code.PERMISSION_DENIED, e.code());
            assertTrue(e.getMessage().contains("policy store down"), e.getMessage());
            assertTrue(s.master.coordinationState().idCounters().isEmpty());
            assertEquals(2, errors.records().size(), "each failure logged as an error: " + errors);
            assertTrue(errors.records().stream().allMatch(r -> r.getThrown() instanceof IllegalStateException));
        }
    }

    @Test
    void refusalsAreLoggedOncePerNodeAndMinute() throws Exception {
        Authorizer noIds = new Authorizer() {
            @Override
            public Decision authorizeCoordination(Caller caller, CoordinationAction action, String name) {
                return action == CoordinationAction.NEXT_ID ? Decision.deny("no ids") : Decision.ALLOW;
            }
        };
        try (LogCapture warnings = LogCapture.start(AUTHORIZATION_LOG, r -> r.getLevel() == Level.WARNING);
             Setup s = new Setup(noIds, 2)) {
            for (int i = 0; i < 10; i++) {
                assertDenied(() -> s.co(0).nextId("a"), 0, "take an id of 'a': no ids");
                assertDenied(() -> s.co(1).nextId("b"), 1, "take an id of 'b': no ids");
            }
            SimpleFormatter f = new SimpleFormatter();
            List<String> lines = warnings.records().stream().map(f::formatMessage).toList();
            for (Node n : s.nodes) {
                String id = "node " + Long.toHexString(n.nodeId());
                assertEquals(1, lines.stream().filter(l -> l.contains(id)).count(), id + ": " + lines);
            }
            assertEquals(2, lines.size(), "" + lines);
        }
    }
}
