package dev.baton.testkit.behaviour;

import dev.baton.spi.TransportFactory;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Timeout;

/**
 * Every node behaviour suite but {@link LanesTest} ({@link EchoTest}, {@link ErrorsTest}, {@link ListenerCallTest},
 * {@link ServingStylesTest}, {@link FailureTest}, {@link CallModelTest}, {@link StreamTest}) over one transport,
 * nested: a transport's test class extends this and names the transport; a subclass of that one may run them all
 * again over several lanes.
 *
 * <pre>{@code
 * class ShmBehaviourTest extends BehaviourSuites {
 *     @Override
 *     protected TransportFactory transport() {
 *         return SharedMemoryTransport.builder().mode(SharedMemory.REQUIRED).build();
 *     }
 * }
 * }</pre>
 */
@Timeout(300)
public abstract class BehaviourSuites {

    /** The transport under test (see {@link BehaviourTest#transportFactory()}). */
    protected abstract TransportFactory transport();

    /** Connections per peer of every node the suites start (see {@link BehaviourTest#lanes()}). */
    protected int laneCount() {
        return 1;
    }

    @Nested
    public class Echo extends EchoTest {
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
    public class Errors extends ErrorsTest {
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
    public class ListenerCall extends ListenerCallTest {
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
    public class ServingStyles extends ServingStylesTest {
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
    public class Failure extends FailureTest {
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
    public class CallModel extends CallModelTest {
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
    public class Streams extends StreamTest {
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
