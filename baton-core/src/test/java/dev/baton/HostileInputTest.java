package dev.baton;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad bytes sent to a node's port: each such connection is closed (with a logged error), the node keeps
 * serving everyone else, and memory does not grow.
 */
@Timeout(60)
class HostileInputTest {

    static Cluster cluster;
    static Node server;
    static Client client;

    @BeforeAll
    static void start() throws Exception {
        cluster = Cluster.withNodes(2);
        server = cluster.node(0);
        Cluster.startEcho(server, "echo");
        client = cluster.node(1).client("echo");
        client.awaitServers(1, Duration.ofSeconds(5));
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    /** A valid preface and HELLO, as a Baton peer would send. */
    static ByteBuffer handshake() {
        ByteBuffer b = ByteBuffer.allocate(8 + 40 + 24).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x4E544142).putShort((short) dev.baton.spi.connection.FrameLayout.VERSION).putShort((short) 0);
        b.putInt(24).put((byte) 1).put(new byte[35]);
        b.putLong(12345L).putInt(-1).put((byte) 2).put(new byte[3]).putLong(1 << 20);
        return b.flip();
    }

    static ByteBuffer frameHeader(long length, int type) {
        ByteBuffer b = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt((int) length).put((byte) type).put((byte) 0).putShort((short) 0).putLong(1).putInt(1).putInt(-1)
                .putShort((short) 0).putShort((short) 0).putInt(0).putLong(0);
        return b.flip();
    }

    /** Sends {@code bytes}, then waits until the node closes the connection; returns true if it did. */
    static boolean sendAndExpectClose(ByteBuffer... parts) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(server.address(), 2000);
            s.setSoTimeout(5000);
            for (ByteBuffer p : parts) {
                byte[] b = new byte[p.remaining()];
                p.get(b);
                s.getOutputStream().write(b);
            }
            s.getOutputStream().flush();
            var in = s.getInputStream();
            try {
                while (in.read() >= 0) {
                    // the node's own handshake bytes; the stream must then end
                }
                return true;
            } catch (java.net.SocketTimeoutException e) {
                return false;
            } catch (java.net.SocketException e) {
                return true;    // reset: closed too
            }
        }
    }

    void assertStillServes() {
        byte[] answer = client.call(Cluster.ECHO, "still here".getBytes());
        assertEquals("still here", new String(answer));
    }

    @Test
    void garbageBytesCloseTheConnection() throws IOException {
        byte[] junk = new byte[4096];
        new Random(7).nextBytes(junk);
        long errors = server.stats().protocolErrors();
        assertTrue(sendAndExpectClose(ByteBuffer.wrap(junk)));
        assertEquals(errors + 1, server.stats().protocolErrors());
        assertStillServes();
    }

    /**
     * A flood of bad connections from one host is one log line a minute, not one per connection: each is still
     * counted (and closed), and the line says how many were held back.
     */
    @Test
    void badConnectionsFromOneHostAreLoggedOnceAMinuteNotOnceEach() throws IOException {
        // Every Baton logger's parent.
        try (LogCapture lines = LogCapture.start("dev.baton", r -> LogCapture.warningsAndAbove().test(r)
                && String.valueOf(r.getMessage()).startsWith("closing connection"))) {
            long errors = server.stats().protocolErrors();
            for (int i = 0; i < 30; i++) {
                assertTrue(sendAndExpectClose(handshake(), frameHeader(0, 99)));
            }
            assertEquals(errors + 30, server.stats().protocolErrors(), "every bad connection is counted");
            // At most one: an earlier test of this class may have logged this host's line of the minute already.
            assertTrue(lines.records().size() <= 1, "lines logged for 30 bad connections from one host: " + lines);
        }
        assertStillServes();
    }

    @Test
    void unknownFrameTypeAfterAValidHandshakeClosesTheConnection() throws IOException {
        assertTrue(sendAndExpectClose(handshake(), frameHeader(0, 99)));
        assertStillServes();
    }

    @Test
    void frameDeclaringMoreThanTheMaximumIsRejectedBeforeAllocation() throws IOException {
        long allocations = server.stats().bufferAllocations();
        assertTrue(sendAndExpectClose(handshake(), frameHeader(0xFFFF_FFF0L, 2)));
        assertEquals(allocations, server.stats().bufferAllocations());
        assertStillServes();
    }

    @Test
    void truncatedFrameIsDiscardedWhenThePeerGoesAway() throws IOException {
        try (Socket s = new Socket()) {
            s.connect(server.address(), 2000);
            ByteBuffer hs = handshake();
            s.getOutputStream().write(hs.array(), 0, hs.limit());
            ByteBuffer h = frameHeader(1000, 2);
            s.getOutputStream().write(h.array(), 0, h.limit());
            s.getOutputStream().write(new byte[10]);   // 990 bytes short
        }
        assertStillServes();
    }

    @Test
    void manyHugeDeclaredFramesDoNotGrowMemory() throws IOException {
        long directBefore = directMemoryUsed();
        for (int i = 0; i < 50; i++) {
            try (Socket s = new Socket()) {
                s.connect(server.address(), 2000);
                ByteBuffer hs = handshake();
                s.getOutputStream().write(hs.array(), 0, hs.limit());
                // 200 MiB declared (under the 256 MiB maximum), then a little data, then gone.
                ByteBuffer h = frameHeader(200L << 20, 2);
                s.getOutputStream().write(h.array(), 0, h.limit());
                s.getOutputStream().write(new byte[300_000]);
            }
        }
        assertStillServes();
        long grown = directMemoryUsed() - directBefore;
        assertTrue(grown < (64L << 20), "direct memory grew by " + grown + " bytes");
    }

    @Test
    void silentPeerIsDisconnectedAfterTheHandshakeTimeoutWhileOthersAreServed() throws IOException {
        try (Socket s = new Socket()) {
            s.connect(server.address(), 2000);
            assertStillServes();
            // No preface: the node gives up on it (handshake timeout) without affecting anyone else.
        }
        assertStillServes();
    }

    @Test
    void peersTricklingTheirOpeningHoldNoReadBuffer() throws IOException {
        int peers = 20;
        int pendingBefore = server.stats().pendingHandshakes();
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < peers; i++) {
                Socket s = new Socket();
                sockets.add(s);
                s.connect(server.address(), 2000);
                s.setSoTimeout(5000);
                // 10 of the 72 bytes of an opening: the node reads them and waits for the rest.
                s.getOutputStream().write(handshake().array(), 0, 10);
                s.getOutputStream().flush();
            }
            for (Socket s : sockets) {
                s.getInputStream().readNBytes(72);      // the node's opening: it registered the connection
            }
            // A round trip through the node's one I/O loop, after every one of those bytes had arrived: it has
            // read them by the time the answer comes.
            assertStillServes();
            assertEquals(pendingBefore + peers, server.stats().pendingHandshakes());
            // Read buffers are 64 KiB: at most the client's connection may hold one (and a send buffer).
            long held = server.stats().connectionBufferBytes();
            assertTrue(held <= 2 * 64 * 1024, "connections in their handshake hold " + held + " bytes of buffers");
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
        assertStillServes();
    }

    @Test
    void aSmallFrameTrickledAByteAtATimeIsClosedAsStalled() throws Exception {
        try (Socket s = new Socket()) {
            s.connect(server.address(), 2000);
            s.setSoTimeout(200);
            var out = s.getOutputStream();
            ByteBuffer hs = handshake();
            out.write(hs.array(), 0, hs.limit());
            ByteBuffer h = frameHeader(1000, 2);        // fits the read buffer: it would wait there for its bytes
            out.write(h.array(), 0, h.limit());
            out.flush();
            s.getInputStream().readNBytes(72);
            // One byte every 200 ms: never silent long enough for the keepalive timeout, never a whole frame.
            long deadline = System.nanoTime() + 15_000_000_000L;
            boolean closed = false;
            long t0 = System.nanoTime();
            while (!closed && System.nanoTime() < deadline) {
                try {
                    out.write(0);
                    out.flush();
                    closed = s.getInputStream().read() < 0;
                } catch (java.net.SocketTimeoutException stillOpen) {
                    // nothing to read: the node keeps the connection so far
                } catch (IOException reset) {
                    closed = true;
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertTrue(closed, "a frame that never completes is closed as stalled");
            assertTrue(seconds < 12, "closed after " + seconds + " s");
        }
        assertStillServes();
    }

    static long directMemoryUsed() {
        for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (b.getName().equals("direct")) {
                return b.getMemoryUsed();
            }
        }
        return 0;
    }
}
