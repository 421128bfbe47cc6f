package dev.baton.shm;

import dev.baton.SharedMemory;
import dev.baton.spi.TransportFactory;
import dev.baton.testkit.behaviour.CallModelTest;
import dev.baton.testkit.behaviour.EchoTest;
import dev.baton.testkit.behaviour.ErrorsTest;
import dev.baton.testkit.behaviour.FailureTest;
import dev.baton.testkit.behaviour.ListenerCallTest;
import dev.baton.testkit.behaviour.ServingStylesTest;
import dev.baton.testkit.behaviour.StreamTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The node behaviour suites with every node-to-node connection through shared memory ({@link
 * SharedMemoryTransport.Mode#REQUIRED}; the master is reached by TCP), and nothing left in the directory after.
 */
@Timeout(300)
class ShmBehaviourTest {

    private static final ShmTestDirectory DIR = new ShmTestDirectory();

    TransportFactory transport() {
        return SharedMemoryTransport.builder().mode(SharedMemory.REQUIRED).directory(DIR.path).build();
    }

    @AfterAll
    static void nothingIsLeftInTheDirectory() throws IOException {
        try {
            assertEquals(List.of(), DIR.contents(), "files left in " + DIR.path);
        } finally {
            DIR.close();
        }
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
