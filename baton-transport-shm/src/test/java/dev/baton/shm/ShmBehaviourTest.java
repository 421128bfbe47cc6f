package dev.baton.shm;

import dev.baton.SharedMemory;
import dev.baton.spi.TransportFactory;
import dev.baton.testkit.behaviour.BehaviourSuites;
import org.junit.jupiter.api.AfterAll;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The node behaviour suites with every node-to-node connection through shared memory ({@link
 * SharedMemoryTransport.Mode#REQUIRED}; the master is reached by TCP), and nothing left in the directory after.
 */
class ShmBehaviourTest extends BehaviourSuites {

    private static final ShmTestDirectory DIR = new ShmTestDirectory();

    @Override
    protected TransportFactory transport() {
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
}
