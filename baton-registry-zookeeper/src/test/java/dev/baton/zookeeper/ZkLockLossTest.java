package dev.baton.zookeeper;

import dev.baton.BatonException;
import dev.baton.MembershipEvent;
import dev.baton.Coordination.DistributedLock;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;
import dev.baton.spi.Registry;
import dev.baton.spi.RegistryFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A node that holds a lock and loses its ZooKeeper session is told: once Curator reports the session lost, the
 * holder's {@code fencingToken()} throws UNAVAILABLE (it never learns silently that another node holds it).
 */
@Timeout(60)
class ZkLockLossTest {

    @Test
    void theHolderOfALockWhoseSessionEndedIsToldThroughItsFencingToken() throws Exception {
        try (ZooKeeperUnderTest zk = new ZooKeeperUnderTest()) {
            List<Registry> made = new CopyOnWriteArrayList<>();
            RegistryFactory tracking = context -> {
                Registry r = zk.factory().create(context);
                made.add(r);
                return r;
            };
            try (Node holder = Node.join(NodeOptions.builder().name("holder").registry(tracking).build());
                 Node other = Node.join(NodeOptions.builder().name("other").registry(tracking).build())) {
                List<String> seenByOther = new CopyOnWriteArrayList<>();
                other.addMembershipListener((event, membership) -> {
                    if (event instanceof MembershipEvent.NodeLeft l && l.node().rank() == holder.rank()) {
                        seenByOther.add("left");
                    } else if (event instanceof MembershipEvent.NodeJoined j && j.node().rank() == holder.rank()) {
                        seenByOther.add("joined");
                    }
                });
                DistributedLock held = holder.coordination().lock("L");
                held.lock(Duration.ofSeconds(5));
                long token = held.fencingToken();
                long t0 = System.nanoTime();
                try (AutoCloseable cut = zk.cutOff(made.getFirst())) {
                    DistributedLock wanted = other.coordination().lock("L");
                    wanted.lock(zk.sessionExpiry());
                    assertTrue(wanted.fencingToken() > token);
                    wanted.unlock();
                    long deadline = t0 + zk.sessionExpiry().multipliedBy(2).toNanos();
                    BatonException refused = null;
                    while (refused == null) {
                        try {
                            held.fencingToken();
                            assertTrue(System.nanoTime() < deadline, "the holder was never told");
                            Thread.sleep(20);
                        } catch (BatonException e) {
                            refused = e;
                        }
                    }
                    assertEquals(Status.Code.UNAVAILABLE, refused.code(), refused.toString());
                    assertTrue(held.isHeldByCurrentThread(), "the local hold stays until unlock");
                }
                held.unlock();      // never throws for a registry failure
                // The holder joins again with a new session (and its rank). Closing only then keeps this test
                // clear of Curator replacing its client handle while the node closes.
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (!seenByOther.equals(List.of("left", "joined"))) {
                    assertTrue(System.nanoTime() < deadline, "the holder did not join again: " + seenByOther);
                    Thread.sleep(20);
                }
            }
        }
    }
}
