package dev.baton;

import com.code_intelligence.jazzer.junit.FuzzTest;

import dev.baton.fuzz.AllocationMeter;
import dev.baton.fuzz.SeedCorpus;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes {@link Metadata#decode}, which reads the metadata a peer puts in front of a request or response (the frame
 * reader calls it with the length the frame header declares). Input: bytes 0-1 the declared length (u16, so up to
 * four times the maximum), byte 2 the offset; the rest is the buffer.
 *
 * <p>Contract checked: malformed input throws {@link IllegalArgumentException} only; what decodes has the declared
 * size and encodes back to exactly the same bytes; and decoding allocates in proportion to the declared length (which
 * it checks against {@link Metadata#MAX_ENCODED_SIZE} first), never more.
 */
@Timeout(60)
class MetadataFuzzTest {

    @BeforeAll
    static void warm() {
        // The first decodes load and initialise classes: not what the meter is for.
        byte[] valid = seed(Metadata.of("k", "v"), 0, 5 + 1);
        decode(valid, false);
        valid[0]++;
        decode(valid, false);
    }

    @FuzzTest
    void metadataDecodesToItsOwnBytesOrFailsWithIllegalArgument(byte[] input) {
        AllocationMeter.repeatIfFirstExceeds(() -> decode(input, true));
    }

    private static void decode(byte[] input, boolean metered) {
        if (input.length < 3) {
            return;
        }
        int length = Byte.toUnsignedInt(input[0]) | Byte.toUnsignedInt(input[1]) << 8;
        int offset = Byte.toUnsignedInt(input[2]) % 16;
        ByteBuffer in = ByteBuffer.wrap(input, 3, input.length - 3).slice().order(ByteOrder.LITTLE_ENDIAN);
        AllocationMeter meter = AllocationMeter.start();
        Metadata m;
        try {
            m = Metadata.decode(in, offset, length);
        } catch (IllegalArgumentException malformed) {
            if (metered) {
                meter.assertAtMost(64L * 1024 + 32L * Math.min(length, in.capacity()), 0, "a refused metadata block");
            }
            return;
        }
        if (metered) {
            meter.assertAtMost(64L * 1024 + 32L * length, 0, "decoding " + length + " bytes of metadata");
        }
        assertTrue(length <= Metadata.MAX_ENCODED_SIZE, "decoded a block of " + length + " bytes");
        assertEquals(length, m.encodedSize());
        ByteBuffer out = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        m.encode(out);
        byte[] original = new byte[length];
        in.get(offset, original);
        assertArrayEquals(original, out.array(), "metadata re-encodes to other bytes");
    }

    /** Metadata as {@link Metadata#encode} writes it, at a few offsets, and declared lengths that must be refused. */
    @Test
    @EnabledIfSystemProperty(named = SeedCorpus.PROPERTY, matches = "true")
    void writesSeeds() {
        SeedCorpus seeds = SeedCorpus.of(MetadataFuzzTest.class,
                "metadataDecodesToItsOwnBytesOrFailsWithIllegalArgument");
        Metadata one = Metadata.of("trace-id", "4bf92f3577b34da6a3ce929d0e0e4736");
        Metadata many = one.with("user", "alice").withBinary("token-bin", new byte[] {0, 1, 2, (byte) 0xFF})
                .with("deadline-ms", "250");
        seeds.write("one", seed(one, 0, one.encodedSize()));
        seeds.write("many-at-offset", seed(many, 5, many.encodedSize()));
        seeds.write("declares-more", seed(many, 0, many.encodedSize() + 1));
        seeds.write("declares-over-max", seed(one, 0, 0xFFFF));
    }

    private static byte[] seed(Metadata m, int offset, int declared) {
        ByteBuffer b = ByteBuffer.allocate(3 + offset + m.encodedSize()).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, (byte) declared).put(1, (byte) (declared >>> 8)).put(2, (byte) offset).position(3 + offset);
        m.encode(b);
        return b.array();
    }
}
