package dev.baton.shm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link ShmDirectory#pidOf}: the pid in a name this class makes, -1 for any other (found by ShmFuzzTest). */
@Timeout(30)
class ShmDirectoryTest {

    @Test
    void namesThisClassMakesGiveTheirPid() {
        assertEquals(4242, ShmDirectory.pidOf("ring-4242-17"));
        assertEquals(4242, ShmDirectory.pidOf("node-n0-4242.sock"));
        assertEquals(4242, ShmDirectory.pidOf("pay-4242-18"));
        assertEquals(-1, ShmDirectory.pidOf("pay--7-1"));
    }

    @Test
    void aSignOrANonAsciiDigitIsNoPid() {
        assertEquals(-1, ShmDirectory.pidOf("node-ring--07.sock"));
        assertEquals(-1, ShmDirectory.pidOf("ring-+7-1"));
        assertEquals(-1, ShmDirectory.pidOf("ring-\u0661\u0662-1"));
        assertEquals(-1, ShmDirectory.pidOf("ring-12345678901-1"));
        assertEquals(-1, ShmDirectory.pidOf("ring--1"));
    }
}
