package dev.baton.testkit.transport;

import dev.baton.spi.TransportFactory;
import org.junit.jupiter.api.Timeout;

/** The loopback transport keeps the SPI contract (a new in-JVM network per test). */
@Timeout(60)
class LoopbackTransportConformanceTest extends TransportConformanceTest {

    @Override
    protected TransportFactory transportFactory() {
        return LoopbackTransport.factory();
    }
}
