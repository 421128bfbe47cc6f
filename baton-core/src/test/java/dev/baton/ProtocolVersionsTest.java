package dev.baton;

import dev.baton.spi.FrameType;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.connection.FrameLayout;
import dev.baton.spi.connection.Handshake;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Protocol versions and metadata on the wire, from a peer written by hand: a version-2 peer is served as before
 * (no metadata reaches it), a version-3 peer gets metadata where there is some and not one byte where there is
 * none, a peer of an unknown version is refused with a reason, and malformed metadata costs only its connection.
 */
@Timeout(60)
class ProtocolVersionsTest {

    private static final long TEN_SECONDS_NS = 10_000_000_000L;

    /** A server whose handler answers with response metadata naming the request's keys. */
    private static Server metaServer(Node node, AtomicReference<Metadata> seen) {
        return node.newServer("meta").inline(0, call -> {
            seen.set(call.metadata());
            call.responseMetadata(Metadata.of("answered-by", "meta", "keys", String.join(",", call.metadata().keys())));
            call.reply(call.request().buffer());
        }).inline(1, call -> call.reply(call.request().buffer())).start();
    }

    @Test
    void aVersion2PeerIsServedWithoutMetadata() throws Exception {
        try (Cluster c = new Cluster()) {
            Node node = c.join("server");
            AtomicReference<Metadata> seen = new AtomicReference<>();
            Server s = metaServer(node, seen);
            try (RawPeer peer = new RawPeer(node.address())) {
                PeerIdentity them = peer.handshake(2);
                assertEquals(2, them.protocolVersion(), "the connection speaks the lower version");
                peer.send(RawPeer.request(1, s.serviceId(), s.serverId(), 0, TEN_SECONDS_NS, new byte[]{1, 2, 3}));
                peer.flush();
                RawPeer.Frame f = peer.read();
                assertEquals(FrameType.RESPONSE, f.type());
                assertEquals(0, f.status());
                assertEquals(0, f.metadataLength(), "a version-2 peer never gets metadata");
                assertArrayEquals(new byte[]{1, 2, 3}, f.payload());
                assertTrue(seen.get().isEmpty());
            }
            assertEquals(0, node.stats().protocolErrors());
        }
    }

    @Test
    void aVersion2NodeAndAVersion3NodeTalkAndMetadataToTheOldOneFailsUnimplemented() throws Exception {
        try (Cluster c = new Cluster()) {
            TransportFactory version2 = ctx -> TransportFactory.tcp().create(new TransportContext(ctx.name(),
                    ctx.nodeId(), ctx.role(), ctx.rank(), ctx.handler(),
                    ctx.settings().toBuilder().protocolVersion(2).build()));
            Node old = c.join(c.options("old").transport(version2).build());
            Node current = c.join("current");
            AtomicReference<Metadata> seen = new AtomicReference<>();
            metaServer(old, seen);
            Client client = current.client("meta");
            client.awaitServers(1, Duration.ofSeconds(5));
            try (Message m = client.call(1, ByteBuffer.wrap(new byte[]{9}))) {
                assertEquals(9, m.getByte(0));
                assertTrue(m.metadata().isEmpty());
            }
            BatonException e = assertThrows(BatonException.class, () -> client.call(1, ByteBuffer.wrap(new byte[]{9}),
                    CallOptions.DEFAULT.withMetadata(Metadata.of("k", "v"))));
            assertEquals(Status.Code.UNIMPLEMENTED, e.code());
            assertTrue(e.status().retrySafe(), "not sent: " + e.getMessage());
            assertTrue(e.getMessage().contains("version 2"), e.getMessage());
        }
    }

    @Test
    void aStreamToAVersion3NodeFailsUnimplementedWhileItsCallsStillWork() throws Exception {
        try (Cluster c = new Cluster()) {
            TransportFactory version3 = ctx -> TransportFactory.tcp().create(new TransportContext(ctx.name(),
                    ctx.nodeId(), ctx.role(), ctx.rank(), ctx.handler(),
                    ctx.settings().toBuilder().protocolVersion(3).build()));
            Node old = c.join(c.options("old").transport(version3).build());
            Node current = c.join("current");
            old.newServer("mixed").inline(0, call -> call.reply(call.request().buffer()))
                    .stream(1, stream -> stream.send(new byte[]{1})).start();
            Client client = current.client("mixed");
            client.awaitServers(1, Duration.ofSeconds(5));
            try (Message m = client.call(0, ByteBuffer.wrap(new byte[]{7}))) {
                assertEquals(7, m.getByte(0));
            }
            BatonException e = assertThrows(BatonException.class, () -> client.openStream(1));
            assertEquals(Status.Code.UNIMPLEMENTED, e.code());
            assertTrue(e.status().retrySafe(), "nothing was sent: " + e.getMessage());
            assertTrue(e.getMessage().contains("version 3"), e.getMessage());
        }
    }

    @Test
    void aPeerThatSendsPastItsStreamWindowFailsOnlyItsStream() throws Exception {
        try (Cluster c = new Cluster()) {
            Node node = c.join("server");
            java.util.concurrent.atomic.AtomicReference<Status> ended = new java.util.concurrent.atomic.AtomicReference<>();
            Server s = node.newServer("flow").stream(0, stream -> {
                Thread.sleep(300);      // not reading yet: the peer's bytes must stay within the window meanwhile
                try {
                    stream.receive();
                } catch (BatonException e) {
                    ended.set(e.status());
                    throw e;
                }
            }).start();
            try (RawPeer peer = new RawPeer(node.address())) {
                peer.handshake();
                ByteBuffer open = ByteBuffer.allocate(FrameLayout.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
                FrameLayout.putHeader(open, 0, FrameType.REQUEST, FrameType.FLAG_STREAM, 0, 5, s.serviceId(),
                        s.serverId(), 0, TEN_SECONDS_NS);
                peer.send(open.array());
                byte[] chunk = new byte[MessageStream.WINDOW / 2 + 1];
                for (int i = 0; i < 2; i++) {
                    ByteBuffer data = ByteBuffer.allocate(FrameLayout.HEADER_LENGTH + chunk.length)
                            .order(ByteOrder.LITTLE_ENDIAN);
                    FrameLayout.putHeader(data, chunk.length, FrameType.STREAM_DATA, FrameType.FLAG_TO_SERVER, 0, 5,
                            s.serviceId(), s.serverId(), 0, 0);
                    data.put(chunk);
                    peer.send(data.array());
                }
                peer.flush();
                RawPeer.Frame answer = peer.read();
                assertEquals(FrameType.RESPONSE, answer.type());
                assertEquals(Status.Code.PROTOCOL_ERROR.value(), answer.status());
                assertEquals(Status.Code.PROTOCOL_ERROR, ended.get().code());
                // The connection itself is fine: a new stream on it is served.
            }
            Client client = c.join("caller").client("flow");
            client.awaitServers(1, Duration.ofSeconds(5));
            assertEquals(0, node.stats().protocolErrors(), "only the stream failed, not the connection");
        }
    }

    @Test
    void aVersion3PeerGetsMetadataWhereThereIsSomeAndNotOneByteWhereThereIsNone() throws Exception {
        try (Cluster c = new Cluster()) {
            Node node = c.join("server");
            AtomicReference<Metadata> seen = new AtomicReference<>();
            Server s = metaServer(node, seen);
            try (RawPeer peer = new RawPeer(node.address())) {
                assertEquals(ProtocolVersion.MAX, peer.handshake().protocolVersion());
                peer.send(RawPeer.request(1, s.serviceId(), s.serverId(), 1, TEN_SECONDS_NS, new byte[]{4, 5}));
                peer.flush();
                RawPeer.Frame plain = peer.read();
                assertEquals(0, plain.metadataLength(), "no metadata: offset 28 is 0");
                assertNull(plain.metadata());
                assertArrayEquals(new byte[]{4, 5}, plain.payload(), "and the length is the body's");

                Metadata sent = Metadata.of("trace-id", "abc").withBinary("bin", new byte[]{0, -1});
                peer.send(RawPeer.request(2, s.serviceId(), s.serverId(), 0, TEN_SECONDS_NS, sent, new byte[]{6}));
                peer.flush();
                RawPeer.Frame withMeta = peer.read();
                assertEquals(0, withMeta.status());
                assertEquals(sent, seen.get(), "the handler saw what was sent");
                assertEquals("meta", withMeta.metadata().get("answered-by"));
                assertEquals("trace-id,bin", withMeta.metadata().get("keys"));
                assertArrayEquals(new byte[]{6}, withMeta.payload());
            }
            assertEquals(0, node.stats().protocolErrors());
        }
    }

    @Test
    void aPeerOfAnUnknownVersionIsRefusedWithAReason() throws Exception {
        try (Cluster c = new Cluster()) {
            Node node = c.join("server");
            for (int[] versions : new int[][]{{1, 0}, {7, 9}}) {
                try (Socket s = new Socket()) {
                    s.connect(node.address(), 5_000);
                    s.setSoTimeout(10_000);
                    ByteBuffer b = ByteBuffer.allocate(Handshake.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
                    Handshake.encode(b, 1, -1, PeerIdentity.ROLE_TOOL, 0, 1 << 20);
                    b.putShort(4, (short) versions[0]).putShort(6, (short) versions[1]);
                    s.getOutputStream().write(b.array());
                    s.getOutputStream().flush();
                    assertClosedByNode(s.getInputStream());
                }
            }
            Handshake h = new Handshake();
            ByteBuffer b = ByteBuffer.allocate(Handshake.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
            Handshake.encode(b, 1, -1, PeerIdentity.ROLE_TOOL, 0, 1 << 20);
            b.putShort(4, (short) 7).putShort(6, (short) 9).flip();
            assertEquals(Handshake.Outcome.INVALID, h.decode(b));
            assertEquals("unsupported protocol version: the peer speaks 7 to 9, this node " + ProtocolVersion.MIN
                    + " to " + ProtocolVersion.MAX, h.error());
            assertTrue(node.stats().protocolErrors() >= 2);
        }
    }

    @Test
    void malformedMetadataClosesOnlyThatConnection() throws Exception {
        try (Cluster c = new Cluster()) {
            Node node = c.join("server");
            AtomicReference<Metadata> seen = new AtomicReference<>();
            Server s = metaServer(node, seen);
            byte[][] hostile = {
                    withMetadataLength(RawPeer.request(1, s.serviceId(), s.serverId(), 0, TEN_SECONDS_NS,
                            new byte[20_000]), Metadata.MAX_ENCODED_SIZE + 1),           // over the limit
                    withMetadataLength(RawPeer.request(1, s.serviceId(), s.serverId(), 0, TEN_SECONDS_NS,
                            new byte[8]), 9),                                              // past the frame
                    withMetadataLength(cancel(1, s), 4),                                   // on a CANCEL
                    withMetadataLength(RawPeer.request(1, s.serviceId(), s.serverId(), 0, TEN_SECONDS_NS,
                            new byte[]{3, 0, 5, 0, 'a', 'b', 'c', 'x'}), 8),               // value runs past
                    withMetadataLength(RawPeer.request(1, s.serviceId(), s.serverId(), 0, TEN_SECONDS_NS,
                            new byte[]{1, 0, 0, 0, 'A'}), 5),                              // an upper-case key
                    withMetadataLength(RawPeer.request(1, s.serviceId(), s.serverId(), 0, TEN_SECONDS_NS,
                            new byte[]{1, 0, 0, 0, 'a', 1, 0, 0, 0, 'a'}), 10),            // a repeated key
            };
            for (byte[] frame : hostile) {
                try (RawPeer peer = new RawPeer(node.address())) {
                    peer.handshake();
                    peer.send(frame);
                    peer.flush();
                    assertThrows(IOException.class, peer::read, "the node closes the connection");
                }
            }
            assertEquals(hostile.length, node.stats().protocolErrors());
            assertNull(seen.get(), "no handler ran");
            Client client = c.join("caller").client("meta");
            client.awaitServers(1, Duration.ofSeconds(5));
            try (Message m = client.call(0, ByteBuffer.wrap("still".getBytes(StandardCharsets.UTF_8)),
                    CallOptions.DEFAULT.withMetadata(Metadata.of("ok", "yes")))) {
                assertEquals("meta", m.metadata().get("answered-by"), "the node keeps serving");
            }
        }
    }

    private static byte[] cancel(long id, Server s) {
        ByteBuffer b = ByteBuffer.allocate(FrameLayout.HEADER_LENGTH + 4).order(ByteOrder.LITTLE_ENDIAN);
        FrameLayout.putHeader(b, 4, FrameType.CANCEL, 0, 0, id, s.serviceId(), s.serverId(), 0, 0);
        return b.array();
    }

    private static byte[] withMetadataLength(byte[] frame, int metadataLength) {
        ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN).putInt(FrameLayout.OFF_METADATA_LENGTH, metadataLength);
        return frame;
    }

    /** The node closes: end of stream or a reset, before its opening is complete. */
    private static void assertClosedByNode(InputStream in) throws IOException {
        DataInputStream d = new DataInputStream(in);
        byte[] opening = new byte[Handshake.LENGTH];
        try {
            d.readFully(opening);       // the node's own opening may arrive first
            assertEquals(-1, d.read(), "then the node closes");
        } catch (EOFException | SocketException closed) {
            // closed before or while its opening arrived
        }
    }
}
