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

/**
 * Leases, with a raw control connection standing in for a frozen node (TCP specific: {@link ControlClient}). The
 * node-level lease and master-restart behaviours run over every transport in baton-testkit
 * ({@code dev.baton.testkit.behaviour.FailureTest}).
 */
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
                WireWriter w = new WireWriter().putLong(99).putInt(-1).putString("127.0.0.1").putInt(1).putString("silent")
                        .putString("");
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
}
