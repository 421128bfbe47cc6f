package dev.baton.testkit.transport;

import dev.baton.spi.TransportFactory;
import org.junit.jupiter.api.Timeout;

/** Baton's TCP transport keeps the SPI contract. */
@Timeout(60)
class TcpTransportConformanceTest extends TransportConformanceTest {

    @Override
    protected TransportFactory transportFactory() {
        return TransportFactory.tcp();
    }
}
