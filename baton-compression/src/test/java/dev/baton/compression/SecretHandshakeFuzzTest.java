package dev.baton.compression;

import com.code_intelligence.jazzer.junit.FuzzTest;

import dev.baton.BatonException;
import dev.baton.Message;
import dev.baton.Status;
import dev.baton.spi.ClusterSecret;
import dev.baton.spi.FrameHandler;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.MemberKey;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportSettings;
import dev.baton.spi.TransportStats;
import dev.baton.spi.connection.BufferPool;
import dev.baton.spi.connection.FrameLayout;
import dev.baton.spi.connection.Handshake;
import dev.baton.spi.connection.TransportCore;
import dev.baton.fuzz.AllocationMeter;
import dev.baton.fuzz.QuietLogging;
import dev.baton.fuzz.SeedCorpus;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Fuzzes the cluster secret's part of the handshake ({@code SecretHandshake}: the peer's HELLO with the secret flag,
 * its CHALLENGE and its PROOF) on a real {@code FramedConnection} whose side has a secret, over the in-memory byte
 * stream of {@link StreamConnection} (here, beside {@link FrameStreamFuzzTest}, to share it). Both roles: the
 * acceptor reads a hostile opener, the opener reads a hostile acceptor.
 *
 * <p>Input: byte 0, flags: bit 0, this side opened the connection (else it accepted); bit 1, the harness writes a
 * valid opening with the secret flag first (else the stream brings its own); bit 2, then a CHALLENGE header whose
 * 32-byte nonce is the stream's next bytes; bit 3, then a PROOF header whose 32-byte HMAC is the next bytes. Byte 1,
 * how many bytes each read returns (0: all that fits). The rest, the stream.
 *
 * <p>Contract checked: the secret is random per run, so no input can carry its proof: the connection never opens
 * (no {@code onOpen}, no remote identity, no frame delivered); it stays in its handshake or closes with
 * UNAUTHENTICATED, PROTOCOL_ERROR or CLOSED; nothing escapes the reader; an input costs no more than a handshake
 * (heap and direct, measured), whatever a header declares; and after the close no buffer and no receive budget
 * stays held. {@link #aValidProofOpensTheConnection} shows that the harness does see an open connection.
 *
 * <p>A second target, {@link #hostileMemberKeysNeverOpen}, starts past the proof: this side has a member key, and
 * the harness plays a peer that flags one too and proves the secret; the input is what comes after its PROOF, where
 * a MEMBER_KEY is due. The nonces are random per connection, so no input can carry a signature of the handshake: the
 * same contract holds. Input: byte 0, bit 0, this side opened the connection; byte 1, the read size; the rest, the
 * stream. {@link #aValidMemberKeyOpensTheConnectionAndIsItsPrincipal} shows the harness sees a key that verifies.
 */
@Timeout(60)
class SecretHandshakeFuzzTest {

    private static final String TARGET = "hostileChallengesAndProofsNeverAuthenticate";
    private static final String KEY_TARGET = "hostileMemberKeysNeverOpen";
    private static final int MAX_MESSAGE = 1 << 20;
    private static final ClusterSecret SECRET = ClusterSecret.of(randomBytes(32));
    private static final TransportSettings SETTINGS = TransportSettings.builder().maxMessageSize(MAX_MESSAGE)
            .receiveBudgetBytes(4L * MAX_MESSAGE).keepaliveInterval(Duration.ZERO).keepaliveTimeout(Duration.ZERO)
            .clusterSecret(SECRET).build();
    private static final TransportSettings KEYED = SETTINGS.toBuilder().memberKey(MemberKey.generate()).build();
    private static final BufferPool POOL = new BufferPool(16L << 20);
    private static final Set<Status.Code> CLOSES = Set.of(Status.Code.UNAUTHENTICATED, Status.Code.PROTOCOL_ERROR,
            Status.Code.CLOSED);
    /** What one handshake may cost: the openings, nonces, MACs, messages that name the peer; no declared size. */
    private static final long HEAP_LIMIT = 256 * 1024;
    /** Direct memory: the connection's read buffer at most. */
    private static final long DIRECT_LIMIT = 1 << 20;
    private static final int OWN_NODE = 1;
    @RegisterExtension
    static final QuietLogging.Extension QUIET = QuietLogging.whileTheClassRuns("dev.baton");

    @BeforeAll
    static void warm() throws IOException {
        for (byte[] seed : SeedCorpus.existing(SecretHandshakeFuzzTest.class, TARGET)) {
            read(seed, false);      // unmeasured: class loading and the JCE's first HMAC are not counted
        }
        for (byte[] seed : SeedCorpus.existing(SecretHandshakeFuzzTest.class, KEY_TARGET)) {
            readAfterProof(seed, false);
        }
    }

    @FuzzTest
    void hostileChallengesAndProofsNeverAuthenticate(byte[] input) throws IOException {
        AllocationMeter.repeatIfFirstExceeds(() -> read(input, true));
    }

    @FuzzTest
    void hostileMemberKeysNeverOpen(byte[] input) throws IOException {
        AllocationMeter.repeatIfFirstExceeds(() -> readAfterProof(input, true));
    }

    private static void read(byte[] input, boolean metered) throws IOException {
        if (input.length < 2) {
            return;
        }
        int flags = Byte.toUnsignedInt(input[0]);
        byte[] rest = Arrays.copyOfRange(input, 2, input.length);
        drive(SETTINGS, (flags & 1) != 0, Byte.toUnsignedInt(input[1]), c -> stream(flags, rest), metered);
    }

    /** The input after a peer that flagged a member key proved the secret: its MEMBER_KEY, or anything else. */
    private static void readAfterProof(byte[] input, boolean metered) throws IOException {
        if (input.length < 2) {
            return;
        }
        boolean thisOpened = (input[0] & 1) != 0;
        byte[] rest = Arrays.copyOfRange(input, 2, input.length);
        drive(KEYED, thisOpened, Byte.toUnsignedInt(input[1]),
                c -> FrameStreamFuzzTest.concat(Proven.by(c, thisOpened, KEY_FLAGS).stream(), rest), metered);
    }

    /**
     * Runs one connection of {@code settings} that reads what {@code peer} sends ({@code chunk} bytes per read, 0:
     * all that fits), and checks the contract.
     */
    private static void drive(TransportSettings settings, boolean thisOpened, int chunk,
                              java.util.function.Function<StreamConnection, byte[]> peer, boolean metered)
            throws IOException {
        Watching handler = new Watching();
        TransportCore core = core(handler, settings);
        AllocationMeter meter = AllocationMeter.start();
        StreamConnection c = thisOpened ? StreamConnection.connect(core) : StreamConnection.open(core);
        byte[] stream = peer.apply(c);
        c.receive(stream, chunk);
        while (c.isOpen()) {
            int before = c.unread();
            c.step();
            if (c.unread() == before) {
                break;
            }
        }
        boolean authenticated = handler.opened || c.remoteIdentity() != null;
        BatonException cause = c.closeCause();
        c.closeNow();
        if (authenticated || handler.frames > 0) {
            fail("authenticated without the secret (opened " + handler.opened + ", " + handler.frames
                    + " frames delivered, identity " + c.remoteIdentity() + ")");
        }
        if (metered) {
            meter.assertAtMost(HEAP_LIMIT + 64L * stream.length, DIRECT_LIMIT, "a handshake of " + stream.length
                    + " bytes");
        }
        if (cause != null) {
            assertTrue(CLOSES.contains(cause.status().code()), () -> "closed with " + cause);
        }
        TransportStats s = core.stats();
        assertEquals(0, s.receiveBytesReserved(), "receive budget still reserved after the close");
        assertEquals(0, s.connectionBufferBytes(), "buffers still held after the close");
    }

    /** The stream the peer sends: what the flags ask the harness to write, then the rest of the input. */
    static byte[] stream(int flags, byte[] rest) {
        ByteBuffer b = ByteBuffer.allocate(Handshake.LENGTH + 2 * FrameLayout.HEADER_LENGTH + rest.length)
                .order(ByteOrder.LITTLE_ENDIAN);
        if ((flags & 2) != 0) {
            b.put(opening(2));
        }
        if ((flags & 4) != 0) {
            FrameLayout.putHeader(b, ClusterSecret.NONCE_LENGTH, FrameType.CHALLENGE, 0, 0, 0, 0, 0, 0, 0);
            b.put(rest, 0, Math.min(ClusterSecret.NONCE_LENGTH, rest.length));
            rest = Arrays.copyOfRange(rest, Math.min(ClusterSecret.NONCE_LENGTH, rest.length), rest.length);
        }
        if ((flags & 8) != 0) {
            FrameLayout.putHeader(b, ClusterSecret.PROOF_LENGTH, FrameType.PROOF, 0, 0, 0, 0, 0, 0, 0);
        }
        b.put(rest);
        return Arrays.copyOf(b.array(), b.position());
    }

    /** A peer's opening with the secret flag: it speaks the newest version. */
    static byte[] opening(long nodeId) {
        return opening(nodeId, FrameType.FLAG_CLUSTER_SECRET);
    }

    static byte[] opening(long nodeId, int helloFlags) {
        ByteBuffer b = ByteBuffer.allocate(Handshake.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        Handshake.encode(b, nodeId, 1, PeerIdentity.ROLE_NODE, 1024, MAX_MESSAGE, ProtocolVersion.MAX, 0, helloFlags);
        return b.array();
    }

    static byte[] frame(int type, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(FrameLayout.HEADER_LENGTH + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        FrameLayout.putHeader(b, payload.length, type, 0, 0, 0, 0, 0, 0, 0);
        return b.put(payload).array();
    }

    private static TransportCore core(FrameHandler handler, TransportSettings settings) {
        return new TransportCore(new TransportContext("fuzz", OWN_NODE, PeerIdentity.ROLE_NODE, () -> 0, handler,
                settings), POOL);
    }

    /** The HELLO flags of a peer with a secret and a member key. */
    private static final int KEY_FLAGS = FrameType.FLAG_CLUSTER_SECRET | FrameType.FLAG_MEMBER_KEY;

    /**
     * A peer that knows the secret, facing connection {@code c} (which has written its opening and CHALLENGE): its
     * opening with {@code helloFlags}, its CHALLENGE, and the PROOF that answers {@code c}'s.
     */
    private record Proven(byte[] stream, byte[] ownOpening, byte[] ownNonce, byte[] peerOpening, byte[] peerNonce) {
        static Proven by(StreamConnection c, boolean thisOpened, int helloFlags) {
            byte[] written = c.takeWritten();
            byte[] ownOpening = Arrays.copyOf(written, Handshake.LENGTH);
            byte[] ownNonce = Arrays.copyOfRange(written, written.length - ClusterSecret.NONCE_LENGTH, written.length);
            byte[] peerOpening = opening(2, helloFlags);
            byte[] peerNonce = randomBytes(ClusterSecret.NONCE_LENGTH);
            byte[] proof = SECRET.proof(!thisOpened, peerOpening, ownOpening, peerNonce, ownNonce);
            byte[] stream = FrameStreamFuzzTest.concat(FrameStreamFuzzTest.concat(peerOpening,
                    frame(FrameType.CHALLENGE, peerNonce)), frame(FrameType.PROOF, proof));
            return new Proven(stream, ownOpening, ownNonce, peerOpening, peerNonce);
        }
    }

    static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new SecureRandom().nextBytes(b);
        return b;
    }

    /**
     * The harness sees authentication: a peer that knows the secret and answers this side's CHALLENGE with the right
     * PROOF opens the connection, in both roles. Were this not so, the fuzz target's check would prove nothing.
     */
    @Test
    void aValidProofOpensTheConnection() throws IOException {
        for (boolean thisOpened : new boolean[] {false, true}) {
            Watching handler = new Watching();
            TransportCore core = core(handler, SETTINGS);
            StreamConnection c = thisOpened ? StreamConnection.connect(core) : StreamConnection.open(core);
            c.receive(Proven.by(c, thisOpened, FrameType.FLAG_CLUSTER_SECRET).stream(), 0);
            c.step();
            assertTrue(handler.opened, "opened by a valid proof (this side opened: " + thisOpened + ")");
            assertNotNull(c.remoteIdentity());
            assertTrue(c.remoteIdentity().provedClusterSecret());
            assertNull(c.closeCause());
            c.closeNow();
            assertEquals(0, core.stats().connectionBufferBytes());
        }
    }

    /**
     * The harness sees a member key: a peer that proves the secret and then sends its key with a valid signature of the
     * handshake (docs/protocol.md#member-keys) opens the connection, in both roles, and the key is its principal; this
     * side sent its own MEMBER_KEY after its PROOF.
     */
    @Test
    void aValidMemberKeyOpensTheConnectionAndIsItsPrincipal() throws IOException {
        MemberKey peerKey = MemberKey.generate();
        for (boolean thisOpened : new boolean[] {false, true}) {
            Watching handler = new Watching();
            TransportCore core = core(handler, KEYED);
            StreamConnection c = thisOpened ? StreamConnection.connect(core) : StreamConnection.open(core);
            Proven p = Proven.by(c, thisOpened, KEY_FLAGS);
            byte[] key = peerKey.publicKey();
            byte[] signature = peerKey.sign("baton/member-key/v1".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                    new byte[] {(byte) (thisOpened ? 2 : 1)}, p.peerOpening(), p.ownOpening(), p.peerNonce(),
                    p.ownNonce(), key);
            c.receive(p.stream(), 0);
            c.step();
            assertFalse(handler.opened, "not before its MEMBER_KEY");
            assertEquals(2 * FrameLayout.HEADER_LENGTH + ClusterSecret.PROOF_LENGTH + MemberKey.PUBLIC_KEY_LENGTH
                    + MemberKey.SIGNATURE_LENGTH, c.takeWritten().length, "this side's PROOF and MEMBER_KEY");
            c.receive(frame(FrameType.MEMBER_KEY, FrameStreamFuzzTest.concat(key, signature)), 0);
            c.step();
            assertTrue(handler.opened, "opened by a valid key (this side opened: " + thisOpened + ")");
            assertEquals(peerKey.principal(), c.peerPrincipal());
            assertNull(c.closeCause());
            c.closeNow();
            assertEquals(0, core.stats().connectionBufferBytes());
        }
    }

    /**
     * Writes the seeds: a valid opening with a CHALLENGE and a wrong PROOF, whole and a byte at a time, in both
     * roles; the same with frames of the wrong type, a length of 4 GiB, an opening without the flag, of an old version,
     * with this side's node id (a reflection), the PROOF before the CHALLENGE, two CHALLENGEs, an early end.
     * Runs only with {@code -Dbaton.fuzz.writeSeeds=true}.
     */
    @Test
    @EnabledIfSystemProperty(named = SeedCorpus.PROPERTY, matches = "true")
    void writesSeeds() {
        SeedCorpus seeds = SeedCorpus.of(SecretHandshakeFuzzTest.class, TARGET);
        byte[] nonce = randomBytes(32);
        byte[] wrongProof = randomBytes(32);
        for (int role : new int[] {0, 1}) {
            String r = role == 0 ? "acceptor-" : "opener-";
            seeds.write(r + "wrong-proof", input(role | 2 | 4 | 8, 0, cat(nonce, wrongProof)));
            seeds.write(r + "wrong-proof-bytewise", input(role | 2 | 4 | 8, 1, cat(nonce, wrongProof)));
            seeds.write(r + "own-frames-wrong-proof", input(role, 5, cat(opening(2),
                    frame(FrameType.CHALLENGE, nonce), frame(FrameType.PROOF, wrongProof))));
            seeds.write(r + "challenge-then-nothing", input(role | 2 | 4, 0, nonce));
            seeds.write(r + "proof-first", input(role | 2, 0, frame(FrameType.PROOF, wrongProof)));
            seeds.write(r + "two-challenges", input(role | 2 | 4, 0, cat(nonce, frame(FrameType.CHALLENGE, nonce))));
            seeds.write(r + "request-instead-of-proof", input(role | 2 | 4, 0, cat(nonce,
                    frame(FrameType.REQUEST, wrongProof))));
            byte[] huge = frame(FrameType.CHALLENGE, nonce);
            ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(FrameLayout.OFF_LENGTH, -1);
            seeds.write(r + "challenge-declaring-4gib", input(role | 2, 0, huge));
            byte[] plain = opening(2);
            plain[FrameLayout.PREFACE_LENGTH + FrameLayout.OFF_FLAGS] = 0;
            seeds.write(r + "opening-without-secret", input(role, 0, cat(plain, frame(FrameType.CHALLENGE, nonce))));
            ByteBuffer old = ByteBuffer.allocate(Handshake.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
            Handshake.encode(old, 2, 1, PeerIdentity.ROLE_NODE, 1024, MAX_MESSAGE, ProtocolVersion.CLUSTER_SECRET - 1,
                    0, FrameType.FLAG_CLUSTER_SECRET);
            seeds.write(r + "old-version-with-flag", input(role, 0, cat(old.array(), frame(FrameType.CHALLENGE,
                    nonce))));
            seeds.write(r + "reflected-node-id", input(role, 0, cat(opening(OWN_NODE), frame(FrameType.CHALLENGE,
                    nonce), frame(FrameType.PROOF, wrongProof))));
        }
        writeKeySeeds();
    }

    /**
     * The second target's seeds, in both roles: a MEMBER_KEY whose signature is random, whole and a byte at a time; a
     * real key's signature of something else; one too short, too long, declaring 4 GiB; a PROOF, a REQUEST or nothing
     * in its place.
     */
    private static void writeKeySeeds() {
        SeedCorpus seeds = SeedCorpus.of(SecretHandshakeFuzzTest.class, KEY_TARGET);
        MemberKey key = MemberKey.generate();
        byte[] randomSignature = randomBytes(MemberKey.SIGNATURE_LENGTH);
        byte[] otherSignature = key.sign(randomBytes(32));
        for (int role : new int[] {0, 1}) {
            String r = role == 0 ? "acceptor-" : "opener-";
            byte[] wrong = frame(FrameType.MEMBER_KEY, cat(key.publicKey(), randomSignature));
            seeds.write(r + "random-signature", input(role, 0, wrong));
            seeds.write(r + "random-signature-bytewise", input(role, 1, wrong));
            seeds.write(r + "signature-of-something-else", input(role, 0, frame(FrameType.MEMBER_KEY,
                    cat(key.publicKey(), otherSignature))));
            seeds.write(r + "short-key-frame", input(role, 0, frame(FrameType.MEMBER_KEY, key.publicKey())));
            seeds.write(r + "long-key-frame", input(role, 0, frame(FrameType.MEMBER_KEY, cat(key.publicKey(),
                    randomSignature, randomSignature))));
            byte[] huge = frame(FrameType.MEMBER_KEY, cat(key.publicKey(), randomSignature));
            ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(FrameLayout.OFF_LENGTH, -1);
            seeds.write(r + "key-declaring-4gib", input(role, 0, huge));
            seeds.write(r + "proof-instead-of-key", input(role, 0, frame(FrameType.PROOF, randomBytes(32))));
            seeds.write(r + "request-instead-of-key", input(role, 0, frame(FrameType.REQUEST, randomBytes(96))));
            seeds.write(r + "nothing-after-proof", input(role, 0, new byte[0]));
        }
    }

    private static byte[] input(int flags, int chunk, byte[] stream) {
        return cat(new byte[] {(byte) flags, (byte) chunk}, stream);
    }

    private static byte[] cat(byte[]... parts) {
        byte[] all = new byte[0];
        for (byte[] p : parts) {
            all = FrameStreamFuzzTest.concat(all, p);
        }
        return all;
    }

    /** Records whether the connection opened and how many frames it delivered. */
    private static final class Watching implements FrameHandler {
        boolean opened;
        int frames;

        @Override
        public void onOpen(TransportConnection c) {
            opened = true;
        }

        @Override
        public void onFrame(TransportConnection c, InboundHeader h, Message payload) {
            frames++;
            payload.close();
        }

        @Override
        public void onClose(TransportConnection c, BatonException cause) {
        }
    }
}
