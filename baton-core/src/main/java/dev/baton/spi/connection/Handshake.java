package dev.baton.spi.connection;

import dev.baton.spi.FrameType;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The opening of a connection, in each direction: the preface, then a HELLO frame whose payload says who the
 * sender is. A flyweight over the bytes: {@link #encode} writes one, {@link #decode} reads one from what has
 * arrived so far.
 *
 * <pre>
 * preface (8 bytes, {@link FrameLayout}) | HELLO frame header (40 bytes: length 24, type 1, flags 0 or
 * CLUSTER_SECRET, at offset 26 the accepted encodings, all else 0) | HELLO payload:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |  0  node id: i64, random per node incarnation                 |
 * |                                                               |
 * +---------------------------------------------------------------+
 * |  8  rank: i32 (-1 before joining, and for the master)         |
 * +---------------+-----------------------------------------------+
 * | 12  role: u8  | 13  max concurrent requests: u24 (0: not said) |
 * +---------------+-----------------------------------------------+
 * | 16  max message size: i64                                     |
 * |                                                               |
 * +---------------------------------------------------------------+
 * </pre>
 *
 * <p>Bytes 13 to 15 were reserved (zero) before the concurrency limit was added, and receivers ignore reserved
 * bytes: a peer that does not fill them in is read as "no limit said", and one that does is understood by
 * older peers, which ignore them. A limit above 2^24 - 1 is sent as 2^24 - 1.
 *
 * <p>The HELLO header's offset 26, reserved in other frame types' sense and ignored by older peers, carries the
 * compressed encodings the sender reads, as a mask of {@code 1 << id} ({@link dev.baton.spi.Compressor}): 0, what
 * older peers send, means none, so nobody ever sends them a compressed message.
 *
 * <p>The HELLO header's flags byte (offset 5), ignored by older peers, says {@link FrameType#FLAG_CLUSTER_SECRET}
 * when the sender has a cluster secret (version 6): a CHALLENGE frame then follows its HELLO, and it requires the
 * receiver's PROOF before the connection opens ({@link SecretHandshake}).
 *
 * <p>Versions are negotiated the same way ({@link FrameLayout}): the preface says version 2, which every peer
 * reads, and, in what was a reserved field, the highest version the sender speaks. The connection speaks the
 * lower of the two sides' highest. A peer whose framing is newer than this node's highest, or whose highest is
 * older than {@link ProtocolVersion#MIN}, is refused with a message that names both ranges.
 */
public final class Handshake {

    /** The HELLO payload length. */
    public static final int HELLO_LENGTH = 24;
    /** Preface, HELLO header and HELLO payload: what each side sends first. */
    public static final int LENGTH = FrameLayout.PREFACE_LENGTH + FrameLayout.HEADER_LENGTH + HELLO_LENGTH;

    static final int OFF_NODE_ID = 0;
    static final int OFF_RANK = 8;
    static final int OFF_ROLE = 12;
    static final int OFF_MAX_CONCURRENT = 13;
    static final int OFF_MAX_MESSAGE = 16;
    static final int MAX_CONCURRENT_ON_WIRE = (1 << 24) - 1;

    /** What {@link #decode} found. */
    public enum Outcome {
        /** A whole, valid opening; {@link #identity()} is set and the bytes are consumed. */
        DONE,
        /** Not enough bytes yet; nothing consumed. */
        NEED_MORE,
        /** Not a Baton peer, or an unsupported version; {@link #error()} says why. */
        INVALID
    }

    private final int highestVersion;
    private PeerIdentity identity;
    private int helloFlags;
    private String error;

    /** A decoder for a node that speaks up to {@link ProtocolVersion#MAX}. */
    public Handshake() {
        this(ProtocolVersion.MAX);
    }

    /** A decoder for a node that speaks up to {@code highestVersion}. */
    public Handshake(int highestVersion) {
        this.highestVersion = checkVersion(highestVersion);
    }

    private static int checkVersion(int v) {
        if (v < ProtocolVersion.MIN || v > ProtocolVersion.MAX) {
            throw new IllegalArgumentException("protocol version must be between " + ProtocolVersion.MIN
                    + " and " + ProtocolVersion.MAX + ", was " + v);
        }
        return v;
    }

    /** Writes this side's opening, speaking up to {@link ProtocolVersion#MAX}. */
    public static void encode(ByteBuffer b, long nodeId, int rank, int role, int maxConcurrentRequests,
                              long maxMessageSize) {
        encode(b, nodeId, rank, role, maxConcurrentRequests, maxMessageSize, ProtocolVersion.MAX);
    }

    /** Writes this side's opening, reading no compressed encoding. */
    public static void encode(ByteBuffer b, long nodeId, int rank, int role, int maxConcurrentRequests,
                              long maxMessageSize, int highestVersion) {
        encode(b, nodeId, rank, role, maxConcurrentRequests, maxMessageSize, highestVersion, 0);
    }

    /**
     * Writes this side's opening ({@value #LENGTH} bytes) at {@code b}'s position and advances it;
     * {@code highestVersion} is the newest protocol version this side speaks, {@code acceptedEncodings} the mask of
     * compressed encodings it reads (bits 1 to 15).
     */
    public static void encode(ByteBuffer b, long nodeId, int rank, int role, int maxConcurrentRequests,
                              long maxMessageSize, int highestVersion, int acceptedEncodings) {
        encode(b, nodeId, rank, role, maxConcurrentRequests, maxMessageSize, highestVersion, acceptedEncodings, 0);
    }

    /**
     * As above, with {@code helloFlags} in the HELLO header's flags byte: {@link FrameType#FLAG_CLUSTER_SECRET} for a
     * side that has a cluster secret (and then sends a CHALLENGE next).
     */
    public static void encode(ByteBuffer b, long nodeId, int rank, int role, int maxConcurrentRequests,
                              long maxMessageSize, int highestVersion, int acceptedEncodings, int helloFlags) {
        ByteBuffer le = b.order() == ByteOrder.LITTLE_ENDIAN ? b : b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int start = b.position();
        le.position(start);
        FrameLayout.putPreface(le, checkVersion(highestVersion));
        FrameLayout.putHeader(le, HELLO_LENGTH, FrameType.HELLO, helloFlags, 0, 0, 0, 0, 0, 0);
        le.putShort(le.position() - FrameLayout.HEADER_LENGTH + FrameLayout.OFF_ENCODING,
                (short) (acceptedEncodings & 0xFFFE));
        int p = le.position();
        int limit = Math.min(maxConcurrentRequests, MAX_CONCURRENT_ON_WIRE);
        le.putLong(p + OFF_NODE_ID, nodeId)
                .putInt(p + OFF_RANK, rank)
                .put(p + OFF_ROLE, (byte) role)
                .put(p + OFF_MAX_CONCURRENT, (byte) limit)
                .put(p + OFF_MAX_CONCURRENT + 1, (byte) (limit >>> 8))
                .put(p + OFF_MAX_CONCURRENT + 2, (byte) (limit >>> 16))
                .putLong(p + OFF_MAX_MESSAGE, maxMessageSize);
        b.position(start + LENGTH);
    }

    /**
     * Reads the peer's opening from {@code b} (little-endian, from its position). A wrong magic is detected
     * as soon as 4 bytes have arrived, a wrong version as soon as the preface has.
     */
    public Outcome decode(ByteBuffer b) {
        int p = b.position();
        if (b.remaining() >= 4 && b.getInt(p) != FrameLayout.MAGIC) {
            // A TLS record of type handshake (22), version 3.x: a TLS client at a plain port.
            return invalid(b.get(p) == 22 && b.get(p + 1) == 3 ? "bad preface: the peer speaks TLS, and this port "
                    + "does not (give both sides the same TLS settings)" : "bad preface: not a Baton peer");
        }
        if (b.remaining() < FrameLayout.PREFACE_LENGTH) {
            return Outcome.NEED_MORE;
        }
        int version = Short.toUnsignedInt(b.getShort(p + 4));
        int peerHighest = Math.max(version, Short.toUnsignedInt(b.getShort(p + 6)));
        if (version > highestVersion || peerHighest < ProtocolVersion.MIN) {
            return invalid("unsupported protocol version: the peer speaks " + (version == peerHighest ? version
                    : version + " to " + peerHighest) + ", this node " + ProtocolVersion.MIN + " to " + highestVersion);
        }
        if (b.remaining() < LENGTH) {
            return Outcome.NEED_MORE;
        }
        int h = p + FrameLayout.PREFACE_LENGTH;
        if (b.get(h + FrameLayout.OFF_TYPE) != FrameType.HELLO || b.getInt(h + FrameLayout.OFF_LENGTH) != HELLO_LENGTH) {
            return invalid("expected HELLO");
        }
        int q = h + FrameLayout.HEADER_LENGTH;
        int maxConcurrent = Byte.toUnsignedInt(b.get(q + OFF_MAX_CONCURRENT))
                | Byte.toUnsignedInt(b.get(q + OFF_MAX_CONCURRENT + 1)) << 8
                | Byte.toUnsignedInt(b.get(q + OFF_MAX_CONCURRENT + 2)) << 16;
        long maxMessage = b.getLong(q + OFF_MAX_MESSAGE);
        identity = new PeerIdentity(b.getLong(q + OFF_NODE_ID), b.getInt(q + OFF_RANK),
                Byte.toUnsignedInt(b.get(q + OFF_ROLE)), (int) Math.clamp(maxMessage, 0, Integer.MAX_VALUE), maxConcurrent,
                Math.min(highestVersion, peerHighest),
                Short.toUnsignedInt(b.getShort(h + FrameLayout.OFF_ENCODING)) & 0xFFFE);
        helloFlags = Byte.toUnsignedInt(b.get(h + FrameLayout.OFF_FLAGS));
        b.position(p + LENGTH);
        return Outcome.DONE;
    }

    private Outcome invalid(String why) {
        error = why;
        return Outcome.INVALID;
    }

    /** The peer, after {@link Outcome#DONE}. */
    public PeerIdentity identity() {
        return identity;
    }

    /** The flags of the peer's HELLO header, after {@link Outcome#DONE}. */
    public int helloFlags() {
        return helloFlags;
    }

    /** Why the opening was refused, after {@link Outcome#INVALID}. */
    public String error() {
        return error;
    }
}
