package dev.baton.tracker.internal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The scheduling rules alone, without sockets. */
@Timeout(10)
class PoolTest {

    private final List<String> grants = new ArrayList<>();
    /** Waiters whose connection is "gone": the granter refuses them. */
    private final Set<Waiter> gone = new HashSet<>();
    private final Pool pool = new Pool((w, e) -> {
        if (gone.contains(w)) {
            return false;
        }
        grants.add(w.priority + "/" + w.arrival + "<-" + e.matchKey);
        return true;
    });

    private Waiter waiter(String key, double priority, long deadlineNs) {
        return new Waiter(null, key, priority, pool.nextArrival(), deadlineNs != 0, deadlineNs);
    }

    private static Entry entry(String key, String matchKey) {
        return new Entry(null, key, "h", 1, matchKey);
    }

    @Test
    void higherPriorityFirstThenArrivalOrder() {
        pool.request(waiter("k", 1, 0));
        pool.request(waiter("k", 2, 0));
        pool.request(waiter("k", 1, 0));
        pool.request(waiter("k", 3, 0));
        pool.request(waiter("k", -0.0, 0));
        pool.request(waiter("k", 0.0, 0));
        for (int i = 0; i < 6; i++) {
            pool.put(entry("k", "m" + i));
        }
        assertEquals(List.of("3.0/3<-m0", "2.0/1<-m1", "1.0/0<-m2", "1.0/2<-m3", "0.0/4<-m4", "0.0/5<-m5"), grants);
        assertEquals(0, pool.waiting());
        assertEquals(0, pool.free());
        assertEquals("{}", pool.queueInfo().toString(), "nothing left to show");
    }

    @Test
    void aServerRefusedByAGoneClientGoesBackToTheEndForTheNext() {
        Waiter ghost = waiter("k", 5, 0);
        gone.add(ghost);
        pool.request(ghost);
        pool.put(entry("k", "first"));
        assertEquals(1, pool.free());
        pool.put(entry("k", "second"));
        pool.request(waiter("k", 1, 0));
        assertEquals(List.of("1.0/1<-first"), grants);
        assertEquals("{\"k\":{\"free\":1,\"pending\":0}}", pool.queueInfo().toString());
    }

    @Test
    void cancelledAndExpiredRequestsLeaveAtOnce() {
        Waiter a = waiter("k", 1, 100);
        Waiter b = waiter("k", 1, 200);
        Waiter c = waiter("k", 1, 0);
        pool.request(a);
        pool.request(b);
        pool.request(c);
        assertTrue(pool.hasDeadlines());
        assertEquals(100, pool.nextDeadlineNs());
        assertTrue(pool.cancel(a));
        assertFalse(pool.cancel(a), "once");
        assertEquals(200, pool.nextDeadlineNs());
        assertEquals(List.of(), pool.expire(199));
        assertEquals(List.of(b), pool.expire(200));
        assertFalse(pool.hasDeadlines());
        assertEquals(1, pool.waiting());
        assertEquals("{\"k\":{\"free\":0,\"pending\":1}}", pool.queueInfo().toString());
        pool.cancel(c);
        assertEquals("{}", pool.queueInfo().toString());
    }

    @Test
    void aKeyStaysListedWhileAConnectionThatPutUnderItLives() {
        pool.addPutter("busy");
        Entry e = entry("busy", "m");
        pool.put(e);
        pool.request(waiter("busy", 1, 0));
        assertEquals("{\"busy\":{\"free\":0,\"pending\":0}}", pool.queueInfo().toString());
        pool.removePutter("busy");
        assertEquals("{}", pool.queueInfo().toString());
    }
}
