package dev.baton.testkit.behaviour;

import dev.baton.Client;
import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.MembershipEvent;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Server;
import dev.baton.ServerInfo;
import dev.baton.spi.TransportFactory;
import dev.baton.testkit.Wait;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import static dev.baton.testkit.behaviour.Cluster.ECHO;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Leases and master restarts, in one JVM, over the transport under test. */
@Timeout(60)
public abstract class FailureTest extends BehaviourTest {

    private NodeOptions.Builder node(TransportFactory transport, Master master, String name) {
        return NodeOptions.builder().master(master.address()).transport(transport).name(name).lanes(lanes())
                .ioThreads(lanes());
    }

    @Test
    @SuppressWarnings("try")        // the watch only needs to be open while the writer writes
    public void aNodeThatOnlyListensStillRenewsItsLease() throws Exception {
        TransportFactory transport = transportFactory();
        try (Master master = Master.start(MasterOptions.builder().transport(transport)
                .leaseTimeout(Duration.ofMillis(300)).build());
             Node listener = Node.join(node(transport, master, "listener").build());
             Node writer = Node.join(node(transport, master, "writer").build())) {
            List<MembershipEvent> seen = new CopyOnWriteArrayList<>();
            writer.addMembershipListener((e, m) -> seen.add(e));
            AtomicInteger changes = new AtomicInteger();
            try (AutoCloseable w = listener.coordination().watch("k", (k, v) -> changes.incrementAndGet())) {
                // The master talks to the listener all the time; the listener itself has nothing to say.
                long end = System.nanoTime() + 1_500_000_000L;
                int i = 0;
                while (System.nanoTime() < end) {
                    writer.coordination().put("k", new byte[]{(byte) i++});
                    LockSupport.parkNanos(20_000_000L);     // the pace of the writes, not a wait
                }
                Wait.until(() -> changes.get() >= 10, Duration.ofSeconds(5));
            }
            assertTrue(seen.stream().noneMatch(e -> e instanceof MembershipEvent.NodeLeft), "events: " + seen);
            assertEquals(2, master.membership().nodes().size());
        }
    }

    @Test
    public void callsContinueWhileTheMasterIsDownAndNodesRejoinWithTheirRanksWhenItReturns() throws Exception {
        TransportFactory transport = transportFactory();
        Master master = Master.start(MasterOptions.builder().transport(transport).build());
        InetSocketAddress address = master.address();
        try (Node server = Node.join(node(transport, master, "server").build());
             Node caller = Node.join(node(transport, master, "caller").build())) {
            Server echo = Cluster.startEcho(server, "echo");
            Client client = caller.client("echo");
            client.awaitServers(1, Duration.ofSeconds(5));
            int serverRank = server.rank();
            int callerRank = caller.rank();

            master.close();
            for (int i = 0; i < 50; i++) {
                assertEquals(4, client.call(ECHO, new byte[4]).length, "call while the master is down");
            }
            // A client created now still sees the last membership.
            assertEquals(1, caller.client("echo").servers().size());

            try (Master again = Master.start(MasterOptions.builder().transport(transport).bind(address).build())) {
                Wait.until(() -> again.membership().nodes().size() == 2
                        && again.membership().servers("echo").size() == 1, Duration.ofSeconds(5));
                assertEquals(serverRank, server.rank());
                assertEquals(callerRank, caller.rank());
                ServerInfo s = again.membership().servers("echo").getFirst();
                assertEquals(new ServerInfo("echo", echo.serviceId(), echo.serverId(), serverRank), s);
                for (int i = 0; i < 50; i++) {
                    assertEquals(4, client.call(ECHO, new byte[4]).length);
                }
                // New registrations work against the new master, once the node has its answer to the rejoin (the
                // master lists the node a moment before that; until then a registration is UNAVAILABLE, retry-safe).
                Wait.until(() -> {
                    try {
                        server.newServer("late").inline(0, call -> call.reply(new byte[]{7})).start();
                        return true;
                    } catch (dev.baton.BatonException e) {
                        assertEquals(dev.baton.Status.Code.UNAVAILABLE, e.code(), e.getMessage());
                        return false;
                    }
                }, Duration.ofSeconds(5));
                Client late = caller.client("late");
                late.awaitServers(1, Duration.ofSeconds(5));
                assertEquals(7, late.call(0, new byte[0])[0]);
            }
        } finally {
            master.close();
        }
    }
}
