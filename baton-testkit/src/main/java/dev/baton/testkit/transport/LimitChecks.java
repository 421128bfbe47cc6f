package dev.baton.testkit.transport;

import dev.baton.BatonException;
import dev.baton.Status;
import dev.baton.spi.FrameType;
import dev.baton.spi.TransportConnection;
import dev.baton.testkit.Wait;
import dev.baton.testkit.transport.ConformanceFixture.Endpoint;
import dev.baton.testkit.transport.ConformanceFixture.Link;
import dev.baton.testkit.transport.RecordingHandler.Received;

import java.time.Duration;
import java.util.List;

import static dev.baton.spi.TransportConnection.OFFERED;
import static dev.baton.testkit.transport.ConformanceFixture.WAIT;
import static dev.baton.testkit.transport.ConformanceFixture.settings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checks of {@link TransportConformanceTest} on the peer's limits and liveness: its maximum message size, and
 * the keepalive and handshake timeouts. Each method runs on the fixture of one test, and the suite's test of the
 * same name calls it.
 */
final class LimitChecks {

    private final ConformanceFixture fx;

    LimitChecks(ConformanceFixture fx) {
        this.fx = fx;
    }

    void aFrameAboveThePeersMaxMessageSizeFailsAloneWithMessageTooLarge() throws Exception {
        Endpoint server = fx.endpoint("server", settings().maxMessageSize(64 << 10).build());
        Endpoint client = fx.endpoint("client");
        Link link = fx.open(client, server);
        assertEquals(64 << 10, link.client().remoteIdentity().maxMessageSize());
        TrackedFrame big = fx.frame(FrameType.REQUEST, 1, (64 << 10) + 1);
        assertEquals(OFFERED, big.offerOn(link.client()));
        assertEquals(OFFERED, fx.frame(FrameType.REQUEST, 2, 64 << 10).offerOn(link.client()));
        assertTooLarge(big.awaitEnd(WAIT));
        assertEquals(64 << 10, server.handler().awaitFrame(2, WAIT).payload().length, "the limit itself is fine");
        assertEquals(List.of(2L), server.handler().frames().stream().map(Received::requestId).toList());
        assertTrue(link.client().isOpen() && link.server().isOpen(), "the connection is unharmed");
        assertEquals(0, server.transport().stats().protocolErrors());
    }

    void aFrameAboveThePeersMaxMessageSizeOfferedBeforeTheHandshakeFailsAloneToo() throws Exception {
        Endpoint server = fx.endpoint("server", settings().maxMessageSize(64 << 10).build());
        Endpoint client = fx.endpoint("client");
        TransportConnection c = client.connect(server);
        TrackedFrame big = fx.frame(FrameType.REQUEST, 1, 1 << 20);
        assertEquals(OFFERED, big.offerOn(c));
        assertEquals(OFFERED, fx.frame(FrameType.REQUEST, 2, 10).offerOn(c));
        assertTooLarge(big.awaitEnd(WAIT));
        server.handler().awaitFrame(2, WAIT);
        assertTrue(c.isOpen());
        assertEquals(0, server.transport().stats().protocolErrors(), "the server never saw the oversized frame");
    }

    private static void assertTooLarge(TrackedFrame f) {
        assertFalse(f.written(), f.toString());
        assertEquals(Status.Code.MESSAGE_TOO_LARGE, f.dropCause().code());
        assertTrue(f.dropCause().status().retrySafe(), "it never left: retry-safe");
    }

    void aSilentConnectionIsClosedAtTheKeepaliveTimeout() {
        Endpoint server = fx.endpoint("server", settings().keepaliveTimeout(Duration.ofMillis(300)).build());
        Endpoint client = fx.endpoint("client");       // never pings
        long start = System.nanoTime();             // before the last byte the server receives
        Link link = fx.open(client, server);
        BatonException cause = server.handler().awaitClosed(link.server(), WAIT);
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertEquals(Status.Code.UNAVAILABLE, cause.code());
        assertTrue(ms >= 290 && ms < 5_000, "closed after " + ms + " ms with a 300 ms timeout");
        assertEquals(Status.Code.UNAVAILABLE, client.handler().awaitClosed(link.client(), WAIT).code());
    }

    void pingsKeepAnIdleConnectionOpenAndNeverReachTheHandler() {
        Endpoint server = fx.endpoint("server", settings().keepaliveTimeout(Duration.ofMillis(500)).build());
        Endpoint client = fx.endpoint("client", settings().keepaliveInterval(Duration.ofMillis(50)).build());
        Link link = fx.open(client, server);
        Wait.holds(() -> link.server().isOpen() && link.client().isOpen(), Duration.ofMillis(1500),
                () -> "an idle connection kept alive by PINGs stays open");
        assertEquals(List.of(), server.handler().frames(), "PING is not delivered");
        assertEquals(List.of(), client.handler().frames(), "PONG is not delivered");
    }

    void keepaliveSetsTheLivenessOfOneConnection() {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client");
        Link watched = fx.open(client, server);
        Link other = fx.open(client, server);
        watched.server().keepalive(Duration.ZERO, Duration.ofMillis(300));
        assertEquals(Status.Code.UNAVAILABLE, server.handler().awaitClosed(watched.server(), WAIT).code());
        assertTrue(other.server().isOpen() && other.client().isOpen(), "the other connection keeps its settings");
    }

    void aConnectionWhoseHandshakeNeverCompletesClosesAtTheHandshakeTimeout() throws Exception {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client", settings().handshakeTimeout(Duration.ofMillis(300)).build());
        fx.stall(client, server);
        long start = System.nanoTime();
        TransportConnection c = client.connect(server);
        TrackedFrame early = fx.frame(FrameType.REQUEST, 1, 10);
        assertEquals(OFFERED, early.offerOn(c));
        assertEquals(Status.Code.UNAVAILABLE, client.handler().awaitClosed(c, WAIT).code());
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertTrue(ms >= 250, "closed after " + ms + " ms with a 300 ms handshake timeout");
        assertFalse(early.awaitEnd(WAIT).written());
        assertFalse(client.handler().opened().contains(c), "never opened");
    }
}
