package dev.baton.compression;

import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Compression;
import dev.baton.Master;
import dev.baton.Message;
import dev.baton.Metadata;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Compression between real nodes over TCP: what a call asks for is granted where it pays and the peer takes it, and
 * the bytes on the wire (each node's {@code bytesSent}) show it; nothing else changes for the caller.
 */
@Timeout(120)
class CompressionTest {

    private static final int MIB = 1 << 20;
    private static final int ECHO = 0;
    /** Answers a request naming a size with that many compressible bytes. */
    private static final int GENERATE = 1;

    private final List<AutoCloseable> open = new ArrayList<>();
    private Node caller;
    private Node server;
    private Client client;

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private void start(UnaryOperator<NodeOptions.Builder> callerOptions, UnaryOperator<NodeOptions.Builder> serverOptions)
            throws InterruptedException {
        Master master = Master.start(0);
        open.add(master);
        server = join(serverOptions.apply(options(master, "server")));
        Server s = server.newServer("svc")
                .blocking(ECHO, call -> call.reply(call.request().buffer()))
                .blocking(GENERATE, call -> call.reply(compressible(call.request().getInt(0), 7)))
                .start();
        open.add(s);
        caller = join(callerOptions.apply(options(master, "caller")));
        client = caller.client("svc");
        client.awaitServers(1, Duration.ofSeconds(20));
    }

    private void start() throws InterruptedException {
        start(b -> b, b -> b);
    }

    private static NodeOptions.Builder options(Master master, String name) {
        return NodeOptions.builder().master(master.address()).name(name).defaultTimeout(Duration.ofSeconds(30));
    }

    private Node join(NodeOptions.Builder options) {
        Node n = Node.join(options.build());
        open.add(n);
        return n;
    }

    /** {@code size} bytes of text-like data: a few words repeated with variations, which zstd and lz4 shrink well. */
    static byte[] compressible(int size, long seed) {
        Random r = new Random(seed);
        String[] words = {"tensor ", "gradient ", "rank ", "shard ", "epoch ", "batch ", "loss=0.", "step "};
        byte[] out = new byte[size];
        int i = 0;
        while (i < size) {
            byte[] w = (words[r.nextInt(words.length)] + (r.nextInt(10))).getBytes(StandardCharsets.US_ASCII);
            int n = Math.min(w.length, size - i);
            System.arraycopy(w, 0, out, i, n);
            i += n;
        }
        return out;
    }

    static byte[] random(int size, long seed) {
        byte[] out = new byte[size];
        new Random(seed).nextBytes(out);
        return out;
    }

    private static ByteBuffer direct(byte[] bytes) {
        return ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
    }

    /** Calls {@code method} with {@code request} and returns the response's bytes and each node's bytes sent meanwhile. */
    private Exchange exchange(int method, ByteBuffer request, CallOptions options) {
        long callerBefore = caller.stats().bytesSent();
        long serverBefore = server.stats().bytesSent();
        byte[] response;
        try (Message m = client.call(method, request, options)) {
            response = m.toByteArray();
        }
        return new Exchange(response, settled(() -> caller.stats().bytesSent()) - callerBefore,
                settled(() -> server.stats().bytesSent()) - serverBefore);
    }

    /**
     * A byte counter once it has stopped moving. A sender counts bytes just after it writes them, so the caller can
     * hold the response before the server has counted the frame that carried it.
     */
    private static long settled(java.util.function.LongSupplier counter) {
        long last = counter.getAsLong();
        for (int i = 0; i < 100; i++) {
            java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
            long now = counter.getAsLong();
            if (now == last) {
                return now;
            }
            last = now;
        }
        return last;
    }

    private record Exchange(byte[] response, long callerSent, long serverSent) {
    }

    @ParameterizedTest
    @EnumSource(value = Compression.class, names = {"ZSTD", "LZ4"})
    void aCompressibleMessageIsCompressedBothWays(Compression compression) throws Exception {
        start();
        byte[] payload = compressible(MIB, 1);
        for (ByteBuffer request : List.of(ByteBuffer.wrap(payload), direct(payload))) {
            Exchange e = exchange(ECHO, request, client.options().withCompression(compression));
            assertArrayEquals(payload, e.response(), "the echo comes back intact");
            assertTrue(e.callerSent() < MIB / 2, compression + ": the request took " + e.callerSent() + " bytes");
            assertTrue(e.serverSent() < MIB / 2, compression + ": the response took " + e.serverSent() + " bytes");
        }
    }

    @Test
    void sharedMemoryConnectionsCompressToo() throws Exception {
        UnaryOperator<NodeOptions.Builder> shm = b -> b.transport(
                dev.baton.shm.SharedMemoryTransport.factory(dev.baton.SharedMemory.REQUIRED));
        start(shm, shm);
        byte[] payload = compressible(MIB, 8);
        Exchange e = exchange(ECHO, ByteBuffer.wrap(payload), client.options().withCompression(Compression.LZ4));
        assertArrayEquals(payload, e.response());
        assertEquals("shm", caller.stats().pathsByRank().get(server.rank()));
        assertTrue(e.callerSent() < MIB / 2 && e.serverSent() < MIB / 2, e.toString());
    }

    @Test
    void withoutCompressionTheSameMessageTakesItsFullSize() throws Exception {
        start();
        byte[] payload = compressible(MIB, 1);
        Exchange e = exchange(ECHO, ByteBuffer.wrap(payload), client.options());
        assertArrayEquals(payload, e.response());
        assertTrue(e.callerSent() > MIB && e.serverSent() > MIB, e.toString());
    }

    @Test
    void anIncompressibleMessageGoesAsItIs() throws Exception {
        start();
        byte[] payload = random(MIB, 2);
        Exchange e = exchange(ECHO, ByteBuffer.wrap(payload), client.options().withCompression(Compression.ZSTD));
        assertArrayEquals(payload, e.response());
        assertTrue(e.callerSent() >= MIB && e.callerSent() < MIB + 4096, "sent as it is: " + e.callerSent());
    }

    @Test
    void aSmallRequestStillGetsItsLargeResponseCompressed() throws Exception {
        start();
        byte[] size = ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, MIB).array();
        Exchange e = exchange(GENERATE, ByteBuffer.wrap(size), client.options().withCompression(Compression.LZ4));
        assertArrayEquals(compressible(MIB, 7), e.response());
        assertTrue(e.serverSent() < MIB / 2, "the response took " + e.serverSent() + " bytes");
    }

    @Test
    void messagesBelowTheThresholdAreNotCompressed() throws Exception {
        start(b -> b.compressionThreshold(64 * 1024), b -> b);
        byte[] payload = compressible(32 * 1024, 3);
        Exchange e = exchange(ECHO, ByteBuffer.wrap(payload), client.options().withCompression(Compression.ZSTD));
        assertArrayEquals(payload, e.response());
        assertTrue(e.callerSent() >= payload.length, "below the caller's threshold: " + e.callerSent());
        assertTrue(e.serverSent() < payload.length / 2, "the server's threshold is its own: " + e.serverSent());
    }

    @Test
    void aPeerThatTakesNoCompressionGetsPlainMessages() throws Exception {
        start(b -> b, b -> b.acceptCompression(false));
        byte[] payload = compressible(MIB, 4);
        Exchange e = exchange(ECHO, ByteBuffer.wrap(payload), client.options().withCompression(Compression.ZSTD));
        assertArrayEquals(payload, e.response());
        assertTrue(e.callerSent() > MIB && e.serverSent() > MIB, e.toString());
    }

    @Test
    void metadataTravelsBesideACompressedMessage() throws Exception {
        Master master = Master.start(0);
        open.add(master);
        server = join(options(master, "server"));
        open.add(server.newServer("meta").blocking(ECHO, call -> {
            call.responseMetadata(Metadata.of("seen", call.metadata().get("trace")));
            call.reply(call.request().buffer());
        }).start());
        caller = join(options(master, "caller"));
        Client meta = caller.client("meta");
        meta.awaitServers(1, Duration.ofSeconds(20));
        byte[] payload = compressible(256 * 1024, 5);
        CallOptions o = meta.options().withCompression(Compression.ZSTD).withMetadata(Metadata.of("trace", "t-1"));
        try (Message m = meta.call(ECHO, ByteBuffer.wrap(payload), o)) {
            assertArrayEquals(payload, m.toByteArray());
            assertEquals("t-1", m.metadata().get("seen"));
        }
    }

    @Test
    void manyConcurrentCompressedCallsAllComeBackIntact() throws Exception {
        start();
        CallOptions o = client.options().withCompression(Compression.LZ4);
        List<java.util.concurrent.CompletableFuture<Message>> calls = new ArrayList<>();
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            byte[] p = compressible(2048 + i * 997, i);
            sent.add(p);
            calls.add(client.callAsync(ECHO, ByteBuffer.wrap(p), o));
        }
        for (int i = 0; i < calls.size(); i++) {
            try (Message m = calls.get(i).get(30, java.util.concurrent.TimeUnit.SECONDS)) {
                assertArrayEquals(sent.get(i), m.toByteArray(), "call " + i);
            }
        }
    }

    @Test
    void compressionIsKnownToThisProcess() throws Exception {
        assertTrue(Compression.ZSTD.isAvailable() && Compression.LZ4.isAvailable());
        assertThrows(NullPointerException.class, () -> CallOptions.DEFAULT.withCompression(null));
        assertEquals(Compression.ZSTD, CallOptions.DEFAULT.withCompression(Compression.ZSTD).compression());
    }
}
