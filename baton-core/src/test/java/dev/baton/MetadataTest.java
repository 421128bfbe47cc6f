package dev.baton;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link Metadata}: keys, values, limits, and its encoding read back, including what a hostile peer could send. */
@Timeout(10)
class MetadataTest {

    @Test
    void entriesAreKeptInOrderAndReplacedByKey() {
        Metadata m = Metadata.of("b", "1").with("a", "2").withBinary("c", new byte[]{0, -1}).with("b", "3");
        assertEquals(List.of("b", "a", "c"), m.keys());
        assertEquals("3", m.get("b"));
        assertTrue(m.isBinary("c"));
        assertFalse(m.isBinary("a"));
        assertArrayEquals(new byte[]{0, -1}, m.getBinary("c"));
        assertArrayEquals("2".getBytes(), m.getBinary("a"));
        assertNull(m.get("missing"));
        assertEquals(List.of("a", "c"), m.without("b").keys());
        assertEquals(m, Metadata.of("a", "2").withBinary("c", new byte[]{0, -1}).with("b", "3"), "order-free equality");
        assertNotEquals(m, m.with("b", "4"));
        assertEquals(Metadata.of("x", "1", "y", "2"), Metadata.of("x", "1").withAll(Metadata.of("y", "2")));
        assertTrue(Metadata.EMPTY.isEmpty());
        assertEquals(0, Metadata.EMPTY.encodedSize());
    }

    @Test
    void keysAreValidated() {
        for (String bad : new String[]{"", "Upper", "has space", "colon:", "é", "x".repeat(256)}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Metadata.of(bad, "v"));
            assertTrue(e.getMessage().contains("key"), e.getMessage());
        }
        assertEquals("v", Metadata.of("a-z_0.9", "v").get("a-z_0.9"));
        assertEquals(255, Metadata.of("k".repeat(255), "v").keys().getFirst().length());
        assertThrows(NullPointerException.class, () -> Metadata.of(null, "v"));
    }

    @Test
    void theEncodedSizeIsBounded() {
        Metadata nearlyFull = Metadata.EMPTY.withBinary("big", new byte[Metadata.MAX_ENCODED_SIZE - 4 - 3]);
        assertEquals(Metadata.MAX_ENCODED_SIZE, nearlyFull.encodedSize());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> nearlyFull.with("x", ""));
        assertTrue(e.getMessage().contains(String.valueOf(Metadata.MAX_ENCODED_SIZE)), e.getMessage());
        assertEquals(4 + 3 + 7, nearlyFull.with("big", "smaller").encodedSize(), "a replaced value frees its bytes");
    }

    @Test
    void encodingReadsBackExactly() {
        Metadata m = Metadata.of("trace-id", "0af7651916cd43dd8448eb211c80319c")
                .withBinary("bin", new byte[]{1, 2, 3})
                .with("empty", "")
                .with("unicode", "héllo ✓");
        ByteBuffer b = ByteBuffer.allocate(m.encodedSize() + 10).order(ByteOrder.LITTLE_ENDIAN);
        b.position(5);
        m.encode(b);
        assertEquals(5 + m.encodedSize(), b.position());
        Metadata back = Metadata.decode(b, 5, m.encodedSize());
        assertEquals(m, back);
        assertEquals(m.keys(), back.keys());
        assertEquals("héllo ✓", back.get("unicode"));
        assertEquals(m.encodedSize(), back.encodedSize());
    }

    @Test
    void malformedInputIsRefusedWithAReason() {
        assertMalformed(new byte[]{1, 0, 0}, "truncated");
        assertMalformed(new byte[]{0, 0, 0, 0}, "malformed");                       // empty key
        assertMalformed(new byte[]{1, 7, 0, 0, 'a'}, "malformed");                  // unknown kind
        assertMalformed(new byte[]{1, 0, 9, 0, 'a', 'b'}, "malformed");             // value past the end
        assertMalformed(new byte[]{1, 0, 0, 0, 'A'}, "key");                        // upper case
        assertMalformed(new byte[]{1, 0, 0, 0, 'a', 1, 0, 0, 0, 'a'}, "twice");     // repeated key
        ByteBuffer b = ByteBuffer.allocate(8);
        assertThrows(IllegalArgumentException.class, () -> Metadata.decode(b, 0, Metadata.MAX_ENCODED_SIZE + 1));
        assertThrows(IllegalArgumentException.class, () -> Metadata.decode(b, 4, 5), "past the buffer");
        assertThrows(IllegalArgumentException.class, () -> Metadata.decode(b, -1, 2));
        assertTrue(Metadata.decode(b, 0, 0).isEmpty());
    }

    @Test
    void toStringShowsKeysAndSizesNotValues() {
        String s = Metadata.of("authorization", "Bearer secret-token").toString();
        assertTrue(s.contains("authorization"), s);
        assertFalse(s.contains("secret-token"), "values may be credentials: " + s);
    }

    private static void assertMalformed(byte[] encoded, String says) {
        ByteBuffer b = ByteBuffer.wrap(encoded).order(ByteOrder.LITTLE_ENDIAN);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Metadata.decode(b, 0, encoded.length));
        assertTrue(e.getMessage().contains(says), e.getMessage());
    }
}
