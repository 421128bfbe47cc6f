package dev.baton.zookeeper;

import dev.baton.Status;
import org.apache.curator.framework.CuratorFramework;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Key/values, the change log and watches of {@link ZkCoordination}, against a real ZooKeeper server. */
class ZkKeyValuesTest extends ZkCoordinationFixture {

    @Test
    void valuesUpToOneMebibyteAreStoredAndCopied() throws Exception {
        TestNode a = new TestNode();
        TestNode b = new TestNode();
        byte[] max = new byte[1 << 20];
        ThreadLocalRandom.current().nextBytes(max);
        a.co.put("big", max);
        assertArrayEquals(max, b.co.get("big").orElseThrow());
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, outcome(() -> a.co.put("bigger", new byte[(1 << 20) + 1])));
        assertTrue(b.co.get("bigger").isEmpty());

        byte[] mid = new byte[ZkKeyValues.INLINE_MAX + 1];
        mid[0] = 7;
        a.co.put("big", mid);                               // a blob replaced by another
        assertArrayEquals(mid, b.co.get("big").orElseThrow());
        a.co.put("big", bytes("small"));                    // and by an inline value
        assertArrayEquals(bytes("small"), b.co.get("big").orElseThrow());
        assertTrue(a.co.delete("big"));
        assertFalse(a.co.delete("big"));
        assertTrue(b.co.get("big").isEmpty());

        byte[] value = bytes("abc");
        a.co.put("copy", value);
        value[0] = 'X';
        byte[] got = b.co.get("copy").orElseThrow();
        assertArrayEquals(bytes("abc"), got);
        got[0] = 'Y';
        assertArrayEquals(bytes("abc"), b.co.get("copy").orElseThrow());
        a.co.put("empty", new byte[0]);
        assertArrayEquals(new byte[0], b.co.get("empty").orElseThrow());

        // The largest inline value under the longest key (8 KiB of UTF-8, 24 KiB encoded): one transaction.
        String wideKey = "é".repeat(4_096);
        byte[] inlineMax = new byte[ZkKeyValues.INLINE_MAX];
        inlineMax[5] = 9;
        a.co.put(wideKey, inlineMax);
        assertArrayEquals(inlineMax, b.co.get(wideKey).orElseThrow());
        assertTrue(b.co.delete(wideKey));

        // Blobs of replaced values are gone: only the log's records keep theirs.
        try (CuratorFramework c = client()) {
            assertEquals(2, c.getChildren().forPath(base + "/blobs").size(), "the log's 1 MiB and mid values");
        }
    }

    @Test
    void aWatchSeesEveryChangeUnderItsPrefixOnceInOrderWithItsOwnValue() throws Exception {
        TestNode writer = new TestNode();
        TestNode reader = new TestNode();
        writer.co.put("cfg/early", bytes("0"));
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        BlockingQueue<String> all = new LinkedBlockingQueue<>();
        Set<String> threads = ConcurrentHashMap.newKeySet();
        AutoCloseable w = reader.co.watch("cfg/", (k, v) -> {
            threads.add(Thread.currentThread().getName());
            seen.add(change(k, v));
            throw new IllegalStateException("a failing watcher keeps watching");
        });
        AutoCloseable everything = writer.co.watch("", (k, v) -> all.add(change(k, v)));
        byte[] big = new byte[ZkKeyValues.INLINE_MAX + 10];
        big[big.length - 1] = 'z';
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 30; i++) {       // rewritten faster than a reader reads: each value still arrives
            writer.co.put("cfg/a", bytes(Integer.toString(i)));
            expected.add("cfg/a=" + i);
        }
        writer.co.put("other", bytes("x"));
        writer.co.put("cfg/big", big);
        expected.add("cfg/big=" + big.length + " bytes");
        writer.co.put("cfg/big", bytes("small"));
        expected.add("cfg/big=small");
        assertTrue(writer.co.delete("cfg/a"));
        expected.add("cfg/a=<deleted>");
        assertFalse(writer.co.delete("cfg/a"));
        reader.co.put("cfg/end", bytes("end"));
        expected.add("cfg/end=end");
        assertEquals(expected, take(seen, expected.size()));
        assertEquals(Set.of("test-events"), threads);
        List<String> wide = take(all, expected.size() + 1);
        assertEquals("other=x", wide.get(30));
        w.close();
        w.close();
        writer.co.put("cfg/after", bytes("1"));
        assertEquals("cfg/after=1", all.poll(10, TimeUnit.SECONDS));
        assertNull(seen.poll(200, TimeUnit.MILLISECONDS), "a closed watch was called");
        everything.close();
    }

    @Test
    void watchersOnEveryNodeSeeConcurrentChangesOnceAndInTheSameOrder() throws Exception {
        List<TestNode> writers = List.of(new TestNode(), new TestNode());
        List<TestNode> readers = List.of(new TestNode(), new TestNode());
        List<BlockingQueue<String>> seen = List.of(new LinkedBlockingQueue<>(), new LinkedBlockingQueue<>());
        List<AutoCloseable> watches = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            BlockingQueue<String> q = seen.get(i);
            watches.add(readers.get(i).co.watch("c", (k, v) -> q.add(change(k, v))));
        }
        int each = 40;
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                TestNode writer = writers.get(w);
                String tag = w == 0 ? "a" : "b";
                done.add(pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        writer.co.put("c", bytes(tag + i));
                        if (i % 10 == 9) {
                            writer.co.delete("c");      // one of the two concurrent deletes may find nothing
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
        }
        List<String> first = new ArrayList<>();
        for (String e = seen.get(0).poll(10, TimeUnit.SECONDS); e != null; e = seen.get(0).poll(1, TimeUnit.SECONDS)) {
            first.add(e);
        }
        assertEquals(first, take(seen.get(1), first.size()), "both nodes saw the same changes in the same order");
        for (String tag : List.of("a", "b")) {
            List<String> mine = first.stream().filter(e -> e.startsWith("c=" + tag)).toList();
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < each; i++) {
                expected.add("c=" + tag + i);
            }
            assertEquals(expected, mine, "each put of writer " + tag + " once, in its order");
        }
        String last = first.getLast();
        assertEquals(last, change("c", writers.get(0).co.get("c")), "the last change is the value");
        for (AutoCloseable w : watches) {
            w.close();
        }
    }

    @Test
    void theLogIsCompactedAndWatchesKeepWorking() throws Exception {
        TestNode writer = new TestNode();
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        AutoCloseable w = writer.co.watch("k", (k, v) -> seen.add(change(k, v)));
        try {
            int n = ZkKeyValues.RETAIN + 2 * ZkKeyValues.COMPACT_EVERY;
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                writer.co.put("k" + (i % 10), bytes(Integer.toString(i)));
                expected.add("k" + (i % 10) + "=" + i);
            }
            assertEquals(expected, take(seen, n));
            try (CuratorFramework c = client()) {
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (c.getChildren().forPath(base + "/log").size() > ZkKeyValues.RETAIN + ZkKeyValues.COMPACT_EVERY) {
                    assertTrue(System.nanoTime() < end, "the log was not compacted");
                    Thread.sleep(20);
                }
            }
        } finally {
            w.close();
        }
    }
}
