package dev.baton.spi.connection;

import dev.baton.spi.ClusterSecret;
import dev.baton.spi.FrameType;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * The cluster-secret part of one connection's handshake (protocol version 6), for a side that has a secret: its
 * CHALLENGE, its PROOF in answer to the peer's, and the check of the peer's PROOF. Both sides run it at once; the
 * connection opens once the peer's proof verified. Owned by the connection's loop thread (the handshake's reader).
 *
 * <pre>
 * each side with a secret, right after its preface and HELLO (flag CLUSTER_SECRET):
 *   CHALLENGE: header (length 32, type 10, every other field 0) | nonce: 32 bytes from SecureRandom
 * on receiving the peer's CHALLENGE:
 *   PROOF:     header (length 32, type 11, every other field 0) | HMAC-SHA256, 32 bytes ({@link ClusterSecret#proof})
 *
 *   A (opens)                                              B (accepts)
 *     | &lt;-- preface + HELLO(B, flag) + CHALLENGE(nB) ---------- |
 *     | --- preface + HELLO(A, flag) + CHALLENGE(nA) ---------&gt; |
 *     | --- PROOF(A: opened, openings A,B, nA, nB) -----------&gt; |  B checks it
 *     | &lt;-- PROOF(B: accepted, openings B,A, nB, nA) ---------- |  A checks it
 *   A is OPEN once B's proof checked; B once A's did. Frames offered meanwhile wait in the queue.
 * </pre>
 *
 * <p>This side proves the one secret it proves with, and accepts a proof made with any secret it accepts
 * ({@link ClusterSecret#alsoAccepting}): a rotation's steps change what each side accepts, never the frames.
 *
 * <p>Each frame is read whole into the handshake's fixed buffer ({@value #FRAME_LENGTH} bytes, the size of an
 * opening), so a peer that declares a huge or malformed frame costs nothing: its header is checked first, and anything
 * but the expected type and length refuses it. Every refusal is a message naming the peer and what it failed.
 */
final class SecretHandshake {

    /** A CHALLENGE or PROOF, header and payload: as long as an opening, so one buffer reads both. */
    static final int FRAME_LENGTH = FrameLayout.HEADER_LENGTH + ClusterSecret.PROOF_LENGTH;

    private static final SecureRandom RANDOM = new SecureRandom();

    static {
        if (FRAME_LENGTH != Handshake.LENGTH || ClusterSecret.NONCE_LENGTH != ClusterSecret.PROOF_LENGTH) {
            throw new AssertionError("the handshake reads openings and auth frames into one buffer");
        }
    }

    private final ClusterSecret secret;
    private final boolean opened;
    private final byte[] ownOpening;
    private final byte[] ownNonce = new byte[ClusterSecret.NONCE_LENGTH];
    private final String peer;
    private byte[] peerOpening;
    private byte[] peerNonce;
    private boolean proved;

    /**
     * @param secret     this side's secret: the handshake proves and checks with {@link ClusterSecret#current()} as
     *                   it is now, even if the secret follows files that change before the handshake ends
     * @param opened     true when this side opened the connection
     * @param ownOpening this side's preface and HELLO, as sent
     * @param peer       "the peer at ADDRESS", for messages
     */
    SecretHandshake(ClusterSecret secret, boolean opened, byte[] ownOpening, String peer) {
        this.secret = secret.current();
        this.opened = opened;
        this.ownOpening = ownOpening;
        this.peer = peer;
        RANDOM.nextBytes(ownNonce);
    }

    /** This side's CHALLENGE frame, sent right after its opening. */
    ByteBuffer challenge() {
        return frame(FrameType.CHALLENGE, ownNonce);
    }

    /**
     * Why the peer's opening cannot go on to an open connection, or null when it can: a check every side makes, with
     * a secret ({@code secret} not null) or without. Without one, only a peer that asks for a proof is refused.
     */
    static String checkOpening(ClusterSecret secret, long ownNodeId, PeerIdentity id, int helloFlags, String peer) {
        boolean peerHasSecret = (helloFlags & FrameType.FLAG_CLUSTER_SECRET) != 0;
        if (secret == null) {
            return peerHasSecret ? peer + " requires a cluster secret this node does not have" : null;
        }
        if (id.protocolVersion() < ProtocolVersion.CLUSTER_SECRET) {
            return peer + " speaks protocol version " + id.protocolVersion() + ", which cannot prove a cluster "
                    + "secret (version " + ProtocolVersion.CLUSTER_SECRET + " can); this node requires one";
        }
        if (!peerHasSecret) {
            return peer + " has no cluster secret; this node requires one";
        }
        if (id.nodeId() == ownNodeId) {
            return peer + " claims this node's own id: a reflected handshake";
        }
        return null;
    }

    /** The peer's opening, as received, checked by {@link #checkOpening}. */
    void peerOpening(ByteBuffer b, int position) {
        peerOpening = new byte[Handshake.LENGTH];
        b.get(position, peerOpening);
    }

    /**
     * One whole frame of the peer's, at {@code b}'s position ({@value #FRAME_LENGTH} bytes, little-endian): its
     * CHALLENGE first, then its PROOF. Returns null, or why the peer is refused. After a CHALLENGE,
     * {@link #proof()} is what to send; after a PROOF, {@link #proved()} is true.
     */
    String onFrame(ByteBuffer b) {
        int p = b.position();
        int type = b.get(p + FrameLayout.OFF_TYPE);
        long length = Integer.toUnsignedLong(b.getInt(p + FrameLayout.OFF_LENGTH));
        int expected = peerNonce == null ? FrameType.CHALLENGE : FrameType.PROOF;
        if (type != expected || length != ClusterSecret.PROOF_LENGTH) {
            return peer + " did not prove the cluster secret: expected its " + (peerNonce == null ? "CHALLENGE"
                    : "PROOF") + " (frame type " + expected + ", " + ClusterSecret.PROOF_LENGTH
                    + " bytes), got frame type " + type + " declaring " + length + " bytes";
        }
        byte[] payload = new byte[ClusterSecret.PROOF_LENGTH];
        b.get(p + FrameLayout.HEADER_LENGTH, payload);
        if (peerNonce == null) {
            if (Arrays.equals(payload, ownNonce)) {
                return peer + " sent back this side's own challenge: a reflected handshake";
            }
            peerNonce = payload;
            return null;
        }
        if (!secret.verifies(payload, !opened, peerOpening, ownOpening, peerNonce, ownNonce)) {
            return peer + " did not prove the cluster secret (its proof is wrong: a different secret?)";
        }
        proved = true;
        return null;
    }

    /** This side's PROOF, answering the peer's CHALLENGE (once it came). */
    ByteBuffer proof() {
        return frame(FrameType.PROOF, secret.proof(opened, ownOpening, peerOpening, ownNonce, peerNonce));
    }

    /** True once the peer's PROOF verified. */
    boolean proved() {
        return proved;
    }

    /** True once the peer's CHALLENGE came (its PROOF is next). */
    boolean challenged() {
        return peerNonce != null;
    }

    private static ByteBuffer frame(int type, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(FRAME_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        FrameLayout.putHeader(b, payload.length, type, 0, 0, 0, 0, 0, 0, 0);
        b.put(payload);
        return b.flip();
    }
}
