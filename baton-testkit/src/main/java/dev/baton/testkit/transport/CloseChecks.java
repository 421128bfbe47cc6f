package dev.baton.testkit.transport;

import dev.baton.BatonException;
import dev.baton.Status;
import dev.baton.spi.FrameType;
import dev.baton.spi.TransportConnection;
import dev.baton.testkit.Wait;
import dev.baton.testkit.transport.ConformanceFixture.Endpoint;
import dev.baton.testkit.transport.ConformanceFixture.Link;
import dev.baton.testkit.transport.ConformanceFixture.Workers;
import dev.baton.testkit.transport.RecordingHandler.Received;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static dev.baton.spi.TransportConnection.BACK_PRESSURED;
import static dev.baton.spi.TransportConnection.CLOSED;
import static dev.baton.spi.TransportConnection.OFFERED;
import static dev.baton.testkit.transport.ConformanceFixture.WAIT;
import static dev.baton.testkit.transport.ConformanceFixture.awaitCapacity;
import static dev.baton.testkit.transport.ConformanceFixture.settings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checks of {@link TransportConformanceTest} on closing: each frame written or dropped exactly once, a dropped
 * frame never reaching the peer, one onClose at each end, and closing a whole transport. Each method runs on the
 * fixture of one test, and the suite's test of the same name calls it.
 */
final class CloseChecks {

    private final ConformanceFixture fx;

    CloseChecks(ConformanceFixture fx) {
        this.fx = fx;
    }

    void closingAConnectionDropsWhatWasNotWrittenAndThePeerNeverReceivesIt() throws Exception {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client");
        Link stalled = fx.stall(client, server);
        TransportConnection c = client.connect(server);
        List<TrackedFrame> queued = new ArrayList<>();
        for (int i = 1; i <= 20; i++) {
            queued.add(fx.frame(i % 2 == 0 ? FrameType.REQUEST : FrameType.RESPONSE, i, 100 * i));
            assertEquals(OFFERED, queued.getLast().offerOn(c));
        }
        c.close();
        for (TrackedFrame f : queued) {
            assertFalse(f.awaitEnd(WAIT).written(), "never written: " + f);
            assertEquals(Status.Code.CLOSED, f.dropCause().code(), "dropped with CLOSED by a local close");
        }
        assertEquals(Status.Code.CLOSED, client.handler().awaitClosed(c, WAIT).code());
        c.close();      // idempotent: no second onClose (the fixture checks)

        fx.unblock();
        // The server accepts the closed connection late, then sees it end; none of its frames may arrive.
        Wait.until(() -> server.handler().closedConnections() >= 1, WAIT, () -> "the server's end closed");
        assertEquals(List.of(), server.handler().frames().stream()
                .filter(r -> r.connection() != stalled.server()).toList());
    }

    void everyFrameIsWrittenOrDroppedExactlyOnceWhenTheConnectionClosesMidStream() throws Exception {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client");
        Link link = fx.open(client, server);
        // 32 MiB in 16 KiB frames; the server's loop stops reading at frame 50, so the close finds frames received,
        // frames written but not read (in the byte stream), and frames still queued (more than any stream holds).
        List<TrackedFrame> frames = new ArrayList<>();
        for (int i = 0; i < 2_048; i++) {
            frames.add(fx.frame(FrameType.REQUEST, i, 16 << 10));
        }
        frames.get(50).setHeader(FrameType.REQUEST, 0, 0, 50, 1, 0, RecordingHandler.BLOCK, 0);
        Workers sender = Workers.start(1, ignored -> {
            for (TrackedFrame f : frames) {
                while (f.offerOn(link.client()) == BACK_PRESSURED) {
                    awaitCapacity(link.client(), WAIT);
                }
            }
        });
        server.handler().awaitBlocked(WAIT);
        sender.join(Duration.ofSeconds(30));
        link.client().close();
        fx.unblock();       // the server reads what reached it, then the end of the stream
        server.handler().awaitClosed(link.server(), WAIT);
        Wait.until(() -> frames.stream().allMatch(TrackedFrame::ended), WAIT, () -> "every frame's fate");
        List<Long> received = server.handler().frames().stream().map(Received::requestId).toList();
        for (long id : received) {
            assertTrue(frames.get((int) id).written(), "frame " + id + " arrived, so it was reported written");
        }
        assertEquals(received.size(), Set.copyOf(received).size(), "no frame arrived twice");
        assertTrue(received.size() > 50, "frames before the stall arrived: " + received.size());
        assertTrue(frames.stream().anyMatch(f -> !f.written()), "the close came while frames were queued");
        assertEquals(1, client.handler().closeCount(link.client()));
    }

    void closingOneEndClosesTheOtherAndEachSeesOnCloseOnce() {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client");
        Link link = fx.open(client, server);
        link.client().close();
        assertEquals(Status.Code.CLOSED, client.handler().awaitClosed(link.client(), WAIT).code());
        BatonException atServer = server.handler().awaitClosed(link.server(), WAIT);
        assertEquals(Status.Code.UNAVAILABLE, atServer.code(), "the peer went away: " + atServer);
        Wait.until(() -> !link.server().isOpen(), WAIT, () -> "the server's end closed");
        assertEquals(CLOSED, fx.frame(FrameType.RESPONSE, 1, 1).offerOn(link.server()));
    }

    void closingTheTransportClosesEveryConnectionAndStopsItsThreads() {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client");
        List<Link> links = List.of(fx.open(client, server), fx.open(client, server), fx.open(client, server));
        client.transport().close();
        client.transport().close();     // idempotent
        for (Link l : links) {
            assertFalse(l.client().isOpen());
            assertEquals(1, client.handler().closeCount(l.client()), "onClose reported by the time close returns");
            server.handler().awaitClosed(l.server(), WAIT);
        }
        Wait.until(() -> fx.liveThreads().stream().noneMatch(t -> t.contains("client")), WAIT,
                () -> "the client's threads gone: " + fx.liveThreads());
        assertEquals(0, client.transport().stats().openConnections());
    }

    void aTransportClosedWhileItAcceptsLeavesNoConnectionBehind() throws Exception {
        // A race: the stalled loop resumes and accepts while close() runs. Repeated, so a transport that can lose it
        // (track a connection after closing them all) fails here most of the time.
        for (int round = 0; round < 50; round++) {
            try (ConformanceFixture race = new ConformanceFixture(fx.factory())) {
                Endpoint client = race.endpoint("client", settings().build());
                Endpoint server = race.endpoint("server", settings().build());
                race.stall(client, server);
                client.connect(server);
                client.connect(server);
                race.unblock();
                server.transport().close();
                assertEquals(0, server.transport().stats().openConnections(),
                        "round " + round + ": a connection outlived its transport: " + server.transport().stats());
            }
        }
    }
}
