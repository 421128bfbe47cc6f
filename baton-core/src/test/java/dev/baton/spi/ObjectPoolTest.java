package dev.baton.spi;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class ObjectPoolTest {

    @Test
    void neverHoldsMoreThanItsCapacity() {
        for (int capacity : new int[] {1, 2, 3, 7, 64, 4096}) {
            ObjectPool<Object> pool = new ObjectPool<>(capacity);
            int accepted = 0;
            for (int i = 0; i < capacity * 2 + 8; i++) {
                if (pool.offer(new Object())) {
                    accepted++;
                }
            }
            assertTrue(accepted >= 1 && accepted <= capacity, capacity + ": accepted " + accepted);
            assertEquals(accepted, pool.size());
        }
        assertThrows(IllegalArgumentException.class, () -> new ObjectPool<>(0));
    }

    @Test
    void givesBackWhatItWasGivenThenNothing() {
        ObjectPool<String> pool = new ObjectPool<>(16);
        assertNull(pool.poll());
        assertTrue(pool.offer("a"));
        assertEquals("a", pool.poll());
        assertNull(pool.poll());
    }

    /**
     * With thread slots a platform thread keeps the first object it gives back for itself (the stripes never see it),
     * another thread does not get it, and a virtual thread goes to the stripes as in a pool without slots.
     */
    @Test
    void aThreadSlotKeepsOneObjectForItsThread() throws Exception {
        ObjectPool<String> pool = new ObjectPool<>(16, true);
        assertTrue(pool.offer("mine"));
        assertEquals(0, pool.size(), "the first object went to this thread's slot");
        assertTrue(pool.offer("shared"));
        assertEquals(1, pool.size(), "the slot holds one; the next goes to a stripe");
        ExecutorService other = Executors.newSingleThreadExecutor();
        try {
            assertEquals("shared", other.submit(pool::poll).get(10, TimeUnit.SECONDS));
            assertNull(other.submit(pool::poll).get(10, TimeUnit.SECONDS), "another thread never takes a slot's object");
        } finally {
            other.shutdownNow();
        }
        assertEquals("mine", pool.poll());
        assertNull(pool.poll());

        AtomicReference<Integer> sizeSeenByVirtual = new AtomicReference<>();
        Thread virtual = Thread.ofVirtual().start(() -> {
            pool.offer("virtual");
            sizeSeenByVirtual.set(pool.size());
        });
        virtual.join(10_000);
        assertFalse(virtual.isAlive());
        assertEquals(1, sizeSeenByVirtual.get(), "a virtual thread has no slot");
        assertEquals("virtual", pool.poll());
    }

    /** Four threads take and give back: an object is never handed to two holders at once. */
    @Test
    void anObjectHasOneHolderAtATime() throws Exception {
        final class Token {
            final AtomicInteger holders = new AtomicInteger();
        }
        ObjectPool<Token> pool = new ObjectPool<>(64);
        for (int i = 0; i < 32; i++) {
            pool.offer(new Token());        // one thread fills its own stripe and the next: 16 of them
        }
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> runs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                runs.add(threads.submit(() -> {
                    int clashes = 0;
                    for (int i = 0; i < 200_000; i++) {
                        Token token = pool.poll();
                        if (token == null) {
                            token = new Token();
                        }
                        if (token.holders.incrementAndGet() != 1) {
                            clashes++;
                        }
                        token.holders.decrementAndGet();
                        pool.offer(token);
                    }
                    return clashes;
                }));
            }
            for (Future<Integer> run : runs) {
                assertEquals(0, run.get(20, TimeUnit.SECONDS));
            }
        } finally {
            threads.shutdownNow();
        }
        Token any = pool.poll();
        assertNotNull(any);
        assertFalse(any.holders.get() != 0);
    }
}
