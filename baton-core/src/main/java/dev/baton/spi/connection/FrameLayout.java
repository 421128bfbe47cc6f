package dev.baton.spi.connection;

import dev.baton.spi.OutboundFrame;
import dev.baton.spi.ProtocolVersion;

import java.nio.ByteBuffer;

/**
 * The byte layout of Baton frames (docs/protocol.md). Every integer is little-endian. A connection starts,
 * in each direction, with an 8-byte preface and a HELLO frame ({@link Handshake}); then frames follow back to
 * back.
 *
 * <pre>
 * Preface (8 bytes)
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                 magic 0x4E544142 ("BATN")                      |
 * +-------------------------------+-------------------------------+
 * |    protocol version (2)       |  highest version spoken (6)   |
 * +-------------------------------+-------------------------------+
 *
 * Frame header (40 bytes), followed by length payload bytes
 * +---------------------------------------------------------------+
 * |  0  length: u32, payload bytes after this header               |
 * +---------------+---------------+-------------------------------+
 * |  4  type: u8  |  5  flags: u8 |  6  status: u16               |
 * +---------------+---------------+-------------------------------+
 * |  8  request id: i64                                           |
 * |                                                               |
 * +---------------------------------------------------------------+
 * | 16  service id: i32                                           |
 * +---------------------------------------------------------------+
 * | 20  server id: i32 (-1: any server of the service)            |
 * +-------------------------------+-------------------------------+
 * | 24  method: u16               |26 encoding: u8|27 resp. enc: u8|
 * +-------------------------------+-------------------------------+
 * | 28  metadata length: u32 (version 3; reserved, 0, in 2)       |
 * +---------------------------------------------------------------+
 * | 32  timeout: i64, nanoseconds left until the deadline, 0=none |
 * |                                                               |
 * +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Length counts every byte after the header: the metadata (the first {@code metadata length} bytes, encoded
 * as {@link dev.baton.Metadata#encode} says), then the message.
 *
 * <p>Encoding (offset 26) says how the message (not the metadata) of a REQUEST or successful RESPONSE is
 * compressed: 0 not at all; otherwise a {@link dev.baton.spi.Compressor} id, and the message is a u32 length (the
 * message's once decompressed) followed by the compressed bytes. Offset 27, on a REQUEST, asks for the response to
 * be compressed with that encoding. A node sets either only for a peer whose HELLO advertised the encoding (in the
 * HELLO header, offsets 26-27 are that mask); older peers write and read 0. Encoding 255
 * ({@link #ENCODING_OUT_OF_BAND}) says the message is a descriptor of a body carried beside the stream, which only
 * a transport that offers it ({@link OutOfBandBodies}) sends to a peer it agreed it with.
 *
 * <h2>Versions</h2>
 * The preface's version is the framing both sides read: 2, which every Baton node since version 2 requires. The
 * next field says the highest version the sender speaks (0 from a node that speaks only 2), and a connection
 * speaks the lower of the two sides' highest: {@link dev.baton.spi.PeerIdentity#protocolVersion()}. Version 3
 * adds metadata; a node never sends a version-3 field to a peer that speaks 2.
 */
public final class FrameLayout {

    public static final int MAGIC = 0x4E544142;           // "BATN" read as little-endian bytes
    /** The preface's version: the framing every peer reads. */
    public static final int VERSION = ProtocolVersion.MIN;
    public static final int PREFACE_LENGTH = 8;
    public static final int HEADER_LENGTH = 40;

    public static final int OFF_LENGTH = 0;
    public static final int OFF_TYPE = 4;
    public static final int OFF_FLAGS = 5;
    public static final int OFF_STATUS = 6;
    public static final int OFF_REQUEST_ID = 8;
    public static final int OFF_SERVICE_ID = 16;
    public static final int OFF_SERVER_ID = 20;
    public static final int OFF_METHOD = 24;
    /** The message's encoding (u8); in a HELLO, offsets 26-27 are the mask of encodings the sender reads. */
    public static final int OFF_ENCODING = 26;
    /** On a REQUEST, the encoding the caller asks the response to be compressed with (u8). */
    public static final int OFF_RESPONSE_ENCODING = 27;
    /** The bytes in front of a compressed message: its length once decompressed (u32). */
    public static final int COMPRESSED_PREFIX = 4;
    /**
     * The encoding (offset 26) of a message carried beside the stream ({@link OutOfBandBodies}): the frame's message
     * bytes are the transport's descriptor of it. Only a transport that offers out-of-band bodies sends or reads it.
     */
    public static final int ENCODING_OUT_OF_BAND = 0xFF;
    public static final int OFF_METADATA_LENGTH = 28;
    public static final int OFF_TIMEOUT = 32;

    private FrameLayout() {
    }

    /**
     * Writes the preface at {@code buf}'s position (little-endian buffer) and advances it; {@code highestVersion}
     * is the newest protocol version the sender speaks.
     */
    public static void putPreface(ByteBuffer buf, int highestVersion) {
        buf.putInt(MAGIC).putShort((short) VERSION).putShort((short) (highestVersion == VERSION ? 0 : highestVersion));
    }

    /**
     * Writes {@code frame}'s header at {@code buf}'s position, for {@code payloadLength} message bytes after the
     * frame's metadata (if any), which the caller writes next.
     */
    public static void putHeader(ByteBuffer buf, OutboundFrame frame, int payloadLength) {
        int metadataLength = frame.metadataSize();
        putHeader(buf, metadataLength + payloadLength, frame.frameType(), frame.frameFlags(), frame.frameStatus(),
                frame.frameRequestId(), frame.frameServiceId(), frame.frameServerId(), frame.frameMethod(),
                frame.frameTimeoutNs());
        buf.putInt(buf.position() - HEADER_LENGTH + OFF_METADATA_LENGTH, metadataLength);
    }

    /**
     * Writes a header from its fields at {@code buf}'s position (little-endian buffer) and advances it; no metadata.
     */
    public static void putHeader(ByteBuffer buf, int length, int type, int flags, int status, long requestId,
                                 int serviceId, int serverId, int method, long timeoutNs) {
        int p = buf.position();
        buf.putInt(p + OFF_LENGTH, length)
                .put(p + OFF_TYPE, (byte) type)
                .put(p + OFF_FLAGS, (byte) flags)
                .putShort(p + OFF_STATUS, (short) status)
                .putLong(p + OFF_REQUEST_ID, requestId)
                .putInt(p + OFF_SERVICE_ID, serviceId)
                .putInt(p + OFF_SERVER_ID, serverId)
                .putShort(p + OFF_METHOD, (short) method)
                .putShort(p + OFF_ENCODING, (short) 0)
                .putInt(p + 28, 0)
                .putLong(p + OFF_TIMEOUT, timeoutNs);
        buf.position(p + HEADER_LENGTH);
    }
}
