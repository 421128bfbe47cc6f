package dev.baton;

import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;
import dev.baton.spi.connection.FrameLayout;
import dev.baton.spi.connection.Handshake;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A Baton peer written from the protocol page, for tests that need to behave as a node never would (ignore a
 * limit, never read, send bytes one at a time): a blocking socket speaking the wire format by hand.
 */
final class RawPeer implements AutoCloseable {

    /** One received frame: {@code metadataLength} is header offset 28, {@code metadata} its bytes decoded (or null). */
    record Frame(int type, int flags, int status, long requestId, byte[] payload, int metadataLength,
                 Metadata metadata) {
    }

    final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    RawPeer(InetSocketAddress address) throws IOException {
        socket = new Socket();
        socket.connect(address, 5_000);
        socket.setSoTimeout(10_000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    /** Sends a tool's opening (rank -1, no concurrency limit said) and reads the node's; returns the node. */
    PeerIdentity handshake() throws IOException {
        return handshake(ProtocolVersion.MAX);
    }

    /** Like {@link #handshake()}, speaking protocol versions up to {@code highestVersion}. */
    PeerIdentity handshake(int highestVersion) throws IOException {
        ByteBuffer mine = ByteBuffer.allocate(Handshake.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        Handshake.encode(mine, 4242, -1, PeerIdentity.ROLE_TOOL, 0, 1 << 20, highestVersion);
        out.write(mine.array());
        out.flush();
        byte[] theirs = new byte[Handshake.LENGTH];
        in.readFully(theirs);
        Handshake h = new Handshake(highestVersion);
        if (h.decode(ByteBuffer.wrap(theirs).order(ByteOrder.LITTLE_ENDIAN)) != Handshake.Outcome.DONE) {
            throw new IOException("bad opening from the node: " + h.error());
        }
        return h.identity();
    }

    /**
     * Sends an opening (preface and HELLO) speaking up to {@code highestVersion}, with {@code helloFlags} (e.g. the
     * cluster-secret flag) and node id {@code nodeId}; returns its bytes.
     */
    byte[] sendOpening(int highestVersion, int helloFlags, long nodeId) throws IOException {
        ByteBuffer mine = ByteBuffer.allocate(Handshake.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        Handshake.encode(mine, nodeId, -1, PeerIdentity.ROLE_TOOL, 0, 1 << 20, highestVersion, 0, helloFlags);
        out.write(mine.array());
        out.flush();
        return mine.array();
    }

    /** Reads exactly {@code n} bytes (blocking up to the socket timeout). */
    byte[] readBytes(int n) throws IOException {
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }

    /**
     * True when the other side closes the connection within {@code timeoutMs} (reading and discarding whatever it
     * sends until then); false when it is still open then.
     */
    boolean closedWithin(long timeoutMs) throws IOException {
        socket.setSoTimeout((int) timeoutMs);
        long end = System.nanoTime() + timeoutMs * 1_000_000L;
        try {
            while (System.nanoTime() - end < 0) {
                if (in.read() < 0) {
                    return true;
                }
            }
            return false;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (java.net.SocketException e) {
            return true;        // reset
        }
    }

    /** Encodes a frame of {@code type} with just {@code payload} (every other header field 0). */
    static byte[] frame(int type, int declaredLength, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(FrameLayout.HEADER_LENGTH + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        FrameLayout.putHeader(b, declaredLength, type, 0, 0, 0, 0, 0, 0, 0);
        b.put(payload);
        return b.array();
    }

    /** Encodes a REQUEST frame. */
    static byte[] request(long id, int serviceId, int serverId, int method, long timeoutNs, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(FrameLayout.HEADER_LENGTH + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        FrameLayout.putHeader(b, payload.length, dev.baton.spi.FrameType.REQUEST, 0, 0, id, serviceId, serverId,
                method, timeoutNs);
        b.put(payload);
        return b.array();
    }

    /** Encodes a REQUEST frame carrying {@code metadata} before the payload (protocol version 3). */
    static byte[] request(long id, int serviceId, int serverId, int method, long timeoutNs, Metadata metadata,
                          byte[] payload) {
        int m = metadata.encodedSize();
        ByteBuffer b = ByteBuffer.allocate(FrameLayout.HEADER_LENGTH + m + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        FrameLayout.putHeader(b, m + payload.length, dev.baton.spi.FrameType.REQUEST, 0, 0, id, serviceId, serverId,
                method, timeoutNs);
        b.putInt(FrameLayout.OFF_METADATA_LENGTH, m);
        metadata.encode(b);
        b.put(payload);
        return b.array();
    }

    void send(byte[] bytes) throws IOException {
        out.write(bytes);
    }

    void flush() throws IOException {
        out.flush();
    }

    /** Reads the next frame other than a keepalive PING (blocking up to the socket timeout). */
    Frame read() throws IOException {
        while (true) {
            Frame f = readAny();
            if (f.type() != dev.baton.spi.FrameType.PING) {
                return f;
            }
        }
    }

    private Frame readAny() throws IOException {
        byte[] h = new byte[FrameLayout.HEADER_LENGTH];
        in.readFully(h);
        ByteBuffer b = ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN);
        int length = b.getInt(FrameLayout.OFF_LENGTH);
        int metadataLength = b.getInt(FrameLayout.OFF_METADATA_LENGTH);
        byte[] metadata = new byte[metadataLength];
        in.readFully(metadata);
        byte[] payload = new byte[length - metadataLength];
        in.readFully(payload);
        return new Frame(b.get(FrameLayout.OFF_TYPE), Byte.toUnsignedInt(b.get(FrameLayout.OFF_FLAGS)),
                Short.toUnsignedInt(b.getShort(FrameLayout.OFF_STATUS)), b.getLong(FrameLayout.OFF_REQUEST_ID), payload,
                metadataLength, metadataLength == 0 ? null
                        : Metadata.decode(ByteBuffer.wrap(metadata).order(ByteOrder.LITTLE_ENDIAN), 0, metadataLength));
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
