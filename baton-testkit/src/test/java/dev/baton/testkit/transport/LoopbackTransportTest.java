package dev.baton.testkit.transport;

import dev.baton.BatonException;
import dev.baton.Status;
import dev.baton.spi.FrameType;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportFactory;
import dev.baton.testkit.Wait;
import dev.baton.testkit.transport.ConformanceFixture.Endpoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import static dev.baton.testkit.transport.ConformanceFixture.WAIT;
import static dev.baton.testkit.transport.ConformanceFixture.settings;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the loopback transport adds to the SPI contract (which {@link LoopbackTransportConformanceTest} checks). */
@Timeout(60)
class LoopbackTransportTest {

    private final List<ConformanceFixture> fixtures = new ArrayList<>();

    private ConformanceFixture fixture(TransportFactory factory) {
        ConformanceFixture fx = new ConformanceFixture(factory);
        fixtures.add(fx);
        return fx;
    }

    @AfterEach
    void closeAndCheckTheContract() {
        for (ConformanceFixture fx : fixtures.reversed()) {
            fx.close();
        }
    }

    private static void assertRefused(Endpoint client, TransportConnection c) {
        BatonException cause = client.handler().awaitClosed(c, WAIT);
        assertEquals(Status.Code.UNAVAILABLE, cause.code());
        assertFalse(client.handler().opened().contains(c), "never opened");
    }

    @Test
    void eachFactoryIsANetworkOfItsOwn() throws Exception {
        ConformanceFixture one = fixture(LoopbackTransport.factory());
        ConformanceFixture other = fixture(LoopbackTransport.factory());
        Endpoint server = one.endpoint("server", settings().build());
        InetSocketAddress address = server.transport().listen(new InetSocketAddress("127.0.0.1", 50_000));
        Endpoint stranger = other.endpoint("stranger", settings().build());     // listens on 49152 only
        assertRefused(stranger, stranger.connect(address));
        Endpoint neighbour = one.endpoint("neighbour", settings().build());
        TransportConnection c = neighbour.connect(address);
        Wait.until(() -> neighbour.handler().opened().contains(c), WAIT, () -> "a connection in the same network");
    }

    @Test
    void aWildcardListenerTakesConnectionsToAnyAddressAndASpecificOneOnlyToItsOwn() throws Exception {
        ConformanceFixture fx = fixture(LoopbackTransport.factory());
        Endpoint server = fx.endpoint("server", settings().build());
        Endpoint client = fx.endpoint("client", settings().build());
        InetSocketAddress wildcard = server.transport().listen(new InetSocketAddress("0.0.0.0", 0));
        TransportConnection any = client.connect(new InetSocketAddress("10.1.2.3", wildcard.getPort()));
        Wait.until(() -> client.handler().opened().contains(any), WAIT, () -> "a connection through the wildcard");

        InetSocketAddress elsewhere = new InetSocketAddress("127.0.0.2", server.address().getPort());
        TransportConnection refused = client.connect(elsewhere);
        assertEquals(Status.Code.UNAVAILABLE, client.handler().awaitClosed(refused, WAIT).code());
    }

    @Test
    void anAddressIsFreeAgainOnceItsTransportClosed() throws Exception {
        ConformanceFixture fx = fixture(LoopbackTransport.factory());
        Endpoint first = fx.endpoint("first", settings().build());
        Endpoint second = fx.endpoint("second", settings().build());
        first.transport().close();
        assertEquals(first.address(), second.transport().listen(first.address()), "as a restarted master does");
        Endpoint client = fx.endpoint("client", settings().build());
        TransportConnection c = client.connect(first.address());
        Wait.until(() -> client.handler().opened().contains(c) && second.handler().opened().size() == 1, WAIT,
                () -> "a connection to the new listener");
    }

    @Test
    void connectionsOverTheHandshakeLimitAreRefusedAtOnce() throws Exception {
        ConformanceFixture fx = fixture(LoopbackTransport.factory());
        Endpoint server = fx.endpoint("server", settings().maxPendingHandshakes(1).build());
        Endpoint client = fx.endpoint("client", settings().build());
        fx.stall(client, server);
        TransportConnection pending = client.connect(server.address());     // admitted; waits for the loop
        TransportConnection refused = client.connect(server.address());
        assertRefused(client, refused);
        assertTrue(pending.isOpen());
        assertEquals(1, server.transport().stats().refusedConnections());
        assertEquals(1, server.transport().stats().pendingHandshakes());
        fx.unblock();
        Wait.until(() -> client.handler().opened().contains(pending), WAIT, () -> "the admitted connection opens");
        // The client opens on the server's opening, which may come before the server has read the client's.
        Wait.until(() -> server.transport().stats().pendingHandshakes() == 0, WAIT,
                () -> "the server's handshake count back to 0");
    }

    @Test
    void theSmallestPipesCarryLargeFramesThroughPartialWrites() throws Exception {
        ConformanceFixture fx = fixture(LoopbackTransport.factory(LoopbackTransport.MIN_PIPE_CAPACITY));
        Endpoint server = fx.endpoint("server", settings().build());
        Endpoint client = fx.endpoint("client", settings().build());
        ConformanceFixture.Link link = fx.open(client, server);
        TrackedFrame big = fx.frame(FrameType.REQUEST, 1, (1 << 20) + 7);
        assertEquals(TransportConnection.OFFERED, big.offerOn(link.client()));
        for (int i = 2; i <= 100; i++) {
            assertEquals(TransportConnection.OFFERED, fx.frame(FrameType.REQUEST, i, i).offerOn(link.client()));
        }
        List<RecordingHandler.Received> got = server.handler().awaitFrames(100, WAIT);
        assertArrayEquals(ConformanceFixture.payload(1, (1 << 20) + 7).array(), got.getFirst().payload());
        for (int i = 2; i <= 100; i++) {
            assertEquals(i, got.get(i - 1).requestId());
            assertEquals(i, got.get(i - 1).payload().length);
        }
        assertTrue(big.awaitEnd(WAIT).written());
    }

    @Test
    void aPipeCapacityMustBeAPowerOfTwoThatHoldsTheHandshake() {
        IllegalArgumentException notPowerOfTwo = assertThrows(IllegalArgumentException.class,
                () -> LoopbackTransport.factory(1000));
        assertTrue(notPowerOfTwo.getMessage().contains("1000"), notPowerOfTwo.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LoopbackTransport.factory(128));
    }
}
