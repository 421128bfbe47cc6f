package dev.baton.spi;

/** Frame types of the Baton wire protocol (see docs/protocol.md). */
public final class FrameType {
    /** Connection handshake: the first frame in each direction. Transport-internal. */
    public static final int HELLO = 1;
    /** A call; one-way when {@link #FLAG_ONE_WAY} is set. */
    public static final int REQUEST = 2;
    /** The answer to a REQUEST, matched by request id; status 0 means success. */
    public static final int RESPONSE = 3;
    /** The caller gave up on a request id; the server may stop working on it. */
    public static final int CANCEL = 4;
    /** Liveness probe; answered with PONG carrying the same request id. */
    public static final int PING = 5;
    public static final int PONG = 6;
    /**
     * The sender is closing ({@link #FLAG_CONNECTION_ONLY}: only this connection): send it nothing new here, and
     * hang up once your calls on it are answered; it serves what arrives until then.
     */
    public static final int GOAWAY = 7;
    /**
     * A message of a stream (protocol version 4), either way, under the request id of the REQUEST that opened it;
     * {@link #FLAG_TO_SERVER} when the stream's caller sent it, {@link #FLAG_HALF_CLOSE} when it is the sender's last.
     */
    public static final int STREAM_DATA = 8;
    /** Flow control of a stream (version 4): the header's timeout field grants the peer that many more bytes. */
    public static final int STREAM_CREDIT = 9;
    /** The highest type an open connection carries; CHALLENGE and PROOF belong to the handshake only. */
    public static final int MAX = STREAM_CREDIT;
    /**
     * Handshake only (version 6), right after the HELLO of a side with a cluster secret: a fresh 32-byte nonce the
     * peer must prove the secret over. Transport-internal; an open connection never carries it.
     */
    public static final int CHALLENGE = 10;
    /**
     * Handshake only (version 6), the answer to the peer's CHALLENGE: a 32-byte HMAC-SHA256 proving the sender knows
     * the cluster secret ({@link ClusterSecret}). Transport-internal.
     */
    public static final int PROOF = 11;
    /**
     * Handshake only, right after the PROOF of a side with a member key when both HELLOs say
     * {@link #FLAG_MEMBER_KEY}: the sender's Ed25519 public key and its signature of the handshake
     * ({@link MemberKey}). Transport-internal.
     */
    public static final int MEMBER_KEY = 12;

    /** The sender expects no response. */
    public static final int FLAG_ONE_WAY = 1;
    /** The caller marked the call idempotent (safe to run twice). */
    public static final int FLAG_IDEMPOTENT = 1 << 1;
    /**
     * On an error RESPONSE: the server refused the request before any handler saw it (no such method, a
     * limit reached, the server closing), so it did not run and sending it again is safe.
     */
    public static final int FLAG_REFUSED = 1 << 2;
    /** On a REQUEST: it opens a stream; the RESPONSE to it ends the stream (version 4). */
    public static final int FLAG_STREAM = 1 << 3;
    /** On STREAM_DATA and STREAM_CREDIT: sent by the stream's caller (else by its server). */
    public static final int FLAG_TO_SERVER = 1 << 4;
    /** On STREAM_DATA: the sender sends nothing more on the stream (bit 0, as ONE_WAY on a REQUEST). */
    public static final int FLAG_HALF_CLOSE = 1;
    /**
     * On GOAWAY (version 5): the sender closes this connection only and is not leaving; the receiver may connect
     * to it again. Sent by a node whose registry says the peer left, while the peer may still be running.
     */
    public static final int FLAG_CONNECTION_ONLY = 1;
    /**
     * On HELLO (version 6): the sender has a cluster secret. It sends a CHALLENGE right after its HELLO, and opens the
     * connection only once the receiver has answered with a valid PROOF; a receiver without a secret refuses it.
     */
    public static final int FLAG_CLUSTER_SECRET = 1;
    /**
     * On HELLO, with {@link #FLAG_CLUSTER_SECRET}: the sender has a {@link MemberKey}. When both HELLOs say it, each
     * side sends a MEMBER_KEY frame right after its PROOF, and opens the connection only once the peer's verified.
     * Older peers ignore the bit, and then neither side sends one.
     */
    public static final int FLAG_MEMBER_KEY = 1 << 1;

    private FrameType() {
    }
}
