package dev.baton.zookeeper;

import dev.baton.BatonException;
import dev.baton.Status;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A key's value as another member wrote it into ZooKeeper, damaged: refused as damaged (INTERNAL) before anything
 * is allocated for the lengths it claims, and before ZooKeeper is asked for a blob (there is no ZooKeeper here).
 */
@Timeout(30)
class ZkValuesTest {

    private final ZkValues values = new ZkValues(null, "/baton/blobs");

    @Test
    void anInlineValueIsRead() throws InterruptedException {
        assertArrayEquals(new byte[] {1, 2}, values.value(null, ByteBuffer.wrap(ZkValues.inline(new byte[] {1, 2})), 0,
                "get"));
    }

    @Test
    void damagedValuesAreRefusedBeforeTheirLengthsAreAllocated() {
        byte[][] damaged = {
                new byte[0],                                                    // no type
                {'B', 0, 0},                                                    // no id length
                ref(-1, 10), ref(Integer.MAX_VALUE, 10), ref(5, 10),            // id lengths that lie
                ref(1, -1), ref(1, Integer.MAX_VALUE), ref(1, ZkKeyValues.MAX_VALUE + 1),   // value lengths that lie
        };
        for (byte[] d : damaged) {
            BatonException e = assertThrows(BatonException.class,
                    () -> values.value(null, ByteBuffer.wrap(d), 0, "get"));
            assertEquals(Status.Code.INTERNAL, e.status().code(), e::getMessage);
        }
    }

    @Test
    void aDamagedReferenceNamesNoBlobToDelete() {
        values.deleteBlobOf(null, ref(-1, 10));         // would need ZooKeeper if it named a blob
        values.deleteBlobOf(null, ref(Integer.MAX_VALUE, 10));
        values.deleteBlobOf(null, new byte[] {'B', 1});
    }

    /** A blob reference whose id length and value length are as given (its id is "x"). */
    private static byte[] ref(int idLength, int length) {
        return ByteBuffer.allocate(1 + 4 + 1 + 4).put((byte) 'B').putInt(idLength).put((byte) 'x').putInt(length)
                .array();
    }
}
