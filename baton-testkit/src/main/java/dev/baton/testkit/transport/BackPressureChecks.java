package dev.baton.testkit.transport;

import dev.baton.spi.FrameType;
import dev.baton.spi.TransportConnection;
import dev.baton.testkit.Wait;
import dev.baton.testkit.transport.ConformanceFixture.Endpoint;
import dev.baton.testkit.transport.ConformanceFixture.Link;
import dev.baton.testkit.transport.RecordingHandler.Received;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.baton.spi.TransportConnection.BACK_PRESSURED;
import static dev.baton.spi.TransportConnection.CLOSED;
import static dev.baton.spi.TransportConnection.OFFERED;
import static dev.baton.testkit.transport.ConformanceFixture.WAIT;
import static dev.baton.testkit.transport.ConformanceFixture.awaitCapacity;
import static dev.baton.testkit.transport.ConformanceFixture.settings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checks of {@link TransportConformanceTest} on back-pressure: what the queue limits refuse (REQUEST frames
 * only), offer after close, and awaitCapacity. Each method runs on the fixture of one test, and the suite's test of
 * the same name calls it.
 */
final class BackPressureChecks {

    private final ConformanceFixture fx;

    BackPressureChecks(ConformanceFixture fx) {
        this.fx = fx;
    }

    void requestsAreBackPressuredAtMaxQueuedFramesAndOtherFramesNeverAre() throws Exception {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client", settings().maxQueuedFrames(4).build());
        fx.stall(client, server);
        TransportConnection c = client.connect(server);     // stays in its handshake
        List<TrackedFrame> taken = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            taken.add(fx.frame(FrameType.REQUEST, i, 10));
            assertEquals(OFFERED, taken.getLast().offerOn(c));
        }
        TrackedFrame refused = fx.frame(FrameType.REQUEST, 5, 10);
        assertEquals(BACK_PRESSURED, refused.offerOn(c));
        for (int type : new int[]{FrameType.RESPONSE, FrameType.CANCEL, FrameType.GOAWAY, FrameType.RESPONSE}) {
            taken.add(fx.frame(type, 10 + taken.size(), 10));
            assertEquals(OFFERED, taken.getLast().offerOn(c), "type " + type + " is never refused for the limits");
        }
        assertEquals(80, c.queuedBytes(), "payload bytes queued and not written");
        assertNull(c.remoteIdentity(), "no identity before the handshake");
        assertTrue(c.isOpen());

        fx.unblock();
        List<Received> got = server.handler().awaitFrames(1 + taken.size(), WAIT);
        List<Long> ids = got.stream().filter(r -> r.connection() != got.getFirst().connection())
                .map(Received::requestId).toList();
        assertEquals(taken.stream().map(TrackedFrame::frameRequestId).toList(), ids, "all but the refused, in order");
        for (TrackedFrame f : taken) {
            assertTrue(f.awaitEnd(WAIT).written(), f.toString());
        }
        assertFalse(refused.ended(), "a refused frame stays the caller's");
        Wait.until(() -> c.queuedBytes() == 0, WAIT, () -> "nothing queued");
    }

    void requestsAreBackPressuredAtMaxQueuedBytesButALoneLargeRequestIsTaken() throws Exception {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client", settings().maxQueuedBytes(1000).build());
        fx.stall(client, server);
        TransportConnection alone = client.connect(server);
        assertEquals(OFFERED, fx.frame(FrameType.REQUEST, 1, 5000).offerOn(alone), "a lone request above the limit");
        assertEquals(BACK_PRESSURED, fx.frame(FrameType.REQUEST, 2, 1).offerOn(alone));

        TransportConnection c = client.connect(server);
        assertEquals(OFFERED, fx.frame(FrameType.REQUEST, 3, 600).offerOn(c));
        assertEquals(BACK_PRESSURED, fx.frame(FrameType.REQUEST, 4, 600).offerOn(c));
        assertEquals(OFFERED, fx.frame(FrameType.REQUEST, 5, 400).offerOn(c), "up to the limit exactly");
        assertEquals(BACK_PRESSURED, fx.frame(FrameType.REQUEST, 6, 1).offerOn(c));
        assertEquals(OFFERED, fx.frame(FrameType.RESPONSE, 7, 5000).offerOn(c), "answers are never refused");
        assertEquals(OFFERED, fx.frame(FrameType.CANCEL, 8, 0).offerOn(c));

        fx.unblock();
        for (long id : new long[]{1, 3, 5, 7, 8}) {
            server.handler().awaitFrame(id, WAIT);
        }
        assertEquals(List.of(), server.handler().frames().stream()
                .filter(r -> r.requestId() == 2 || r.requestId() == 4 || r.requestId() == 6).toList());
    }

    void offerReturnsClosedAfterCloseAndTheCallerKeepsTheFrame() {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client");
        Link link = fx.open(client, server);
        link.client().close();
        assertFalse(link.client().isOpen());
        for (int type : new int[]{FrameType.REQUEST, FrameType.RESPONSE, FrameType.CANCEL, FrameType.GOAWAY}) {
            TrackedFrame f = fx.frame(type, type, 4);
            assertEquals(CLOSED, f.offerOn(link.client()), "type " + type);
            assertFalse(f.ended());
        }
    }

    void awaitCapacityReturnsAtOnceWithRoomWaitsForRoomAndGivesUpAtTheDeadline() throws Exception {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client", settings().maxQueuedFrames(2).build());
        fx.stall(client, server);
        TransportConnection c = client.connect(server);
        assertTrue(c.awaitCapacity(10, System.nanoTime() + WAIT.toNanos()), "room: at once");
        assertEquals(OFFERED, fx.frame(FrameType.REQUEST, 1, 10).offerOn(c));
        assertEquals(OFFERED, fx.frame(FrameType.REQUEST, 2, 10).offerOn(c));

        long start = System.nanoTime();
        assertFalse(c.awaitCapacity(10, start + 200_000_000L), "no room before the deadline");
        assertTrue(System.nanoTime() - start >= 190_000_000L, "waited until the deadline");

        CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(() -> awaitCapacity(c, WAIT));
        Wait.holds(() -> !waiter.isDone(), Duration.ofMillis(100), () -> "awaitCapacity blocks while full");
        fx.unblock();
        assertTrue(waiter.get(WAIT.toSeconds(), TimeUnit.SECONDS), "room once the frames were written");
    }

    void awaitCapacityReturnsFalseWhenTheConnectionCloses() throws Exception {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client", settings().maxQueuedFrames(1).build());
        fx.stall(client, server);
        TransportConnection c = client.connect(server);
        assertEquals(OFFERED, fx.frame(FrameType.REQUEST, 1, 10).offerOn(c));
        CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(() -> awaitCapacity(c, WAIT.multipliedBy(3)));
        Wait.holds(() -> !waiter.isDone(), Duration.ofMillis(100), () -> "awaitCapacity blocks while full");
        long start = System.nanoTime();
        c.close();
        assertFalse(waiter.get(WAIT.toSeconds(), TimeUnit.SECONDS), "false on close");
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "at once, not at the deadline");
        assertFalse(c.awaitCapacity(1, System.nanoTime() + WAIT.toNanos()), "false once closed");
    }
}
