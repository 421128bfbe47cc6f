package dev.baton.shm;

import dev.baton.spi.TransportFactory;
import dev.baton.testkit.behaviour.LanesTest;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Timeout;

/** Every node behaviour suite over shared memory with three ring pairs (lanes) per peer, and a loop per lane. */
@Timeout(300)
class ShmLanesBehaviourTest extends ShmBehaviourTest {

    @Override
    protected int laneCount() {
        return 3;
    }

    /** What only lanes do: per-thread order, threads on distinct connections, a failed lane replaced, a clean close. */
    @Nested
    class Lanes extends LanesTest {
        @Override
        protected TransportFactory transportFactory() {
            return transport();
        }
    }
}
