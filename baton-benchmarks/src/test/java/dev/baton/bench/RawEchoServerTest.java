package dev.baton.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The floor's server in both wait modes: it echoes, and its threads end when it closes or they are interrupted. */
@Timeout(30)
class RawEchoServerTest {

    private static final int PAYLOAD = 16;

    @ParameterizedTest(name = "busyPoll={0}")
    @ValueSource(booleans = {false, true})
    void echoesAndEndsItsThreadsOnClose(boolean busyPoll) throws Exception {
        RawEchoServer server = RawEchoServer.start(busyPoll);
        try (SocketChannel c = SocketChannel.open(server.address())) {
            assertEchoes(c);
            assertEquals(1, echoThreads().size());
            server.close();
            assertEquals(-1, c.read(ByteBuffer.allocate(1)), "the server closed the connection");
        } finally {
            server.close();
        }
        assertEquals(List.of(), echoThreads());
    }

    /** A non-blocking read ignores interrupts: the busy-poll loop checks for them itself. */
    @Test
    void aBusyPollingThreadEndsWhenInterrupted() throws Exception {
        try (RawEchoServer server = RawEchoServer.start(true);
             SocketChannel c = SocketChannel.open(server.address())) {
            assertEchoes(c);
            Thread echo = echoThreads().getFirst();
            echo.interrupt();
            assertTrue(echo.join(Duration.ofSeconds(10)), "the spinning thread did not end");
            assertEquals(-1, c.read(ByteBuffer.allocate(1)), "the thread closed its connection on the way out");
        }
        assertEquals(List.of(), echoThreads());
    }

    /** One message there and back, checked byte for byte. */
    private static void assertEchoes(SocketChannel c) throws IOException {
        ByteBuffer request = ByteBuffer.allocate(4 + PAYLOAD).putInt(PAYLOAD);
        for (int i = 0; i < PAYLOAD; i++) {
            request.put((byte) i);
        }
        request.flip();
        while (request.hasRemaining()) {
            c.write(request);
        }
        ByteBuffer response = ByteBuffer.allocate(4 + PAYLOAD);
        while (response.hasRemaining()) {
            assertFalse(c.read(response) < 0, "the server closed the connection");
        }
        assertEquals(request.flip(), response.flip());
    }

    /** The live per-connection threads of every {@link RawEchoServer} in this JVM (tests run one at a time). */
    private static List<Thread> echoThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("raw-echo-") && !t.getName().equals("raw-echo-accept"))
                .filter(Thread::isAlive)
                .toList();
    }
}
