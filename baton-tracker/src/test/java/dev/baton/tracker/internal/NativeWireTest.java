package dev.baton.tracker.internal;

import dev.baton.BatonException;
import dev.baton.Status;
import dev.baton.fuzz.AllocationMeter;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link NativeWire}'s reader on messages that lie about their fields' lengths (found by NativeWireFuzzTest). */
@Timeout(30)
class NativeWireTest {

    @Test
    void aFieldLongerThanTheMessageFailsBeforeItsLengthIsAllocated() {
        ByteBuffer message = ByteBuffer.wrap(new byte[] {(byte) 0xFF, (byte) 0xFF, 'k'});
        BatonException e = assertThrows(BatonException.class, () -> new NativeWire.Reader(message, "REQUEST").string());
        assertEquals(Status.Code.INVALID_ARGUMENT, e.status().code());
        AllocationMeter meter = AllocationMeter.start();        // the second time: classes are loaded
        assertThrows(BatonException.class, () -> new NativeWire.Reader(message, "REQUEST").string());
        assertTrue(meter.heapBytes() < 32 * 1024, "allocated " + meter.heapBytes() + " bytes for a 3-byte message "
                + "that claims a field of 65535");
    }

    @Test
    void aFieldThatFitsIsRead() {
        ByteBuffer message = new NativeWire.Writer().string("rasp").bytes(new byte[] {1, 2}).done();
        NativeWire.Reader r = new NativeWire.Reader(message, "REGISTER");
        assertEquals("rasp", r.string());
        assertEquals(2, r.bytes().length);
        r.end();
    }
}
