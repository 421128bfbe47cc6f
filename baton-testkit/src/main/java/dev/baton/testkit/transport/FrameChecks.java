package dev.baton.testkit.transport;

import dev.baton.spi.FrameType;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;
import dev.baton.spi.TransportConnection;
import dev.baton.testkit.Wait;
import dev.baton.testkit.transport.ConformanceFixture.Endpoint;
import dev.baton.testkit.transport.ConformanceFixture.Link;
import dev.baton.testkit.transport.ConformanceFixture.Workers;
import dev.baton.testkit.transport.RecordingHandler.Received;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.baton.spi.TransportConnection.OFFERED;
import static dev.baton.testkit.transport.ConformanceFixture.WAIT;
import static dev.baton.testkit.transport.ConformanceFixture.settings;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checks of {@link TransportConformanceTest} on frames: every header field and the payload intact, the
 * handshake identity and onOpen first, GOAWAY, large and zero-length frames, many senders at once, pooled buffers
 * in steady traffic. Each method runs on the fixture of one test, and the suite's test of the same name calls it.
 */
final class FrameChecks {

    private final ConformanceFixture fx;

    FrameChecks(ConformanceFixture fx) {
        this.fx = fx;
    }

    void aFrameArrivesWithEveryHeaderFieldAndItsPayloadIntact() throws Exception {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client");
        Link link = fx.open(client, server);
        ByteBuffer payload = ByteBuffer.wrap("hello".getBytes());
        TrackedFrame request = fx.track(new TrackedFrame(FrameType.REQUEST, FrameType.FLAG_IDEMPOTENT, 0, 42L,
                7, -1, 513, 123_456_789L, payload));
        assertEquals(OFFERED, request.offerOn(link.client()));
        Received r = server.handler().awaitFrame(42L, WAIT);
        assertSame(link.server(), r.connection());
        assertEquals(List.of(FrameType.REQUEST, FrameType.FLAG_IDEMPOTENT, 0, 7, -1, 513),
                List.of(r.type(), r.flags(), r.status(), r.serviceId(), r.serverId(), r.method()));
        assertEquals(123_456_789L, r.timeoutNs());
        assertArrayEquals("hello".getBytes(), r.payload());
        assertTrue(request.awaitEnd(WAIT).written());
        assertEquals(0, payload.position(), "the transport must not move the caller's payload buffer");

        TrackedFrame answer = fx.track(new TrackedFrame(FrameType.RESPONSE, FrameType.FLAG_REFUSED, 0xBEEF, 42L,
                7, 3, 513, 0, null));
        assertEquals(OFFERED, answer.offerOn(link.server()));
        Received a = client.handler().awaitFrame(42L, WAIT);
        assertEquals(List.of(FrameType.RESPONSE, FrameType.FLAG_REFUSED, 0xBEEF, 3, 0),
                List.of(a.type(), a.flags(), a.status(), a.serverId(), a.payload().length));
        assertFalse(client.transport().inTransportThread(), "a test thread is not a transport thread");
    }

    void theHandshakeTellsEachSideThePeersIdentityAndOnOpenComesBeforeAnyFrame() {
        AtomicInteger clientRank = new AtomicInteger(7);
        Endpoint server = fx.endpoint("server", 0x1111, PeerIdentity.ROLE_MASTER, () -> -1,
                settings().maxMessageSize(3 << 20).maxConcurrentRequests(1234).build());
        Endpoint client = fx.endpoint("client", 0x2222, PeerIdentity.ROLE_TOOL, clientRank::get,
                settings().maxMessageSize(5 << 20).maxConcurrentRequests(4321).build());
        TransportConnection first = client.connect(server);
        // Offered before the handshake: it must reach the server's handler after onOpen (the fixture checks).
        assertEquals(OFFERED, fx.frame(FrameType.REQUEST, 1, 10).offerOn(first));
        Received r = server.handler().awaitFrame(1, WAIT);
        assertEquals(new PeerIdentity(0x1111, -1, PeerIdentity.ROLE_MASTER, 3 << 20, 1234, ProtocolVersion.MAX), first.remoteIdentity());
        assertEquals(new PeerIdentity(0x2222, 7, PeerIdentity.ROLE_TOOL, 5 << 20, 4321, ProtocolVersion.MAX),
                r.connection().remoteIdentity());
        Wait.until(() -> client.handler().opened().contains(first), WAIT, () -> "the client's onOpen");

        clientRank.set(8);      // the rank is read at each handshake
        Link second = fx.open(client, server);
        assertEquals(8, second.server().remoteIdentity().rank());
    }

    void goawayIsDeliveredLikeAnyFrameAndTheConnectionStaysOpen() {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client");
        Link link = fx.open(client, server);
        TrackedFrame goaway = fx.frame(FrameType.GOAWAY, 5, 12);
        assertEquals(OFFERED, goaway.offerOn(link.client()));
        assertEquals(OFFERED, fx.frame(FrameType.REQUEST, 6, 3).offerOn(link.client()));
        List<Received> got = server.handler().awaitFrames(2, WAIT);
        assertEquals(List.of(FrameType.GOAWAY, FrameType.REQUEST), got.stream().map(Received::type).toList());
        assertEquals(12, got.getFirst().payload().length);
        assertTrue(link.client().isOpen() && link.server().isOpen(), "GOAWAY is the runtime's business, not a close");
    }

    void largeAndZeroLengthFramesArriveIntactAndInOrder() throws Exception {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client");
        Link link = fx.open(client, server);
        int[] sizes = {0, 1, 4095, 4096, 4097, 65_495, 65_496, 65_536, (1 << 20) + 3, 3 << 20, 0, 8 << 20, 17};
        Random random = new Random(42);
        List<byte[]> sent = new ArrayList<>();
        List<ByteBuffer> buffers = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            byte[] bytes = new byte[sizes[i]];
            random.nextBytes(bytes);
            // Heap and direct payloads, each a window [3, 3 + size) of a larger buffer.
            ByteBuffer b = i % 2 == 0 ? ByteBuffer.allocate(sizes[i] + 6) : ByteBuffer.allocateDirect(sizes[i] + 6);
            b.put(3, bytes).position(3).limit(3 + sizes[i]);
            sent.add(bytes);
            buffers.add(b);
            TrackedFrame f = fx.track(new TrackedFrame(FrameType.REQUEST, 0, 0, i, 1, 0, 1, 0, i == 0 ? null : b));
            assertEquals(OFFERED, f.offerOn(link.client()));
        }
        List<Received> got = server.handler().awaitFrames(sizes.length, Duration.ofSeconds(30));
        for (int i = 0; i < sizes.length; i++) {
            assertEquals(i, got.get(i).requestId(), "order");
            assertArrayEquals(sent.get(i), got.get(i).payload(), "payload of frame " + i + " (" + sizes[i] + " B)");
            assertEquals(3, buffers.get(i).position(), "the caller's buffer is not moved");
            assertEquals(3 + sizes[i], buffers.get(i).limit());
        }
    }

    void framesOfferedFromManyThreadsArriveIntactAndInOrderPerThread() throws Exception {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client");
        Link link = fx.open(client, server);
        int threads = 4;
        int perThread = 2_000;
        Workers.start(threads, thread -> {
            for (int i = 0; i < perThread; i++) {
                // Sizes from 0 to 300 B, and every 100th frame 20 KiB: small frames copied, large ones gathered.
                int size = i % 100 == 99 ? 20_000 : (i * 7 + thread) % 301;
                TrackedFrame f = fx.frame(FrameType.REQUEST, (long) thread << 32 | i, size);
                if (f.offerOn(link.client()) != OFFERED) {
                    throw new AssertionError("offer refused under the default limits: " + f);
                }
            }
        }).join(Duration.ofSeconds(30));
        List<Received> got = server.handler().awaitFrames(threads * perThread, Duration.ofSeconds(30));
        int[] next = new int[threads];
        for (Received r : got) {
            int thread = (int) (r.requestId() >>> 32);
            int i = (int) r.requestId();
            assertEquals(next[thread]++, i, "frames of thread " + thread + " arrive in offer order");
            assertEquals(ConformanceFixture.payload(r.requestId(), r.payload().length), ByteBuffer.wrap(r.payload()),
                    "payload of " + thread + "/" + i);
        }
    }

    void steadyTrafficAllocatesNoBufferPerFrame() {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client");
        server.handler().onEachFrame(r -> fx.frame(FrameType.RESPONSE, r.requestId(), r.payload().length)
                .offerOn(r.connection()));
        Link link = fx.open(client, server);
        int next = exchange(link, client, 0, 1_000);       // warm-up: the pools fill
        long before = client.transport().stats().bufferAllocations() + server.transport().stats().bufferAllocations();
        int frames = 4_000;
        exchange(link, client, next, frames);
        long allocated = client.transport().stats().bufferAllocations()
                + server.transport().stats().bufferAllocations() - before;
        assertTrue(allocated <= frames / 500, allocated + " buffers allocated for " + 2 * frames
                + " frames after warm-up: the transport must lend pooled buffers");
    }

    /** {@code n} request-response rounds, 16 outstanding; returns the next request id. */
    private int exchange(Link link, Endpoint client, int firstId, int n) {
        int window = 16;
        for (int i = 0; i < n; i++) {
            int id = firstId + i;
            if (i >= window) {
                int waitFor = id - window;
                client.handler().awaitFrame(waitFor, WAIT);
            }
            assertEquals(OFFERED, fx.frame(FrameType.REQUEST, id, 200 + (i % 4) * 1000).offerOn(link.client()));
        }
        client.handler().awaitFrame(firstId + n - 1, WAIT);
        return firstId + n;
    }
}
