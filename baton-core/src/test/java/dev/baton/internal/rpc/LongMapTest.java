package dev.baton.internal.rpc;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class LongMapTest {

    @Test
    void behavesLikeAHashMapUnderRandomOperations() {
        // Keys from a small range collide and form long probe runs, which is what backward-shift deletion
        // must get right; sequential and extreme keys are mixed in.
        Random random = new Random(42);
        LongMap<String> map = new LongMap<>();
        Map<Long, String> model = new HashMap<>();
        for (int i = 0; i < 200_000; i++) {
            long key = switch (random.nextInt(4)) {
                case 0 -> random.nextInt(64);
                case 1 -> (long) random.nextInt(64) << 40;
                case 2 -> Long.MIN_VALUE + random.nextInt(4);
                default -> random.nextLong();
            };
            switch (random.nextInt(3)) {
                case 0 -> {
                    String v = "v" + i;
                    map.put(key, v);
                    model.put(key, v);
                }
                case 1 -> assertEquals(model.remove(key), map.remove(key), "remove " + key);
                default -> assertEquals(model.get(key), map.get(key), "get " + key);
            }
            assertEquals(model.size(), map.size());
        }
        for (Map.Entry<Long, String> e : model.entrySet()) {
            assertEquals(e.getValue(), map.get(e.getKey()));
        }
        assertEquals(model.size(), map.values().size());
    }

    @Test
    void putIfBelowPutsOnlyWhileTheMapHoldsFewerThanTheLimit() {
        LongMap<String> map = new LongMap<>();
        assertTrue(map.putIfBelow(1, "a", 2));
        assertTrue(map.putIfBelow(2, "b", 2));
        assertFalse(map.putIfBelow(3, "c", 2), "full at the limit");
        assertNull(map.get(3));
        assertEquals(2, map.size());
        map.remove(1);
        assertTrue(map.putIfBelow(3, "c", 2), "room again after a removal");
        assertTrue(map.putIfBelow(4, "d", 0), "limit 0: no limit");
        assertEquals(3, map.size());
    }

    @Test
    void removeWithValueRemovesOnlyThatMapping() {
        LongMap<Object> map = new LongMap<>();
        Object a = new Object();
        Object b = new Object();
        map.put(7, a);
        assertFalse(map.remove(7, b));
        assertSame(a, map.get(7));
        assertTrue(map.remove(7, a));
        assertNull(map.get(7));
        assertTrue(map.isEmpty());
    }

    @Test
    void growsAndKeepsEveryMapping() {
        LongMap<Long> map = new LongMap<>();
        for (long k = 1; k <= 10_000; k++) {
            map.put(k, k);
        }
        for (long k = 1; k <= 10_000; k++) {
            assertEquals(k, map.get(k));
        }
        for (long k = 1; k <= 10_000; k += 2) {
            assertEquals(k, map.remove(k));
        }
        for (long k = 2; k <= 10_000; k += 2) {
            assertEquals(k, map.get(k));
        }
        assertEquals(5_000, map.size());
    }
}
