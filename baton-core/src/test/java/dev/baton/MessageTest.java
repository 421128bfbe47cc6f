package dev.baton;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link Message} on its own, without a node. */
@Timeout(10)
class MessageTest {

    @Test
    void messageGettersReadLittleEndianWithoutAView() {
        ByteBuffer big = ByteBuffer.allocate(12);       // big-endian, as ByteBuffer.allocate makes it
        big.order(ByteOrder.LITTLE_ENDIAN).putInt(0, 7).putLong(4, Long.MIN_VALUE + 1);
        Message m = Message.wrap(big);
        assertEquals(7, m.getInt(0));
        assertEquals(Long.MIN_VALUE + 1, m.getLong(4));
        assertEquals(7, m.getByte(0));
        ByteBuffer dst = ByteBuffer.allocate(5);
        assertEquals(5, m.copyTo(dst));
        assertEquals(5, dst.position());
        assertThrows(IndexOutOfBoundsException.class, () -> m.getLong(5));
        assertThrows(IndexOutOfBoundsException.class, () -> m.getInt(-1));
        assertSame(Message.empty(), Message.empty());
        assertEquals(0, Message.empty().size());
    }
}
