package dev.baton.testkit.tls;

import dev.baton.TlsOptions;
import dev.baton.spi.TransportFactory;
import dev.baton.testkit.behaviour.CallModelTest;
import dev.baton.testkit.behaviour.EchoTest;
import dev.baton.testkit.behaviour.ErrorsTest;
import dev.baton.testkit.behaviour.LanesTest;
import dev.baton.testkit.behaviour.StreamTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Timeout;

/** The node behaviour suites with the master and every node on the TLS transport (one certificate for all). */
@Timeout(300)
class TlsBehaviourTest {

    private static final TestPki PKI = TestPki.create();
    private static final TransportFactory TLS;
    /**
     * Hard revocation checking: every handshake's certificate checks run on a thread of their own, off the I/O loop
     * (the certificate names no distribution point, so there is nothing to wait for).
     */
    private static final TransportFactory TLS_HARD;

    static {
        TestPki.Ca ca = PKI.ca("behaviour-ca");
        TestPki.Issued member = PKI.issue(ca, "member");
        TLS = TransportFactory.tls(PKI.options(member, ca));
        TLS_HARD = TransportFactory.tls(TlsOptions.builder().certificate(member.certFile(), member.keyFile())
                .trustedCertificates(ca.certFile()).fetchRevocationLists(true).requireRevocationStatus(true).build());
    }

    @AfterAll
    static void removeCertificates() {
        PKI.close();
    }

    /** Several TLS connections (lanes) per peer, each with its own SSLEngine. */
    @Nested
    class Lanes extends LanesTest {
        @Override
        protected TransportFactory transportFactory() {
            return TLS;
        }
    }

    @Nested
    class Echo extends EchoTest {
        @Override
        protected TransportFactory transportFactory() {
            return TLS;
        }
    }

    @Nested
    class EchoHandshakeTasksOffLoop extends EchoTest {
        @Override
        protected TransportFactory transportFactory() {
            return TLS_HARD;
        }
    }

    @Nested
    class LanesHandshakeTasksOffLoop extends LanesTest {
        @Override
        protected TransportFactory transportFactory() {
            return TLS_HARD;
        }
    }

    @Nested
    class Errors extends ErrorsTest {
        @Override
        protected TransportFactory transportFactory() {
            return TLS;
        }
    }

    @Nested
    class Streams extends StreamTest {
        @Override
        protected TransportFactory transportFactory() {
            return TLS;
        }
    }

    @Nested
    class CallModel extends CallModelTest {
        @Override
        protected TransportFactory transportFactory() {
            return TLS;
        }
    }
}
