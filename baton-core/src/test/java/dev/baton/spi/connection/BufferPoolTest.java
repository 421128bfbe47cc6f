package dev.baton.spi.connection;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class BufferPoolTest {

    @Test
    void buffersComeBackInTheirSizeClass() {
        BufferPool pool = new BufferPool(64L << 20);
        ByteBuffer b = pool.acquire(300);
        assertEquals(512, b.capacity());
        assertEquals(ByteOrder.LITTLE_ENDIAN, b.order());
        assertEquals(1, pool.allocations());
        pool.recycle(b);
        assertTrue(b == pool.acquire(400), "the same buffer again");
        assertEquals(1, pool.allocations());
    }

    /** Large classes share half the budget: eight 1 MiB buffers in use at once all come back. */
    @Test
    void largeClassesShareOneByteBudget() {
        BufferPool pool = new BufferPool(32L << 20);           // 16 MiB for the large classes
        List<ByteBuffer> inUse = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            inUse.add(pool.acquire(1 << 20));
        }
        inUse.forEach(pool::recycle);
        long before = pool.allocations();
        inUse.clear();
        for (int i = 0; i < 8; i++) {
            inUse.add(pool.acquire(1 << 20));
        }
        assertEquals(before, pool.allocations(), "no 1 MiB buffer was allocated again");
        // Beyond the budget buffers are left to the collector: 40 MiB offered, at most 16 MiB kept.
        for (int i = 0; i < 32; i++) {
            inUse.add(pool.acquire(1 << 20));
        }
        inUse.forEach(pool::recycle);
        before = pool.allocations();
        for (int i = 0; i < 40; i++) {
            pool.acquire(1 << 20);
        }
        long reused = 40 - (pool.allocations() - before);
        assertTrue(reused <= 16 && reused >= 8, "reused " + reused + " of the 40 recycled");
    }
}
