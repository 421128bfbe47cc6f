package dev.baton.testkit.registry;

import dev.baton.Coordination;
import dev.baton.Node;
import dev.baton.Status;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ids, key/values and watches; see {@link RegistryConformanceTest} for what is pinned. */
@SuppressWarnings("try")     // try-with-resources holds cut-offs and watches open; bodies need not name them
abstract class KeyValueConformance extends ConformanceBase {

    private static final String DELETED = "<deleted>";

    KeyValueConformance(Supplier<RegistryUnderTest> starter) {
        super(starter);
    }

    @Test
    void idsCountFromZeroPerKeyAcrossNodesAndFailWithClosedOnAClosedNode() {
        Node nodeB = members.node("b");
        Coordination a = members.node("a").coordination();
        Coordination b = nodeB.coordination();
        assertSame(b, nodeB.coordination());
        assertEquals(0, a.nextId("key1"));
        assertEquals(1, b.nextId("key1"));
        assertEquals(2, a.nextId("key1"));
        assertEquals(0, b.nextId("key2"));
        assertEquals(1, a.nextId("key2"));

        nodeB.close();
        assertFails(Status.Code.CLOSED, () -> b.nextId("key1"));
        assertFails(Status.Code.CLOSED, () -> b.put("k", bytes("v")));
        assertEquals(3, a.nextId("key1"));
    }

    @Test
    void idsAreUniqueAndDenseUnderConcurrentCallersOnManyNodes() throws Exception {
        int nodes = 3;
        int threads = 3;
        int each = 40;
        Set<Long> ids = ConcurrentHashMap.newKeySet();
        List<Future<?>> done = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(nodes * threads)) {
            for (int n = 0; n < nodes; n++) {
                Coordination co = members.node("n" + n).coordination();
                for (int t = 0; t < threads; t++) {
                    done.add(pool.submit(() -> {
                        for (int i = 0; i < each; i++) {
                            assertTrue(ids.add(co.nextId("dense")));
                        }
                        return null;
                    }));
                }
            }
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
        }
        int total = nodes * threads * each;
        assertEquals(total, ids.size());
        assertEquals(total - 1, ids.stream().mapToLong(Long::longValue).max().orElseThrow());
    }

    @Test
    void keyValuesArePutReadAndDeletedAndAWatchSeesEveryChangeUnderItsPrefixInOrder() throws Exception {
        Coordination writer = members.node("writer").coordination();
        Coordination reader = members.node("reader").coordination();
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        Set<String> threads = ConcurrentHashMap.newKeySet();
        AutoCloseable watch = reader.watch("cfg/", (k, v) -> {
            threads.add(Thread.currentThread().getName());
            seen.add(change(k, v));
        });

        assertTrue(reader.get("cfg/a").isEmpty());
        writer.put("cfg/a", bytes("1"));
        writer.put("other", bytes("x"));
        writer.put("cfg/b", bytes("2"));
        writer.put("cfg/a", bytes("3"));
        assertTrue(writer.delete("cfg/a"));
        assertFalse(writer.delete("cfg/a"), "nothing left to delete");
        writer.put("cfg/end", bytes("4"));
        assertArrayEquals(bytes("2"), reader.get("cfg/b").orElseThrow());
        assertArrayEquals(bytes("x"), reader.get("other").orElseThrow());
        assertTrue(reader.get("cfg/a").isEmpty());

        assertEquals(List.of("cfg/a=1", "cfg/b=2", "cfg/a=3", "cfg/a=" + DELETED, "cfg/end=4"), take(seen, 5),
                "every change under the prefix, once, in order; deleting a missing key is no change");
        assertTrue(threads.stream().allMatch(t -> t.startsWith("baton-events-")), "watchers ran on " + threads);

        watch.close();
        watch.close();
        BlockingQueue<String> second = new LinkedBlockingQueue<>();
        try (AutoCloseable again = reader.watch("cfg/", (k, v) -> second.add(k))) {
            writer.put("cfg/c", bytes("5"));
            assertEquals("cfg/c", second.poll(CONVERGE.toMillis(), TimeUnit.MILLISECONDS));
        }
        assertTrue(seen.isEmpty(), "a closed watch was called: " + seen);
    }

    @Test
    void aWatchReportsOnlyLaterChangesAndEachWatchOnceAndAWatcherThatThrowsKeepsWatching() throws Exception {
        Coordination writer = members.node("writer").coordination();
        Coordination reader = members.node("reader").coordination();
        writer.put("w/early", bytes("0"));
        BlockingQueue<String> narrow = new LinkedBlockingQueue<>();
        BlockingQueue<String> wide = new LinkedBlockingQueue<>();
        BlockingQueue<String> elsewhere = new LinkedBlockingQueue<>();
        try (AutoCloseable w1 = reader.watch("w/", (k, v) -> {
                 narrow.add(change(k, v));
                 throw new IllegalStateException("a failing watcher");
             });
             AutoCloseable w2 = reader.watch("", (k, v) -> wide.add(change(k, v)));
             AutoCloseable w3 = writer.watch("w/", (k, v) -> elsewhere.add(change(k, v)))) {
            writer.put("w/1", bytes("a"));
            reader.put("w/2", bytes("b"));
            writer.put("x", bytes("c"));
            List<String> expected = List.of("w/1=a", "w/2=b");
            assertEquals(expected, take(narrow, 2), "the throwing watcher is still called");
            assertEquals(List.of("w/1=a", "w/2=b", "x=c"), take(wide, 3), "the empty prefix matches every key");
            assertEquals(expected, take(elsewhere, 2), "the writer's own node is told too");
        }
        assertTrue(narrow.isEmpty() && wide.isEmpty() && elsewhere.isEmpty(),
                "changes before the watch, or reported twice: " + narrow + wide + elsewhere);
    }

    @Test
    void valuesAreCopiedInAndOut() {
        Coordination a = members.node("a").coordination();
        Coordination b = members.node("b").coordination();
        byte[] value = bytes("abc");
        a.put("copy", value);
        value[0] = 'X';
        byte[] first = b.get("copy").orElseThrow();
        assertArrayEquals(bytes("abc"), first, "put keeps a copy");
        first[0] = 'Y';
        byte[] second = b.get("copy").orElseThrow();
        assertArrayEquals(bytes("abc"), second, "get returns a fresh copy");
        assertNotSame(first, second);
        a.put("empty", new byte[0]);
        assertArrayEquals(new byte[0], b.get("empty").orElseThrow(), "an empty value is a value");
    }

    @Test
    void valuesOverOneMebibyteAreResourceExhaustedAndLongKeysInvalid() throws Exception {
        Coordination co = members.node("a").coordination();
        byte[] max = new byte[1 << 20];
        max[max.length - 1] = 42;
        co.put("big", max);
        assertArrayEquals(max, co.get("big").orElseThrow());
        assertFails(Status.Code.RESOURCE_EXHAUSTED, () -> co.put("bigger", new byte[(1 << 20) + 1]));
        assertTrue(co.get("bigger").isEmpty());

        String longest = "k".repeat(4_096);
        String tooLong = longest + "k";
        co.put(longest, bytes("v"));
        assertArrayEquals(bytes("v"), co.get(longest).orElseThrow());
        assertFails(Status.Code.INVALID_ARGUMENT, () -> co.put(tooLong, bytes("v")));
        assertFails(Status.Code.INVALID_ARGUMENT, () -> co.get(tooLong));
        assertFails(Status.Code.INVALID_ARGUMENT, () -> co.delete(tooLong));
        assertFails(Status.Code.INVALID_ARGUMENT, () -> co.nextId(tooLong));
        assertFails(Status.Code.INVALID_ARGUMENT, () -> co.watch(tooLong, (k, v) -> { }));
    }

    @Test
    void watchersRunOnTheExecutorGivenToTheRegistryAndAClosedRegistrysCoordinationIsClosed() throws Exception {
        Member member = members.join("member");
        Coordination writer = members.node("writer").coordination();
        AtomicReference<Thread> executorThread = new AtomicReference<>();
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        try (ExecutorService events = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "conformance-watch-events");
            executorThread.set(t);
            return t;
        })) {
            Coordination co = member.registry().coordination(events);
            try (AutoCloseable w = co.watch("e/", (k, v) -> seen.add(change(k, v) + " on "
                    + (Thread.currentThread() == executorThread.get() ? "the executor" : Thread.currentThread())))) {
                writer.put("e/1", bytes("a"));
                assertTrue(writer.delete("e/1"));
                assertEquals(List.of("e/1=a on the executor", "e/1=" + DELETED + " on the executor"), take(seen, 2));
            }
            member.close();
            assertFails(Status.Code.CLOSED, () -> co.nextId("after"));
            assertFails(Status.Code.CLOSED, () -> co.get("e/1"));
        }
    }

    // ------------------------------------------------------------------ helpers

    private static String change(String key, Optional<byte[]> value) {
        return key + "=" + value.map(b -> new String(b, StandardCharsets.UTF_8)).orElse(DELETED);
    }

    /** The next {@code n} changes (waiting up to {@link #CONVERGE} for each). */
    private static List<String> take(BlockingQueue<String> queue, int n) throws InterruptedException {
        List<String> got = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String e = queue.poll(CONVERGE.toMillis(), TimeUnit.MILLISECONDS);
            if (e == null) {
                throw new AssertionError("only " + got + " within " + CONVERGE.toMillis() + " ms");
            }
            got.add(e);
        }
        return got;
    }
}
