package dev.baton.shm;

import dev.baton.SharedMemory;
import dev.baton.spi.TransportFactory;
import dev.baton.testkit.transport.TransportConformanceTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The shared-memory transport keeps the SPI contract, every connection through shared memory ({@link
 * SharedMemoryTransport.Mode#REQUIRED}), and leaves nothing in its directory after each test.
 */
@Timeout(60)
class ShmTransportConformanceTest extends TransportConformanceTest {

    private static final ShmTestDirectory DIR = new ShmTestDirectory();

    @Override
    protected TransportFactory transportFactory() {
        return SharedMemoryTransport.builder().mode(SharedMemory.REQUIRED).directory(DIR.path)
                .ringBytes(64 * 1024).build();
    }

    /** Runs after the suite's own set-up, so it sees what the test before (all its transports closed) left. */
    @BeforeEach
    void nothingIsLeftInTheDirectory() {
        assertEquals(List.of(), DIR.contents(), "files left in " + DIR.path + " by the test before");
    }

    @AfterAll
    static void nothingIsLeftAtTheEnd() throws IOException {
        try {
            assertEquals(List.of(), DIR.contents(), "files left in " + DIR.path);
        } finally {
            DIR.close();
        }
    }
}
