package dev.baton.testkit.transport;

import dev.baton.BatonException;
import dev.baton.Status;
import dev.baton.spi.FrameType;
import dev.baton.spi.TransportConnection;
import dev.baton.testkit.Wait;
import dev.baton.testkit.transport.ConformanceFixture.Endpoint;
import dev.baton.testkit.transport.ConformanceFixture.Link;
import dev.baton.testkit.transport.RecordingHandler.Received;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.baton.spi.TransportConnection.CLOSED;
import static dev.baton.spi.TransportConnection.OFFERED;
import static dev.baton.testkit.transport.ConformanceFixture.WAIT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checks of {@link TransportConformanceTest} on connections: poll() from a caller's thread, many connections at
 * once, a connect where nobody listens, and listening. Each method runs on the fixture of one test, and the suite's
 * test of the same name calls it.
 */
final class ConnectionChecks {

    private final ConformanceFixture fx;

    ConnectionChecks(ConformanceFixture fx) {
        this.fx = fx;
    }

    void pollDeliversFramesOnTheCallersThreadWhileTheLoopIsBusy() throws Exception {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client");
        Link polled = fx.open(client, server);
        fx.stall(client, server);       // the server's loop is busy for good: only poll() can read now
        assertEquals(OFFERED, fx.frame(FrameType.REQUEST, 77, 100).offerOn(polled.client()));
        long end = System.nanoTime() + WAIT.toNanos();
        boolean read = false;
        while (!read && System.nanoTime() - end < 0) {
            read = polled.server().poll();
        }
        assertTrue(read, "poll() read the frame");
        Received r = server.handler().awaitFrame(77, Duration.ZERO);
        assertSame(Thread.currentThread(), r.thread(), "delivered on the polling thread");
        assertTrue(r.readByCurrentThread(), "readByCurrentThread() while polling");
        assertFalse(polled.server().readByCurrentThread(), "not once poll() returned");
        assertFalse(polled.server().poll(), "nothing more to read");
    }

    void fiftyConnectionsAtOnceEachGetTheirOwnAnswers() {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client");
        server.handler().onEachFrame(r -> fx.frame(FrameType.RESPONSE, r.requestId(), r.payload().length)
                .offerOn(r.connection()));
        List<TransportConnection> connections = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            connections.add(client.connect(server));
        }
        for (int i = 0; i < 50; i++) {
            for (int j = 0; j < 10; j++) {
                assertEquals(OFFERED, fx.frame(FrameType.REQUEST, i * 1000L + j, j * 10).offerOn(connections.get(i)));
            }
        }
        List<Received> answers = client.handler().awaitFrames(500, WAIT);
        for (Received a : answers) {
            assertSame(connections.get((int) (a.requestId() / 1000)), a.connection(), "answer " + a.requestId());
            assertEquals(FrameType.RESPONSE, a.type());
        }
        assertEquals(50, server.transport().stats().openConnections());
        assertEquals(50, client.transport().stats().connectionsOpened());
        client.transport().close();
        Wait.until(() -> server.handler().closedConnections() == 50, WAIT, () -> "50 closes at the server");
        Wait.until(() -> server.transport().stats().openConnections() == 0, WAIT, () -> "none open at the server");
    }

    void aConnectToAnAddressNobodyListensOnClosesWithUnavailable() throws Exception {
        Endpoint gone = fx.endpoint("gone");
        gone.transport().close();
        Endpoint client = fx.endpoint("client");
        Object attached = new Object();
        AtomicInteger attachCalls = new AtomicInteger();
        TransportConnection c = client.transport().connect(gone.node(), conn -> {
            attachCalls.incrementAndGet();
            return attached;
        });
        assertSame(attached, c.attachment(), "attached before connect returns");
        TrackedFrame f = fx.frame(FrameType.REQUEST, 1, 10);
        int offered = f.offerOn(c);
        BatonException cause = client.handler().awaitClosed(c, WAIT);
        assertEquals(Status.Code.UNAVAILABLE, cause.code());
        if (offered == OFFERED) {
            assertEquals(Status.Code.UNAVAILABLE, f.awaitEnd(WAIT).dropCause().code());
        } else {
            assertEquals(CLOSED, offered);
        }
        assertEquals(1, attachCalls.get());
        assertFalse(c.isOpen());
        assertEquals(List.of(), client.handler().opened());
    }

    void listenOnPortZeroPicksAFreePortAndABoundPortCannotBeTakenAgain() throws Exception {
        Endpoint a = fx.endpoint("a");
        Endpoint b = fx.endpoint("b");
        InetSocketAddress second = a.transport().listen(new InetSocketAddress("127.0.0.1", 0));
        assertNotEquals(0, second.getPort());
        assertNotEquals(a.address().getPort(), second.getPort());
        assertThrows(IOException.class, () -> b.transport().listen(a.address()));
        for (InetSocketAddress address : List.of(a.address(), second)) {
            TransportConnection c = b.connect(address);
            Wait.until(() -> b.handler().opened().contains(c), WAIT, () -> "a connection to " + address);
        }
    }
}
