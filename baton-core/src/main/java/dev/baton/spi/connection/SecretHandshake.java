package dev.baton.spi.connection;

import dev.baton.spi.ClusterSecret;
import dev.baton.spi.FrameType;
import dev.baton.spi.MemberKey;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;
import dev.baton.spi.TransportSettings;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
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
 * <p>When both HELLOs also carry {@link FrameType#FLAG_MEMBER_KEY}, each side sends a MEMBER_KEY frame right after
 * its PROOF (header: length 96, type 12) with its Ed25519 public key (32 bytes) and its signature (64 bytes) of the
 * same transcript as the proof's, then the key ({@link #keyTranscript}); the side opens once the peer's PROOF held and
 * its signature verified, and the peer's key is then the connection's principal ({@link #peerKey()}).
 *
 * <p>This side proves the one secret it proves with, and accepts a proof made with any secret it accepts
 * ({@link ClusterSecret#alsoAccepting}): a rotation's steps change what each side accepts, never the frames.
 *
 * <p>Each frame is read whole, and no byte beyond, into the handshake's fixed buffer ({@value #KEY_FRAME_LENGTH}
 * bytes: the reader asks {@link #nextFrameLength()} how many), so a peer that declares a huge or malformed frame costs
 * nothing: its header is checked, and anything but the expected type and length refuses it. Every refusal is a
 * message naming the peer and what it failed.
 */
final class SecretHandshake {

    /** A CHALLENGE or PROOF, header and payload: as long as an opening, so one buffer reads both. */
    static final int FRAME_LENGTH = FrameLayout.HEADER_LENGTH + ClusterSecret.PROOF_LENGTH;
    /** A MEMBER_KEY frame: header, public key, signature. The longest frame of the handshake. */
    static final int KEY_FRAME_LENGTH = FrameLayout.HEADER_LENGTH + MemberKey.PUBLIC_KEY_LENGTH
            + MemberKey.SIGNATURE_LENGTH;

    private static final byte[] KEY_LABEL = "baton/member-key/v1".getBytes(StandardCharsets.US_ASCII);

    private static final SecureRandom RANDOM = new SecureRandom();

    static {
        if (FRAME_LENGTH != Handshake.LENGTH || ClusterSecret.NONCE_LENGTH != ClusterSecret.PROOF_LENGTH) {
            throw new AssertionError("the handshake reads openings and auth frames into one buffer");
        }
    }

    private final ClusterSecret secret;
    private final MemberKey ownKey;
    private final boolean opened;
    private final byte[] ownOpening;
    private final byte[] ownNonce = new byte[ClusterSecret.NONCE_LENGTH];
    private final String peer;
    private byte[] peerOpening;
    private PeerIdentity peerIdentity;
    private byte[] peerNonce;
    private boolean secretProved;
    private boolean keyExpected;
    private MemberKey.KeyPrincipal peerKey;

    /**
     * @param secret     this side's secret: the handshake proves and checks with {@link ClusterSecret#current()} as
     *                   it is now, even if the secret follows files that change before the handshake ends
     * @param ownKey     this side's member key, or null
     * @param opened     true when this side opened the connection
     * @param ownOpening this side's preface and HELLO, as sent
     * @param peer       "the peer at ADDRESS", for messages
     */
    SecretHandshake(ClusterSecret secret, MemberKey ownKey, boolean opened, byte[] ownOpening, String peer) {
        this.secret = secret.current();
        this.ownKey = ownKey;
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

    /** The HELLO flags of a side with {@code settings}: none without a secret; with one, its member key's too. */
    static int helloFlags(TransportSettings settings) {
        return settings.clusterSecret() == null ? 0
                : FrameType.FLAG_CLUSTER_SECRET | (settings.memberKey() == null ? 0 : FrameType.FLAG_MEMBER_KEY);
    }

    /**
     * The handshake of a side with {@code settings}, its CHALLENGE put after the opening just written into
     * {@code opening} (from position 0); null, and nothing put, without a secret.
     */
    static SecretHandshake afterOpening(ByteBuffer opening, TransportSettings settings, boolean opened, String peer) {
        if (settings.clusterSecret() == null) {
            return null;
        }
        byte[] mine = new byte[Handshake.LENGTH];
        opening.get(0, mine);
        SecretHandshake h = new SecretHandshake(settings.clusterSecret(), settings.memberKey(), opened, mine, peer);
        opening.put(h.challenge());
        return h;
    }

    /** The peer's opening, as received, checked by {@link #checkOpening}, its HELLO's flags and what it says. */
    void peerOpening(ByteBuffer b, int position, int helloFlags, PeerIdentity identity) {
        peerIdentity = identity;
        peerOpening = new byte[Handshake.LENGTH];
        b.get(position, peerOpening);
        keyExpected = ownKey != null && (helloFlags & FrameType.FLAG_MEMBER_KEY) != 0;
    }

    /** How long the peer's next frame must be: a CHALLENGE or PROOF, or its MEMBER_KEY. */
    int nextFrameLength() {
        return secretProved ? KEY_FRAME_LENGTH : FRAME_LENGTH;
    }

    /**
     * One whole frame of the peer's, at {@code b}'s position ({@link #nextFrameLength()} bytes, little-endian): its
     * CHALLENGE first, then its PROOF, then (when both sides have a member key) its MEMBER_KEY. Returns null, or why
     * the peer is refused. After a CHALLENGE, {@link #proof()} is what to send; after the last, {@link #proved()} is
     * true.
     */
    String onFrame(ByteBuffer b) {
        int p = b.position();
        int type = b.get(p + FrameLayout.OFF_TYPE);
        long length = Integer.toUnsignedLong(b.getInt(p + FrameLayout.OFF_LENGTH));
        int expected = peerNonce == null ? FrameType.CHALLENGE : secretProved ? FrameType.MEMBER_KEY : FrameType.PROOF;
        int expectedLength = nextFrameLength() - FrameLayout.HEADER_LENGTH;
        if (type != expected || length != expectedLength) {
            String name = peerNonce == null ? "CHALLENGE" : secretProved ? "MEMBER_KEY" : "PROOF";
            return peer + " did not prove " + (secretProved ? "its member key" : "the cluster secret")
                    + ": expected its " + name + " (frame type " + expected + ", " + expectedLength + " bytes), got frame type " + type
                    + " declaring " + length + " bytes";
        }
        if (secretProved) {
            return onKey(b, p + FrameLayout.HEADER_LENGTH);
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
        secretProved = true;
        return null;
    }

    /** The peer's MEMBER_KEY payload at {@code at}: its public key, then its signature of the transcript. */
    private String onKey(ByteBuffer b, int at) {
        byte[] key = new byte[MemberKey.PUBLIC_KEY_LENGTH];
        byte[] signature = new byte[MemberKey.SIGNATURE_LENGTH];
        b.get(at, key).get(at + key.length, signature);
        if (!MemberKey.verifies(key, signature, keyTranscript(!opened, peerOpening, ownOpening, peerNonce, ownNonce,
                key))) {
            return peer + " did not prove its member key (the signature of the handshake does not verify)";
        }
        peerKey = MemberKey.principal(key);
        return null;
    }

    /**
     * This side's PROOF, answering the peer's CHALLENGE (once it came), and its MEMBER_KEY right after when both sides
     * have a member key.
     */
    ByteBuffer proof() {
        ByteBuffer proof = frame(FrameType.PROOF, secret.proof(opened, ownOpening, peerOpening, ownNonce, peerNonce));
        if (!keyExpected) {
            return proof;
        }
        byte[] key = ownKey.publicKey();
        byte[] signature = ownKey.sign(keyTranscript(opened, ownOpening, peerOpening, ownNonce, peerNonce, key));
        ByteBuffer both = ByteBuffer.allocate(FRAME_LENGTH + KEY_FRAME_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        both.put(proof);
        FrameLayout.putHeader(both, key.length + signature.length, FrameType.MEMBER_KEY, 0, 0, 0, 0, 0, 0, 0);
        return both.put(key).put(signature).flip();
    }

    /**
     * What a MEMBER_KEY signs: a label, the prover's side, both openings, both nonces (the prover's first), and its
     * key. As the proof's, it binds the connection and the prover's place in it, so that no signature can be replayed
     * on another connection or reflected.
     */
    static byte[][] keyTranscript(boolean proverOpened, byte[] proverOpening, byte[] verifierOpening,
                                  byte[] proverNonce, byte[] verifierNonce, byte[] proverKey) {
        return new byte[][] {KEY_LABEL, {(byte) (proverOpened ? 1 : 2)}, proverOpening, verifierOpening, proverNonce,
                verifierNonce, proverKey};
    }

    /** True once the peer's PROOF verified, and its MEMBER_KEY when both sides have a key. */
    boolean proved() {
        return secretProved && (!keyExpected || peerKey != null);
    }

    /** What the peer's opening said, once it {@link #proved()} the secret. */
    PeerIdentity provedPeer() {
        return peerIdentity.withProvedClusterSecret();
    }

    /** The key the peer proved, or null when it proved none. */
    MemberKey.KeyPrincipal peerKey() {
        return peerKey;
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
