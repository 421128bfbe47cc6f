package dev.baton.spi.connection;

import com.code_intelligence.jazzer.junit.FuzzTest;

import dev.baton.fuzz.SeedCorpus;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes {@link Handshake#decode}, the first bytes a listening node reads from anyone who connects. Input: byte 0
 * picks this node's highest version and where the opening starts in the buffer; the rest is the peer's bytes.
 *
 * <p>Contract checked: decode never throws; DONE consumes exactly {@value Handshake#LENGTH} bytes and yields a sane
 * identity (a version both sides speak, a non-negative size limit, no encoding 0); NEED_MORE and INVALID consume
 * nothing, INVALID says why; and the outcome does not depend on how the bytes arrive: every prefix of an opening
 * decodes to NEED_MORE or to the whole opening's outcome (an early INVALID only when the whole is INVALID).
 */
@Timeout(60)
class HandshakeFuzzTest {

    @FuzzTest
    void anyOpeningDecodesToOneOutcomeWithoutThrowing(byte[] input) {
        if (input.length == 0) {
            return;
        }
        int highest = ProtocolVersion.MIN + (input[0] & 0xFF) % (ProtocolVersion.MAX - ProtocolVersion.MIN + 1);
        int offset = (input[0] >>> 4) & 0x7;
        byte[] peer = Arrays.copyOfRange(input, 1, input.length);

        Handshake whole = new Handshake(highest);
        ByteBuffer b = buffer(peer, offset, peer.length);
        Handshake.Outcome outcome = whole.decode(b);
        switch (outcome) {
            case DONE -> {
                assertEquals(offset + Handshake.LENGTH, b.position(), "DONE consumes exactly the opening");
                checkIdentity(whole.identity(), highest);
            }
            case NEED_MORE -> {
                assertEquals(offset, b.position(), "NEED_MORE consumes nothing");
                assertTrue(peer.length < Handshake.LENGTH, "NEED_MORE with a whole opening there");
            }
            case INVALID -> {
                assertEquals(offset, b.position(), "INVALID consumes nothing");
                assertNotNull(whole.error(), "INVALID says why");
            }
        }
        for (int n = 0; n < Math.min(peer.length, Handshake.LENGTH); n++) {
            Handshake part = new Handshake(highest);
            Handshake.Outcome o = part.decode(buffer(peer, offset, n));
            assertTrue(o == Handshake.Outcome.NEED_MORE || (o == Handshake.Outcome.INVALID && outcome == o),
                    "a prefix of " + n + " bytes decoded to " + o + ", the whole to " + outcome);
        }
    }

    /** Openings as {@link Handshake#encode} writes them, for every version pair, and a few that must be refused. */
    @Test
    @EnabledIfSystemProperty(named = SeedCorpus.PROPERTY, matches = "true")
    void writesSeeds() {
        SeedCorpus seeds = SeedCorpus.of(HandshakeFuzzTest.class, "anyOpeningDecodesToOneOutcomeWithoutThrowing");
        for (int peer = ProtocolVersion.MIN; peer <= ProtocolVersion.MAX; peer++) {
            for (int local = ProtocolVersion.MIN; local <= ProtocolVersion.MAX; local += 3) {
                byte[] opening = opening(peer, 0x6, 65_536, 256 << 20);
                seeds.write("peer" + peer + "-local" + local, seed(local, 0, opening));
            }
        }
        byte[] node = opening(ProtocolVersion.MAX, 0, Handshake.MAX_CONCURRENT_ON_WIRE + 5, Long.MAX_VALUE);
        seeds.write("limits-clamped", seed(ProtocolVersion.MAX, 3, node));
        seeds.write("negative-size", seed(ProtocolVersion.MAX, 0, opening(ProtocolVersion.MAX, 0, 1, -1)));
        seeds.write("truncated", seed(ProtocolVersion.MAX, 1, Arrays.copyOf(node, Handshake.LENGTH - 1)));
        byte[] notHello = node.clone();
        notHello[FrameLayout.PREFACE_LENGTH + FrameLayout.OFF_TYPE] = 2;
        seeds.write("not-hello", seed(ProtocolVersion.MAX, 0, notHello));
        byte[] newer = node.clone();
        newer[4] = 9;
        seeds.write("newer-framing", seed(ProtocolVersion.MIN, 0, newer));
        seeds.write("http", seed(ProtocolVersion.MAX, 0,
                "GET / HTTP/1.1\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    }

    private static byte[] opening(int version, int encodings, int maxConcurrent, long maxMessage) {
        ByteBuffer b = ByteBuffer.allocate(Handshake.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        Handshake.encode(b, 42, 3, PeerIdentity.ROLE_NODE, maxConcurrent, maxMessage, version, encodings);
        return b.array();
    }

    private static byte[] seed(int local, int offset, byte[] peer) {
        byte[] input = new byte[1 + peer.length];
        input[0] = (byte) ((local - ProtocolVersion.MIN) | offset << 4);
        System.arraycopy(peer, 0, input, 1, peer.length);
        return input;
    }

    /** A TLS client's first record at a plain port is named as such, so the plain side's log says what went wrong. */
    @Test
    void aTlsClientHelloIsToldApartFromOtherStrangers() {
        Handshake h = new Handshake(ProtocolVersion.MAX);
        byte[] clientHello = {22, 3, 1, 0, (byte) 200, 1, 0, 0};      // handshake record, TLS 1.0 record version
        assertEquals(Handshake.Outcome.INVALID, h.decode(buffer(clientHello, 0, clientHello.length)));
        assertTrue(h.error().contains("the peer speaks TLS"), h.error());
        Handshake other = new Handshake(ProtocolVersion.MAX);
        byte[] http = "GET / HTTP/1.1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertEquals(Handshake.Outcome.INVALID, other.decode(buffer(http, 0, http.length)));
        assertEquals("bad preface: not a Baton peer", other.error());
    }

    private static void checkIdentity(PeerIdentity id, int highest) {
        assertNotNull(id);
        assertTrue(id.protocolVersion() >= ProtocolVersion.MIN && id.protocolVersion() <= highest,
                "negotiated version " + id.protocolVersion());
        assertTrue(id.maxMessageSize() >= 0, "peer's max message size " + id.maxMessageSize());
        assertTrue(id.maxConcurrentRequests() >= 0 && id.maxConcurrentRequests() <= Handshake.MAX_CONCURRENT_ON_WIRE,
                "peer's concurrency limit " + id.maxConcurrentRequests());
        assertEquals(0, id.acceptedEncodings() & ~0xFFFE, "encodings mask " + id.acceptedEncodings());
    }

    private static ByteBuffer buffer(byte[] peer, int offset, int length) {
        ByteBuffer b = ByteBuffer.allocate(offset + length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(offset, peer, 0, length);
        return b.position(offset);
    }
}
