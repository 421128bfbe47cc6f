package dev.baton;

import dev.baton.Coordination.DistributedLock;
import dev.baton.internal.registry.ControlClient;
import dev.baton.internal.tcp.TcpTransport;
import dev.baton.internal.wire.ControlProtocol;
import dev.baton.internal.wire.WireWriter;
import dev.baton.spi.PeerIdentity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coordination as only the master does it: a lock held over a raw control connection that goes silent, and what
 * a master restarted from nothing forgets. What every registry must do (barriers, locks, fencing tokens, ids,
 * key/values, watches) is pinned by the registry conformance suite, which the master passes
 * (baton-testkit: {@code RegistryConformanceTest}, {@code MasterRegistryConformanceTest}).
 */
@Timeout(60)
class CoordinationTest {

    private static final Duration LONG = Duration.ofSeconds(20);

    @Test
    void aLockHeldOverAConnectionThatGoesSilentIsReleasedWhenItsLeaseExpires() throws Exception {
        try (Master master = Master.start(new InetSocketAddress("127.0.0.1", 0), Duration.ofMillis(300));
             Node node = Node.join(NodeOptions.builder().master(master.address()).name("waiter").build());
             ControlClient frozen = new ControlClient("frozen", 77, PeerIdentity.ROLE_NODE, () -> -1,
                     master.address(), TcpTransport.factory(), m -> m.close(), e -> { })) {
            frozen.awaitOpen(Duration.ofSeconds(5));
            WireWriter w = new WireWriter().putString("z").putLong(1).putLong(0);
            frozen.callSync(ControlProtocol.LOCK, w.toBuffer(), Duration.ofSeconds(5)).close();
            DistributedLock lock = node.coordination().lock("z");
            assertFalse(lock.tryLock());
            frozen.keepalive(Duration.ZERO, Duration.ZERO);     // stops renewing, as a frozen or cut-off process would
            long t0 = System.nanoTime();
            lock.lock(LONG);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(lock.isHeldByCurrentThread());
            assertTrue(ms < 3_000, "granted after " + ms + " ms with a 300 ms lease");
            lock.unlock();
        }
    }

    @Test
    void aRestartedMasterStartsEmptyButWatchesAreRegisteredAgain() throws Exception {
        Master master = Master.start(0);
        InetSocketAddress address = master.address();
        try (Node a = Node.join(NodeOptions.builder().master(address).name("a").build());
             Node b = Node.join(NodeOptions.builder().master(address).name("b").build())) {
            BlockingQueue<String> seen = new LinkedBlockingQueue<>();
            b.coordination().watch("k/", (k, v) -> seen.add(k));
            DistributedLock held = a.coordination().lock("L");
            held.lock(LONG);
            assertEquals(0, a.coordination().nextId("i"));
            a.coordination().put("k/before", bytes("1"));
            assertEquals("k/before", seen.poll(10, TimeUnit.SECONDS));

            master.close();
            try (Master again = Master.start(address)) {
                // Each node is UNAVAILABLE until it has reconnected, and its watch comes back just after; until
                // then a change may go unseen. Once b sees a's change, both are back.
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                String got = null;
                for (int i = 0; got == null && System.nanoTime() < end; i++) {
                    try {
                        a.coordination().put("k/after" + i, bytes("2"));
                    } catch (BatonException e) {
                        assertEquals(Status.Code.UNAVAILABLE, e.code());
                    }
                    got = seen.poll(100, TimeUnit.MILLISECONDS);
                }
                assertTrue(got != null && got.startsWith("k/after"), "watch not restored: " + got);

                assertTrue(a.coordination().get("k/before").isEmpty(), "values are gone");
                assertEquals(0, a.coordination().nextId("i"), "ids count from 0 again");
                DistributedLock other = b.coordination().lock("L");
                assertTrue(other.tryLock(), "the new master never heard of the old hold");
                assertTrue(held.isHeldByCurrentThread(), "the local view stays until unlock");
                held.unlock();
                other.unlock();
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
