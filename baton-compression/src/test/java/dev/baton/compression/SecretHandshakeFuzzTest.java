package dev.baton.compression;

import com.code_intelligence.jazzer.junit.FuzzTest;

import dev.baton.BatonException;
import dev.baton.Message;
import dev.baton.Status;
import dev.baton.spi.ClusterSecret;
import dev.baton.spi.FrameHandler;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
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

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

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
 */
@Timeout(60)
class SecretHandshakeFuzzTest {

    private static final String TARGET = "hostileChallengesAndProofsNeverAuthenticate";
    private static final int MAX_MESSAGE = 1 << 20;
    private static final ClusterSecret SECRET = ClusterSecret.of(randomBytes(32));
    private static final TransportSettings SETTINGS = TransportSettings.builder().maxMessageSize(MAX_MESSAGE)
            .receiveBudgetBytes(4L * MAX_MESSAGE).keepaliveInterval(Duration.ZERO).keepaliveTimeout(Duration.ZERO)
            .clusterSecret(SECRET).build();
    private static final BufferPool POOL = new BufferPool(16L << 20);
    private static final Set<Status.Code> CLOSES = Set.of(Status.Code.UNAUTHENTICATED, Status.Code.PROTOCOL_ERROR,
            Status.Code.CLOSED);
    /** What one handshake may cost: the openings, nonces, MACs, messages that name the peer; no declared size. */
    private static final long HEAP_LIMIT = 256 * 1024;
    /** Direct memory: the connection's read buffer at most. */
    private static final long DIRECT_LIMIT = 1 << 20;
    private static final int OWN_NODE = 1;
    private static QuietLogging quiet;

    @BeforeAll
    static void quiet() {
        quiet = QuietLogging.quiet("dev.baton");
    }

    @AfterAll
    static void loud() {
        quiet.close();
    }

    @BeforeAll
    static void warm() throws IOException {
        for (byte[] seed : SeedCorpus.existing(SecretHandshakeFuzzTest.class, TARGET)) {
            read(seed, false);      // unmeasured: class loading and the JCE's first HMAC are not counted
        }
    }

    @FuzzTest
    void hostileChallengesAndProofsNeverAuthenticate(byte[] input) throws IOException {
        try {
            read(input, true);
        } catch (AllocationMeter.Exceeded firstRun) {
            read(input, true);       // a first run may load classes on this thread; only a repeat counts
        }
    }

    private static void read(byte[] input, boolean metered) throws IOException {
        if (input.length < 2) {
            return;
        }
        int flags = Byte.toUnsignedInt(input[0]);
        byte[] stream = stream(flags, Arrays.copyOfRange(input, 2, input.length));
        Watching handler = new Watching();
        TransportCore core = core(handler);
        AllocationMeter meter = AllocationMeter.start();
        StreamConnection c = (flags & 1) != 0 ? StreamConnection.connect(core) : StreamConnection.open(core);
        c.receive(stream, Byte.toUnsignedInt(input[1]));
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
            meter.assertAtMost(HEAP_LIMIT + 64L * input.length, DIRECT_LIMIT, "a handshake of " + stream.length
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
        ByteBuffer b = ByteBuffer.allocate(Handshake.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        Handshake.encode(b, nodeId, 1, PeerIdentity.ROLE_NODE, 1024, MAX_MESSAGE, ProtocolVersion.MAX, 0,
                FrameType.FLAG_CLUSTER_SECRET);
        return b.array();
    }

    static byte[] frame(int type, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(FrameLayout.HEADER_LENGTH + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        FrameLayout.putHeader(b, payload.length, type, 0, 0, 0, 0, 0, 0, 0);
        return b.put(payload).array();
    }

    private static TransportCore core(FrameHandler handler) {
        return new TransportCore(new TransportContext("fuzz", OWN_NODE, PeerIdentity.ROLE_NODE, () -> 0, handler,
                SETTINGS), POOL);
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
            TransportCore core = core(handler);
            StreamConnection c = thisOpened ? StreamConnection.connect(core) : StreamConnection.open(core);
            byte[] written = c.takeWritten();
            assertEquals(Handshake.LENGTH + FrameLayout.HEADER_LENGTH + ClusterSecret.NONCE_LENGTH, written.length);
            byte[] ownOpening = Arrays.copyOf(written, Handshake.LENGTH);
            byte[] ownNonce = Arrays.copyOfRange(written, written.length - ClusterSecret.NONCE_LENGTH, written.length);
            byte[] peerOpening = opening(2);
            byte[] peerNonce = randomBytes(ClusterSecret.NONCE_LENGTH);
            byte[] proof = SECRET.proof(!thisOpened, peerOpening, ownOpening, peerNonce, ownNonce);
            c.receive(FrameStreamFuzzTest.concat(FrameStreamFuzzTest.concat(peerOpening,
                    frame(FrameType.CHALLENGE, peerNonce)), frame(FrameType.PROOF, proof)), 0);
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
