package dev.baton.internal.rpc;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class IntTableTest {

    @Test
    void behavesLikeAMapUnderRandomChanges() {
        IntTable<String> table = new IntTable<>();
        Map<Integer, String> model = new HashMap<>();
        Random r = new Random(3);
        for (int i = 0; i < 20_000; i++) {
            int key = r.nextInt(400) - 100;
            switch (r.nextInt(3)) {
                case 0 -> {
                    String v = "v" + i;
                    table.put(key, v);
                    model.put(key, v);
                }
                case 1 -> assertEquals(model.remove(key), table.remove(key));
                default -> assertEquals(model.get(key), table.get(key));
            }
        }
        for (int key = -100; key < 300; key++) {
            assertEquals(model.get(key), table.get(key));
        }
        assertEquals(model.size(), table.values().size());
    }

    @Test
    void computeIfAbsentMakesAValueOnceAndRemoveByValueChecksIdentity() {
        IntTable<Object> table = new IntTable<>();
        Object a = table.computeIfAbsent(1_000_000, k -> new Object());
        assertSame(a, table.computeIfAbsent(1_000_000, k -> new Object()));
        assertFalse(table.remove(1_000_000, new Object()));
        assertTrue(table.remove(1_000_000, a));
        assertNull(table.get(1_000_000));
        table.put(5, a);
        table.put(2, "x");
        assertEquals(List.of("x", a), table.values());
        table.clear();
        assertTrue(table.values().isEmpty());
    }
}
