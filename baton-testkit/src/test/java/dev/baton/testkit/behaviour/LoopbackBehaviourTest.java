package dev.baton.testkit.behaviour;

import dev.baton.spi.TransportFactory;
import dev.baton.testkit.transport.LoopbackTransport;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Timeout;

/** The node behaviour suites over the in-memory loopback transport (a new network per cluster). */
@Timeout(300)
class LoopbackBehaviourTest {

    private static TransportFactory transport() {
        return LoopbackTransport.factory();
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
