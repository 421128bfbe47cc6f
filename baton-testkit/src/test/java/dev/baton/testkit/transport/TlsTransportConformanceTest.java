package dev.baton.testkit.transport;

import dev.baton.spi.TransportFactory;
import dev.baton.testkit.tls.TestPki;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Timeout;

/** Baton's TLS transport keeps the SPI contract (every transport of a test presents the same certificate). */
@Timeout(60)
class TlsTransportConformanceTest extends TransportConformanceTest {

    private static final TestPki PKI = TestPki.create();
    private static final TransportFactory TLS;

    static {
        TestPki.Ca ca = PKI.ca("conformance-ca");
        TLS = TransportFactory.tls(PKI.options(PKI.issue(ca, "peer"), ca));
    }

    @AfterAll
    static void removeCertificates() {
        PKI.close();
    }

    @Override
    protected TransportFactory transportFactory() {
        return TLS;
    }
}
