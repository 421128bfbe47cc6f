package dev.baton.testkit.behaviour;

import dev.baton.spi.TransportFactory;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Timeout;

/** Every node behaviour suite over TCP with three connections (lanes) per peer, and an I/O thread per lane. */
@Timeout(300)
class TcpLanesBehaviourTest extends TcpBehaviourTest {

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
