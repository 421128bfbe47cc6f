package dev.baton.testkit.behaviour;

import dev.baton.spi.TransportFactory;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Timeout;

/** The node behaviour suites over Baton's TCP transport. */
@Timeout(300)
class TcpBehaviourTest {

    TransportFactory transport() {
        return TransportFactory.tcp();
    }

    /** Connections per peer of every node the suites start (a subclass runs them all over several lanes). */
    int laneCount() {
        return 1;
    }

    @Nested
    class Echo extends EchoTest {
        @Override
        protected TransportFactory transportFactory() {
            return transport();
        }

        @Override
        protected int lanes() {
            return laneCount();
        }
    }

    @Nested
    class Errors extends ErrorsTest {
        @Override
        protected TransportFactory transportFactory() {
            return transport();
        }

        @Override
        protected int lanes() {
            return laneCount();
        }
    }

    @Nested
    class ListenerCall extends ListenerCallTest {
        @Override
        protected TransportFactory transportFactory() {
            return transport();
        }

        @Override
        protected int lanes() {
            return laneCount();
        }
    }

    @Nested
    class ServingStyles extends ServingStylesTest {
        @Override
        protected TransportFactory transportFactory() {
            return transport();
        }

        @Override
        protected int lanes() {
            return laneCount();
        }
    }

    @Nested
    class Failure extends FailureTest {
        @Override
        protected TransportFactory transportFactory() {
            return transport();
        }

        @Override
        protected int lanes() {
            return laneCount();
        }
    }

    @Nested
    class CallModel extends CallModelTest {
        @Override
        protected TransportFactory transportFactory() {
            return transport();
        }

        @Override
        protected int lanes() {
            return laneCount();
        }
    }

    @Nested
    class Streams extends StreamTest {
        @Override
        protected TransportFactory transportFactory() {
            return transport();
        }

        @Override
        protected int lanes() {
            return laneCount();
        }
    }
}
