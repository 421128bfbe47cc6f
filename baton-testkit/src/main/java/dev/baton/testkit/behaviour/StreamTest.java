package dev.baton.testkit.behaviour;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.ClientStream;
import dev.baton.Message;
import dev.baton.MessageStream;
import dev.baton.Metadata;
import dev.baton.Node;
import dev.baton.ServerStream;
import dev.baton.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Streams over the transport under test, remote (caller and server on different nodes) and in process: the three
 * shapes (bidirectional, server streaming, client streaming), flow control bounding a slow reader's writer, metadata
 * and trailers, cancellation from either side, deadlines, and the typed errors of a wrong kind of method.
 */
@Timeout(60)
public abstract class StreamTest extends BehaviourTest {

    private static final int ECHO = 0;
    private static final int GENERATE = 1;
    private static final int SUM = 2;
    private static final int WAIT = 3;
    private static final int FAIL_AFTER_ONE = 4;
    private static final int UNARY = 5;
    private static final int CHUNK = 64 * 1024;

    /** Records what the WAIT handler's stream ended with, and when it started waiting. */
    private final AtomicReference<Status> waitEnded = new AtomicReference<>();
    private final CountDownLatch waiting = new CountDownLatch(1);
    private final CountDownLatch waitDone = new CountDownLatch(1);
    /** Bytes the GENERATE handler's sends have returned for. */
    private final AtomicLong generated = new AtomicLong();

    private void serve(Node node) {
        node.newServer("streams")
                .stream(ECHO, s -> {
                    s.trailers(Metadata.of("echoed-for", s.metadata().get("who") == null ? "" : s.metadata().get("who")));
                    for (Message m = s.receive(); m != null; m = s.receive()) {
                        s.send(m.buffer());
                        m.close();
                    }
                })
                .stream(GENERATE, s -> {
                    int count;
                    try (Message m = s.receive()) {
                        count = m.getInt(0);
                    }
                    byte[] chunk = new byte[CHUNK];
                    for (int i = 0; i < count; i++) {
                        chunk[0] = (byte) i;
                        s.send(chunk);
                        generated.addAndGet(CHUNK);
                    }
                })
                .stream(SUM, s -> {
                    long sum = 0;
                    for (Message m = s.receive(); m != null; m = s.receive()) {
                        sum += m.size();
                        m.close();
                    }
                    s.send(ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(0, sum));
                })
                .stream(WAIT, s -> {
                    waiting.countDown();
                    try {
                        s.receive();
                        waitEnded.set(Status.OK);
                    } catch (BatonException e) {
                        waitEnded.set(e.status());
                        throw e;
                    } finally {
                        waitDone.countDown();
                    }
                })
                .stream(FAIL_AFTER_ONE, s -> {
                    s.receive().close();
                    s.trailers(Metadata.of("retry-after-ms", "100"));
                    throw new BatonException(Status.of(Status.Code.RESOURCE_EXHAUSTED, "too many tensors"));
                })
                .inline(UNARY, call -> call.reply(call.request().buffer()))
                .start();
    }

    /** A client of the streams server: on another node, then on the server's own node (in process). */
    private List<Client> clients(Cluster c) throws InterruptedException {
        serve(c.node(0));
        List<Client> clients = new ArrayList<>();
        for (Node n : List.of(c.node(1), c.node(0))) {
            Client client = n.client("streams");
            client.awaitServers(1, Duration.ofSeconds(5));
            clients.add(client);
        }
        return clients;
    }

    private static String text(Message m) {
        try (m) {
            return StandardCharsets.UTF_8.decode(m.buffer()).toString();
        }
    }

    @Test
    void aBidirectionalStreamEchoesInOrderWithMetadataAndTrailers() throws Exception {
        try (Cluster c = cluster(2)) {
            for (Client client : clients(c)) {
                try (ClientStream s = client.openStream(ECHO, client.options().withMetadata(Metadata.of("who", "test")))) {
                    for (int i = 0; i < 200; i++) {
                        s.send(("message " + i).getBytes(StandardCharsets.UTF_8));
                    }
                    s.halfClose();
                    for (int i = 0; i < 200; i++) {
                        assertEquals("message " + i, text(s.receive()));
                    }
                    assertNull(s.receive(), "the server ended the stream");
                    assertTrue(s.isDone());
                    assertEquals("test", s.trailers().get("echoed-for"));
                }
            }
        }
    }

    @Test
    void aServerStreamLargerThanTheWindowArrivesWhole() throws Exception {
        try (Cluster c = cluster(2)) {
            for (Client client : clients(c)) {
                try (ClientStream s = client.openStream(GENERATE)) {
                    int count = 4 * MessageStream.WINDOW / CHUNK;
                    s.send(ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, count));
                    s.halfClose();
                    for (int i = 0; i < count; i++) {
                        try (Message m = s.receive()) {
                            assertEquals(CHUNK, m.size());
                            assertEquals((byte) i, m.getByte(0), "in order");
                        }
                    }
                    assertNull(s.receive());
                }
            }
        }
    }

    @Test
    void aClientStreamGetsOneAnswer() throws Exception {
        try (Cluster c = cluster(2)) {
            for (Client client : clients(c)) {
                try (ClientStream s = client.openStream(SUM)) {
                    long total = 0;
                    for (int i = 1; i <= 50; i++) {
                        s.send(new byte[i * 1000]);
                        total += i * 1000;
                    }
                    s.halfClose();
                    try (Message m = s.receive()) {
                        assertEquals(total, m.getLong(0));
                    }
                    assertNull(s.receive());
                }
            }
        }
    }

    @Test
    void aSlowReaderHoldsItsWriterToTheWindow() throws Exception {
        try (Cluster c = cluster(2)) {
            Client client = clients(c).getFirst();
            try (ClientStream s = client.openStream(GENERATE)) {
                int count = 8 * MessageStream.WINDOW / CHUNK;
                s.send(ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, count));
                s.halfClose();
                Thread.sleep(300);      // not reading: the server must stop at the window
                long sent = generated.get();
                assertTrue(sent <= MessageStream.WINDOW && sent >= MessageStream.WINDOW / 2,
                        "the writer sent " + sent + " bytes to a reader that took none");
                int received = 0;
                Message m;
                while ((m = s.receive()) != null) {
                    m.close();
                    received++;
                }
                assertEquals(count, received);
            }
        }
    }

    @Test
    void cancellingFromTheClientEndsBothSides() throws Exception {
        try (Cluster c = cluster(2)) {
            Client client = clients(c).getFirst();
            ClientStream s = client.openStream(WAIT);
            assertTrue(waiting.await(10, TimeUnit.SECONDS));
            s.cancel();
            assertTrue(waitDone.await(10, TimeUnit.SECONDS), "the handler's receive returned");
            assertEquals(Status.Code.CANCELLED, waitEnded.get().code());
            BatonException e = assertThrows(BatonException.class, s::receive);
            assertEquals(Status.Code.CANCELLED, e.code());
            assertTrue(s.isDone());
        }
    }

    @Test
    void cancellingInProcessEndsBothSides() throws Exception {
        try (Cluster c = cluster(2)) {
            Client client = clients(c).get(1);        // the server's own node: no CANCEL frame, the flows tell
            ClientStream s = client.openStream(WAIT);
            assertTrue(waiting.await(10, TimeUnit.SECONDS));
            s.cancel();
            assertTrue(waitDone.await(10, TimeUnit.SECONDS), "the handler's receive returned");
            assertEquals(Status.Code.CANCELLED, waitEnded.get().code());
            assertEquals(Status.Code.CANCELLED, assertThrows(BatonException.class, s::receive).code());
        }
    }

    @Test
    void aHandlerThatFailsEndsTheStreamWithItsStatusAndTrailers() throws Exception {
        try (Cluster c = cluster(2)) {
            for (Client client : clients(c)) {
                try (ClientStream s = client.openStream(FAIL_AFTER_ONE)) {
                    s.send(new byte[]{1});
                    BatonException e = assertThrows(BatonException.class, s::receive);
                    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.code());
                    assertEquals("too many tensors", e.status().description());
                    assertEquals("100", e.status().metadata().get("retry-after-ms"));
                    assertThrows(BatonException.class, () -> s.send(new byte[]{2}), "nothing more to send to");
                }
            }
        }
    }

    @Test
    void theDeadlineEndsAStreamOnBothSides() throws Exception {
        try (Cluster c = cluster(2)) {
            Client client = clients(c).getFirst();
            long start = System.nanoTime();
            ClientStream s = client.openStream(WAIT, CallOptions.DEFAULT.withTimeout(Duration.ofMillis(300)));
            BatonException e = assertThrows(BatonException.class, s::receive);
            long tookMs = (System.nanoTime() - start) / 1_000_000L;
            assertEquals(Status.Code.DEADLINE_EXCEEDED, e.code());
            assertTrue(tookMs >= 250 && tookMs < 5_000, "ended after " + tookMs + " ms");
            assertTrue(waitDone.await(10, TimeUnit.SECONDS), "the handler was released too");
            Status.Code seen = waitEnded.get().code();
            assertTrue(seen == Status.Code.DEADLINE_EXCEEDED || seen == Status.Code.CANCELLED, seen.toString());
        }
    }

    @Test
    void aCallAndAStreamEachRefuseTheOtherKindOfMethod() throws Exception {
        try (Cluster c = cluster(2)) {
            for (Client client : clients(c)) {
                BatonException unary = assertThrows(BatonException.class,
                        () -> client.call(ECHO, ByteBuffer.allocate(1)));
                assertEquals(Status.Code.NO_SUCH_METHOD, unary.code());
                // In process the refusal is known while opening; remotely it arrives after: either way, typed.
                BatonException e = assertThrows(BatonException.class, () -> {
                    try (ClientStream s = client.openStream(UNARY)) {
                        s.receive();
                    }
                });
                assertEquals(Status.Code.NO_SUCH_METHOD, e.code());
                assertTrue(e.status().retrySafe(), "refused before any handler ran");
            }
        }
    }

    @Test
    void aStreamToAMissingServiceFailsAtOnce() throws Exception {
        try (Cluster c = cluster(2)) {
            BatonException e = assertThrows(BatonException.class, () -> c.node(1).client("nobody").openStream(0));
            assertEquals(Status.Code.NO_SUCH_SERVICE, e.code());
        }
    }

    @Test
    void bytesSentAreCopied() throws Exception {
        try (Cluster c = cluster(2)) {
            for (Client client : clients(c)) {
                try (ClientStream s = client.openStream(ECHO)) {
                    byte[] buf = "first".getBytes(StandardCharsets.UTF_8);
                    s.send(buf);
                    buf[0] = 'X';       // reused at once: the stream sent a copy
                    s.halfClose();
                    try (Message m = s.receive()) {
                        assertArrayEquals("first".getBytes(StandardCharsets.UTF_8), m.toByteArray());
                    }
                }
            }
        }
    }
}
