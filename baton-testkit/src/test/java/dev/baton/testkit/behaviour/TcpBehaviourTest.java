package dev.baton.testkit.behaviour;

import dev.baton.spi.TransportFactory;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Timeout;

/** The node behaviour suites over Baton's TCP transport. */
@Timeout(300)
class TcpBehaviourTest {

    private static TransportFactory transport() {
        return TransportFactory.tcp();
    }

    @Nested
    class Echo extends EchoTest {
        @Override
        protected TransportFactory transportFactory() {
            return transport();
        }
    }

    @Nested
    class Errors extends ErrorsTest {
        @Override
        protected TransportFactory transportFactory() {
            return transport();
        }
    }

    @Nested
    class ListenerCall extends ListenerCallTest {
        @Override
        protected TransportFactory transportFactory() {
            return transport();
        }
    }

    @Nested
    class ServingStyles extends ServingStylesTest {
        @Override
        protected TransportFactory transportFactory() {
            return transport();
        }
    }

    @Nested
    class Failure extends FailureTest {
        @Override
        protected TransportFactory transportFactory() {
            return transport();
        }
    }

    @Nested
    class CallModel extends CallModelTest {
        @Override
        protected TransportFactory transportFactory() {
            return transport();
        }
    }

    @Nested
    class Streams extends StreamTest {
        @Override
        protected TransportFactory transportFactory() {
            return transport();
        }
    }
}
