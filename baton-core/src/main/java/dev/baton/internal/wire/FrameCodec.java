package dev.baton.internal.wire;

import dev.baton.spi.OutboundFrame;

import java.nio.ByteBuffer;

/**
 * Encodes and decodes Baton frames. Every integer is little-endian. A connection starts, in each direction,
 * with an 8-byte preface and a HELLO frame; then frames follow back to back.
 *
 * <pre>
 * Preface (8 bytes)
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                 magic 0x4E544142 ("BATN")                      |
 * +-------------------------------+-------------------------------+
 * |        protocol version       |          reserved (0)         |
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
 * | 24  method: u16               | 26  reserved (0): u16         |
 * +-------------------------------+-------------------------------+
 * | 28  reserved (0): u32                                         |
 * +---------------------------------------------------------------+
 * | 32  timeout: i64, nanoseconds left until the deadline, 0=none |
 * |                                                               |
 * +---------------------------------------------------------------+
 *
 * HELLO payload (24 bytes)
 * | 0 node id: i64 | 8 rank: i32 | 12 role: u8 | 13..15 reserved | 16 max message size: i64 |
 * </pre>
 */
public final class FrameCodec {

    public static final int MAGIC = 0x4E544142;           // "BATN" read as little-endian bytes
    public static final int VERSION = 1;
    public static final int PREFACE_LENGTH = 8;
    public static final int HEADER_LENGTH = 40;
    public static final int HELLO_LENGTH = 24;

    public static final int OFF_LENGTH = 0;
    public static final int OFF_TYPE = 4;
    public static final int OFF_FLAGS = 5;
    public static final int OFF_STATUS = 6;
    public static final int OFF_REQUEST_ID = 8;
    public static final int OFF_SERVICE_ID = 16;
    public static final int OFF_SERVER_ID = 20;
    public static final int OFF_METHOD = 24;
    public static final int OFF_TIMEOUT = 32;

    private FrameCodec() {
    }

    /** Writes the preface at {@code buf}'s position (little-endian buffer) and advances it. */
    public static void putPreface(ByteBuffer buf) {
        buf.putInt(MAGIC).putShort((short) VERSION).putShort((short) 0);
    }

    /** Writes {@code frame}'s header, with {@code length} as its payload length, at {@code buf}'s position. */
    public static void putHeader(ByteBuffer buf, OutboundFrame frame, int length) {
        int p = buf.position();
        buf.putInt(p + OFF_LENGTH, length)
                .put(p + OFF_TYPE, (byte) frame.frameType())
                .put(p + OFF_FLAGS, (byte) frame.frameFlags())
                .putShort(p + OFF_STATUS, (short) frame.frameStatus())
                .putLong(p + OFF_REQUEST_ID, frame.frameRequestId())
                .putInt(p + OFF_SERVICE_ID, frame.frameServiceId())
                .putInt(p + OFF_SERVER_ID, frame.frameServerId())
                .putShort(p + OFF_METHOD, (short) frame.frameMethod())
                .putShort(p + 26, (short) 0)
                .putInt(p + 28, 0)
                .putLong(p + OFF_TIMEOUT, frame.frameTimeoutNs());
        buf.position(p + HEADER_LENGTH);
    }
}
