package dev.baton.spi;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Warnings about a peer: once per key and interval, with the count held back; a flood of keys stays bounded. */
@Timeout(10)
class LogLimiterTest {

    @Test
    void logsAKeyOncePerIntervalAndCountsWhatItHeldBack() {
        LogLimiter limiter = new LogLimiter(50_000_000L);
        assertEquals(0, limiter.admit("10.0.0.1"), "the first time: log");
        for (int i = 0; i < 100; i++) {
            assertEquals(-1, limiter.admit("10.0.0.1"), "within the interval: held back");
        }
        assertEquals(0, limiter.admit("10.0.0.2"), "another key is logged on its own");
        long end = System.nanoTime() + 60_000_000L;
        while (System.nanoTime() - end < 0) {
            LockSupport.parkNanos(5_000_000L);
        }
        assertEquals(100, limiter.admit("10.0.0.1"), "after the interval: log, saying how many were held back");
        assertEquals(-1, limiter.admit("10.0.0.1"));
    }

    @Test
    void aFloodOfKeysNeverHoldsMoreThanTheBound() throws Exception {
        LogLimiter limiter = new LogLimiter(60_000_000_000L);
        for (int i = 0; i < 3 * LogLimiter.MAX_KEYS; i++) {
            limiter.admit(i);
        }
        java.lang.reflect.Field f = LogLimiter.class.getDeclaredField("entries");
        f.setAccessible(true);
        assertTrue(((java.util.Map<?, ?>) f.get(limiter)).size() <= LogLimiter.MAX_KEYS);
    }
}
