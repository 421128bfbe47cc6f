package dev.baton;

import dev.baton.internal.registry.ControlClient;
import dev.baton.internal.tcp.TcpTransport;
import dev.baton.internal.wire.ControlProtocol;
import dev.baton.internal.wire.WireWriter;
import dev.baton.spi.PeerIdentity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Leases and master restarts, in one JVM. */
@Timeout(60)
class FailureTest {

    @Test
    void aNodeThatStopsRenewingItsLeaseIsRemovedEverywhere() throws Exception {
        try (Master master = Master.start(new InetSocketAddress("127.0.0.1", 0), Duration.ofMillis(300));
             Node observer = Node.join(NodeOptions.builder().master(master.address()).name("observer").build())) {
            // A "node" that joins and then goes silent, as a frozen or cut-off process would.
            try (ControlClient silent = new ControlClient("silent", 99, PeerIdentity.ROLE_NODE, () -> -1,
                    master.address(), TcpTransport.factory(), m -> m.close(), e -> { })) {
                silent.awaitOpen(Duration.ofSeconds(5));
                WireWriter w = new WireWriter().putLong(99).putInt(-1).putString("127.0.0.1").putInt(1).putString("silent");
                silent.callSync(ControlProtocol.JOIN, w.toBuffer(), Duration.ofSeconds(5)).close();
                silent.keepalive(Duration.ZERO, Duration.ZERO);
                Wait.until(() -> observer.membership().nodes().size() == 2, Duration.ofSeconds(5));
                long t0 = System.nanoTime();
                try {
                    Wait.until(() -> observer.membership().nodes().size() == 1, Duration.ofSeconds(5));
                } catch (AssertionError e) {
                    throw new AssertionError("observer sees " + observer.membership() + ", master " + master.membership(), e);
                }
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(ms < 1_500, "removed after " + ms + " ms with a 300 ms lease");
            }
            // The observer, which renews, stays.
            assertEquals(List.of(observer.rank()), observer.membership().nodes().stream().map(NodeInfo::rank).toList());
        }
    }

    @Test
    void aNodeThatOnlyListensStillRenewsItsLease() throws Exception {
        try (Master master = Master.start(new InetSocketAddress("127.0.0.1", 0), Duration.ofMillis(300));
             Node listener = Node.join(NodeOptions.builder().master(master.address()).name("listener").build());
             Node writer = Node.join(NodeOptions.builder().master(master.address()).name("writer").build())) {
            List<MembershipEvent> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
            writer.addMembershipListener((e, m) -> seen.add(e));
            java.util.concurrent.atomic.AtomicInteger changes = new java.util.concurrent.atomic.AtomicInteger();
            try (AutoCloseable w = listener.coordination().watch("k", (k, v) -> changes.incrementAndGet())) {
                // The master talks to the listener all the time; the listener itself has nothing to say.
                long end = System.nanoTime() + 1_500_000_000L;
                int i = 0;
                while (System.nanoTime() < end) {
                    writer.coordination().put("k", new byte[]{(byte) i++});
                    java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
                }
                Wait.until(() -> changes.get() >= 10, Duration.ofSeconds(5));
            }
            assertTrue(seen.stream().noneMatch(e -> e instanceof MembershipEvent.NodeLeft), "events: " + seen);
            assertEquals(2, master.membership().nodes().size());
        }
    }

    @Test
    void callsContinueWhileTheMasterIsDownAndNodesRejoinWithTheirRanksWhenItReturns() throws Exception {
        Master master = Master.start(0);
        InetSocketAddress address = master.address();
        try (Node server = Node.join(NodeOptions.builder().master(address).name("server").build());
             Node caller = Node.join(NodeOptions.builder().master(address).name("caller").build())) {
            Server echo = EchoTest.startEcho(server, "echo");
            Client client = caller.client("echo");
            client.awaitServers(1, Duration.ofSeconds(5));
            int serverRank = server.rank();
            int callerRank = caller.rank();

            master.close();
            for (int i = 0; i < 50; i++) {
                assertEquals(4, client.call(EchoTest.ECHO, new byte[4]).length, "call while the master is down");
            }
            // A client created now still sees the last membership.
            assertEquals(1, caller.client("echo").servers().size());

            try (Master again = Master.start(address)) {
                Wait.until(() -> again.membership().nodes().size() == 2
                        && again.membership().servers("echo").size() == 1, Duration.ofSeconds(5));
                assertEquals(serverRank, server.rank());
                assertEquals(callerRank, caller.rank());
                ServerInfo s = again.membership().servers("echo").getFirst();
                assertEquals(new ServerInfo("echo", echo.serviceId(), echo.serverId(), serverRank), s);
                for (int i = 0; i < 50; i++) {
                    assertEquals(4, client.call(EchoTest.ECHO, new byte[4]).length);
                }
                // New registrations work against the new master.
                server.newServer("late").inline(0, call -> call.reply(new byte[]{7})).start();
                Client late = caller.client("late");
                late.awaitServers(1, Duration.ofSeconds(5));
                assertEquals(7, late.call(0, new byte[0])[0]);
            }
        }
    }
}
