package dev.baton.compression;

import com.github.luben.zstd.Zstd;
import dev.baton.Client;
import dev.baton.Compression;
import dev.baton.Master;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Server;
import dev.baton.spi.FrameType;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;
import dev.baton.spi.connection.FrameLayout;
import dev.baton.spi.connection.Handshake;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Compressed frames written by hand from docs/protocol.md#compression: a well-formed one is served and answered
 * compressed as asked; a hostile one (a size that lies, a bomb, garbage, an encoding never offered, a compressed
 * frame of a kind that cannot be) closes only its own connection, counted as a protocol error, before anything is
 * allocated for a size over the limit, and the node goes on serving everyone else.
 */
@Timeout(60)
class CompressedFramesTest {

    private static final int MAX_MESSAGE = 1 << 20;
    private static final int ZSTD = Compression.ZSTD.id();
    private static final long TIMEOUT_NS = 10_000_000_000L;

    private Master master;
    private Node node;
    private Node other;
    private Server echo;

    @BeforeEach
    void start() throws Exception {
        master = Master.start(0);
        node = Node.join(NodeOptions.builder().master(master.address()).name("server").maxMessageSize(MAX_MESSAGE).build());
        echo = node.newServer("echo").inline(0, call -> call.reply(call.request().buffer())).start();
        other = Node.join(NodeOptions.builder().master(master.address()).name("other").build());
        other.client("echo").awaitServers(1, Duration.ofSeconds(20));
    }

    @AfterEach
    void stop() {
        if (other != null) {
            other.close();
        }
        if (node != null) {
            node.close();
        }
        if (master != null) {
            master.close();
        }
    }

    @Test
    void aWellFormedCompressedRequestIsServedAndAnsweredCompressed() throws Exception {
        byte[] message = CompressionTest.compressible(200_000, 11);
        try (Peer peer = new Peer(node)) {
            assertTrue(peer.node.acceptsEncoding(ZSTD), "the node offers zstd in its HELLO");
            peer.request(1, ZSTD, ZSTD, zstd(message.length, message));
            Peer.Frame answer = peer.read();
            assertEquals(FrameType.RESPONSE, answer.type());
            assertEquals(0, answer.status());
            assertEquals(ZSTD, answer.encoding(), "answered with the encoding the request asked for");
            ByteBuffer body = ByteBuffer.wrap(answer.body()).order(ByteOrder.LITTLE_ENDIAN);
            int declared = body.getInt(0);
            assertEquals(message.length, declared);
            byte[] out = Zstd.decompress(java.util.Arrays.copyOfRange(answer.body(), 4, answer.body().length), declared);
            assertArrayEquals(message, out);
        }
    }

    @Test
    void aRequestAskingNoCompressionIsAnsweredPlain() throws Exception {
        byte[] message = CompressionTest.compressible(50_000, 12);
        try (Peer peer = new Peer(node)) {
            peer.request(1, ZSTD, 0, zstd(message.length, message));
            Peer.Frame answer = peer.read();
            assertEquals(0, answer.encoding());
            assertArrayEquals(message, answer.body());
        }
    }

    @Test
    void aBombDeclaringMoreThanTheMaximumClosesItsConnectionBeforeAllocating() throws Exception {
        byte[] zeros = new byte[8 * MAX_MESSAGE];
        byte[] bomb = zstd(zeros.length, zeros);
        assertTrue(bomb.length < 4096, "8 MiB of zeros compress to " + bomb.length + " bytes");
        java.lang.management.BufferPoolMXBean direct = java.lang.management.ManagementFactory
                .getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class).stream()
                .filter(p -> p.getName().equals("direct")).findFirst().orElseThrow();
        long directBefore = direct.getMemoryUsed();
        long errors = node.stats().protocolErrors();
        try (Peer peer = new Peer(node)) {
            peer.request(1, ZSTD, 0, bomb);
            peer.assertClosed();
        }
        awaitProtocolErrors(errors + 1);
        long grew = direct.getMemoryUsed() - directBefore;
        assertTrue(grew < MAX_MESSAGE, "no buffer of the declared 8 MiB was taken: direct memory grew by " + grew);
        assertStillServing();
    }

    @Test
    void aDeclaredSizeSmallerThanTheContentClosesItsConnection() throws Exception {
        byte[] message = CompressionTest.compressible(64 * 1024, 13);
        assertClosedAsProtocolError(zstd(1000, message));
    }

    @Test
    void aDeclaredSizeLargerThanTheContentClosesItsConnection() throws Exception {
        byte[] message = CompressionTest.compressible(1000, 14);
        assertClosedAsProtocolError(zstd(64 * 1024, message));
    }

    @Test
    void garbageClosesItsConnection() throws Exception {
        byte[] garbage = CompressionTest.random(5000, 15);
        ByteBuffer.wrap(garbage).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 20_000);
        assertClosedAsProtocolError(garbage);
    }

    @Test
    void aBodyTooShortForItsLengthPrefixClosesItsConnection() throws Exception {
        assertClosedAsProtocolError(new byte[]{1, 2});
    }

    @Test
    void anEncodingTheNodeNeverOfferedClosesItsConnection() throws Exception {
        byte[] message = CompressionTest.compressible(5000, 16);
        long errors = node.stats().protocolErrors();
        try (Peer peer = new Peer(node)) {
            peer.request(1, 9, 0, zstd(message.length, message));
            peer.assertClosed();
        }
        awaitProtocolErrors(errors + 1);
        assertStillServing();
    }

    @Test
    void aCompressedCancelClosesItsConnection() throws Exception {
        long errors = node.stats().protocolErrors();
        try (Peer peer = new Peer(node)) {
            ByteBuffer b = ByteBuffer.allocate(FrameLayout.HEADER_LENGTH + 8).order(ByteOrder.LITTLE_ENDIAN);
            FrameLayout.putHeader(b, 8, FrameType.CANCEL, 0, 0, 1, echo.serviceId(), echo.serverId(), 0, 0);
            b.put(FrameLayout.OFF_ENCODING, (byte) ZSTD);
            peer.out.write(b.array());
            peer.out.flush();
            peer.assertClosed();
        }
        awaitProtocolErrors(errors + 1);
        assertStillServing();
    }

    private void assertClosedAsProtocolError(byte[] body) throws Exception {
        long errors = node.stats().protocolErrors();
        try (Peer peer = new Peer(node)) {
            peer.request(1, ZSTD, 0, body);
            peer.assertClosed();
        }
        awaitProtocolErrors(errors + 1);
        assertStillServing();
    }

    private void awaitProtocolErrors(long atLeast) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        while (node.stats().protocolErrors() < atLeast && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        assertTrue(node.stats().protocolErrors() >= atLeast, "counted as a protocol error");
    }

    private void assertStillServing() {
        Client c = other.client("echo");
        byte[] payload = CompressionTest.compressible(100_000, 17);
        try (Message m = c.call(0, ByteBuffer.wrap(payload), c.options().withCompression(Compression.ZSTD))) {
            assertArrayEquals(payload, m.toByteArray());
        }
    }

    /** A compressed body: the declared length, then zstd's frame of {@code content}. */
    private static byte[] zstd(int declared, byte[] content) {
        byte[] z = Zstd.compress(content, 1);
        ByteBuffer b = ByteBuffer.allocate(FrameLayout.COMPRESSED_PREFIX + z.length).order(ByteOrder.LITTLE_ENDIAN);
        return b.putInt(declared).put(z).array();
    }

    /** A blocking socket that speaks the protocol by hand, offering zstd. */
    private final class Peer implements AutoCloseable {
        record Frame(int type, int status, int encoding, byte[] body) {
        }

        final Socket socket = new Socket();
        final DataInputStream in;
        final OutputStream out;
        final PeerIdentity node;

        Peer(Node target) throws IOException {
            socket.connect(target.address(), 5_000);
            socket.setSoTimeout(10_000);
            in = new DataInputStream(socket.getInputStream());
            out = socket.getOutputStream();
            ByteBuffer mine = ByteBuffer.allocate(Handshake.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
            Handshake.encode(mine, 77, -1, PeerIdentity.ROLE_TOOL, 0, 1 << 24, ProtocolVersion.MAX, 1 << ZSTD);
            out.write(mine.array());
            out.flush();
            byte[] theirs = new byte[Handshake.LENGTH];
            in.readFully(theirs);
            Handshake h = new Handshake();
            assertEquals(Handshake.Outcome.DONE, h.decode(ByteBuffer.wrap(theirs).order(ByteOrder.LITTLE_ENDIAN)));
            node = h.identity();
        }

        void request(long id, int encoding, int responseEncoding, byte[] body) throws IOException {
            ByteBuffer b = ByteBuffer.allocate(FrameLayout.HEADER_LENGTH + body.length).order(ByteOrder.LITTLE_ENDIAN);
            FrameLayout.putHeader(b, body.length, FrameType.REQUEST, 0, 0, id, echo.serviceId(), echo.serverId(), 0,
                    TIMEOUT_NS);
            b.put(FrameLayout.OFF_ENCODING, (byte) encoding).put(FrameLayout.OFF_RESPONSE_ENCODING, (byte) responseEncoding);
            b.put(body);
            out.write(b.array());
            out.flush();
        }

        Frame read() throws IOException {
            while (true) {
                byte[] h = new byte[FrameLayout.HEADER_LENGTH];
                in.readFully(h);
                ByteBuffer b = ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN);
                byte[] body = new byte[b.getInt(FrameLayout.OFF_LENGTH)];
                in.readFully(body);
                int type = b.get(FrameLayout.OFF_TYPE);
                if (type != FrameType.PING) {
                    return new Frame(type, Short.toUnsignedInt(b.getShort(FrameLayout.OFF_STATUS)),
                            b.get(FrameLayout.OFF_ENCODING), body);
                }
            }
        }

        /** The node closes the connection: reading ends (PINGs aside) without a response. */
        void assertClosed() {
            assertThrows(IOException.class, () -> {
                while (true) {
                    Frame f = read();
                    assertTrue(f.type() == FrameType.PONG || f.type() == FrameType.GOAWAY, "unexpected frame " + f);
                }
            }, "the node closed the connection");
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
