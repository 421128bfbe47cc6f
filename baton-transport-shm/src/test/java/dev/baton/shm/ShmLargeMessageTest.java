package dev.baton.shm;

import dev.baton.Client;
import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.ResponseListener;
import dev.baton.BatonException;
import dev.baton.SharedMemory;
import dev.baton.spi.TransportFactory;
import dev.baton.testkit.behaviour.Cluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Large messages between two nodes over shared memory: their bodies go beside the ring, in payload files, and are
 * read in place; what a reader keeps stays intact; files go back when idle, and nothing is left behind. What is
 * mapped is read from {@code /proc/self/maps}: both nodes run in this process, so it shows both sides' files.
 */
@Timeout(120)
class ShmLargeMessageTest {

    private static final int RING = 64 * 1024;

    private final ShmTestDirectory dir = new ShmTestDirectory();

    @AfterEach
    void nothingIsLeft() throws Exception {
        assertEventually(() -> payloadMappings().isEmpty(), "payload files still mapped: " + payloadMappings());
        assertEquals(List.of(), dir.contents(), "files left in " + dir.path);
        dir.close();
    }

    private TransportFactory shm(long payloadBytes) {
        return SharedMemoryTransport.builder().mode(SharedMemory.REQUIRED).directory(dir.path).ringBytes(RING)
                .payloadBytes(payloadBytes).build();
    }

    /** A master, an echo server "a" and a caller "b". */
    private final class Pair implements AutoCloseable {
        final Master master = Master.start(MasterOptions.builder().build());
        final Node a;
        final Node b;
        final Client echo;

        Pair(TransportFactory server, TransportFactory caller) throws InterruptedException {
            a = Node.join(NodeOptions.builder().name("a").master(master.address()).transport(server).build());
            b = Node.join(NodeOptions.builder().name("b").master(master.address()).transport(caller).build());
            Cluster.startEcho(a, "echo");
            echo = b.client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
        }

        @Override
        public void close() {
            b.close();
            a.close();
            master.close();
        }
    }

    private static byte[] random(int size, int seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** The address ranges of this directory's payload files that this process maps now. */
    private List<long[]> payloadMappings() throws IOException {
        String prefix = dir.path + "/pay-";
        List<long[]> ranges = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            if (line.contains(prefix)) {
                String[] range = line.substring(0, line.indexOf(' ')).split("-");
                ranges.add(new long[] {Long.parseUnsignedLong(range[0], 16), Long.parseUnsignedLong(range[1], 16)});
            }
        }
        return ranges;
    }

    private boolean inPayloadFile(long address) throws IOException {
        return payloadMappings().stream().anyMatch(r -> address >= r[0] && address < r[1]);
    }

    private static void assertEventually(BooleanSupplierIO condition, String what) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.get()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(50);
        }
    }

    private interface BooleanSupplierIO {
        boolean get() throws IOException;
    }

    @Test
    void largeBodiesGoBesideTheRingBothWaysAndArriveIntact() throws Exception {
        try (Pair p = new Pair(shm(SharedMemoryTransport.DEFAULT_PAYLOAD_BYTES), shm(SharedMemoryTransport.DEFAULT_PAYLOAD_BYTES))) {
            int seed = 0;
            for (int size : new int[] {ShmPayloads.THRESHOLD - 1, ShmPayloads.THRESHOLD, 100_000, 1 << 20,
                    (16 << 20) + 3}) {
                byte[] request = random(size, seed++);
                assertArrayEquals(request, p.echo.call(Cluster.ECHO, request), size + " bytes");
            }
            // Each direction made files, and each side maps the other's: four mappings at least.
            assertTrue(payloadMappings().size() >= 4, "payload files mapped: " + payloadMappings().size());
        }
    }

    /** The handler's request and the listener's response are views of a payload file: no copy out of it. */
    @Test
    void handlersAndListenersReadLargeBodiesInPlace() throws Exception {
        try (Master master = Master.start(MasterOptions.builder().build());
             Node a = Node.join(NodeOptions.builder().name("a").master(master.address()).transport(shm(64L << 20)).build());
             Node b = Node.join(NodeOptions.builder().name("b").master(master.address()).transport(shm(64L << 20)).build())) {
            CompletableFuture<Boolean> handlerInPlace = new CompletableFuture<>();
            a.newServer("echo").inline(Cluster.ECHO, call -> {
                try {
                    handlerInPlace.complete(inPayloadFile(call.request().segment().address()));
                } catch (IOException e) {
                    handlerInPlace.completeExceptionally(e);
                }
                call.reply(call.request().buffer());
            }).start();
            Client echo = b.client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            CompletableFuture<Boolean> listenerInPlace = new CompletableFuture<>();
            byte[] request = random(1 << 20, 42);
            echo.call(Cluster.ECHO, ByteBuffer.wrap(request), new ResponseListener() {
                @Override
                public void onResponse(Message response) {
                    try {
                        assertArrayEquals(request, response.toByteArray());
                        listenerInPlace.complete(inPayloadFile(response.segment().address()));
                    } catch (IOException | AssertionError e) {
                        listenerInPlace.completeExceptionally(e);
                    }
                }

                @Override
                public void onFailure(BatonException e) {
                    listenerInPlace.completeExceptionally(e);
                }
            });
            assertTrue(handlerInPlace.get(10, TimeUnit.SECONDS), "the handler's request was copied");
            assertTrue(listenerInPlace.get(10, TimeUnit.SECONDS), "the listener's response was copied");
        }
    }

    /**
     * Responses a caller keeps, unclosed, hold their files: the writer makes others, then, over its budget, sends
     * through the ring; none of the kept bodies is ever written over.
     */
    @Test
    void keptResponsesKeepTheirBytesAndTheWriterFallsBackToTheRing() throws Exception {
        try (Pair p = new Pair(shm(2L << 20), shm(2L << 20))) {
            List<byte[]> sent = new ArrayList<>();
            List<Message> kept = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                byte[] request = random(300_000, i);
                sent.add(request);
                kept.add(p.echo.callAsync(Cluster.ECHO, request).get(10, TimeUnit.SECONDS));
            }
            for (int i = 0; i < kept.size(); i++) {
                assertArrayEquals(sent.get(i), kept.get(i).toByteArray(), "response " + i);
            }
            kept.forEach(Message::close);
            byte[] after = random(300_000, 99);
            assertArrayEquals(after, p.echo.call(Cluster.ECHO, after), "once they were closed");
        }
    }

    @Test
    void aResponseKeptPastTheClusterIsStillReadableUntilClosed() throws Exception {
        byte[] request = random(1 << 20, 5);
        Message kept;
        try (Pair p = new Pair(shm(64L << 20), shm(64L << 20))) {
            kept = p.echo.callAsync(Cluster.ECHO, request).get(10, TimeUnit.SECONDS);
        }
        assertArrayEquals(request, kept.toByteArray());
        assertTrue(inPayloadFile(kept.segment().address()), "still the payload file's bytes, still mapped");
        kept.close();       // the file is unmapped now: @AfterEach checks
    }

    @Test
    void idleFilesAreGivenBackAndMadeAgainWhenNeeded() throws Exception {
        try (Pair p = new Pair(shm(64L << 20), shm(64L << 20))) {
            for (int i = 0; i < 4; i++) {
                byte[] request = random(1 << 20, i);
                assertArrayEquals(request, p.echo.call(Cluster.ECHO, request));
            }
            assertTrue(!payloadMappings().isEmpty());
            assertEventually(() -> payloadMappings().isEmpty(), "idle files were not given back");
            byte[] again = random(1 << 20, 9);
            assertArrayEquals(again, p.echo.call(Cluster.ECHO, again));
            assertTrue(!payloadMappings().isEmpty(), "no file was made for the next body");
        }
    }

    @Test
    void aPeerThatReadsNoPayloadFilesGetsEveryBodyThroughTheRing() throws Exception {
        try (Pair p = new Pair(shm(0), shm(SharedMemoryTransport.DEFAULT_PAYLOAD_BYTES))) {
            for (int size : new int[] {100_000, 1 << 20, 4 << 20}) {
                byte[] request = random(size, size);
                assertArrayEquals(request, p.echo.call(Cluster.ECHO, request));
            }
            assertEquals(List.of(), payloadMappings(), "no payload file either way");
            assertEquals("shm", p.b.stats().pathsByRank().get(p.a.rank()));
        }
    }
}
