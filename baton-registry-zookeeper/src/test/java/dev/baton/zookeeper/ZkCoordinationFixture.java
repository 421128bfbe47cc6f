package dev.baton.zookeeper;

import dev.baton.BatonException;
import dev.baton.Coordination;
import dev.baton.Status;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the tests of {@link ZkCoordination} share: a real ZooKeeper server per test class, a fresh coordination
 * base per test, and "nodes" without the membership side: each a Curator client of its own (its own session)
 * with a coordination on it, closed after the test, which then checks that no coordination thread is left.
 */
@Timeout(60)
abstract class ZkCoordinationFixture {

    static final Duration TIMEOUT = Duration.ofSeconds(5);
    static final Duration LONG = Duration.ofSeconds(20);
    private static final AtomicInteger ROOTS = new AtomicInteger();
    static TestingServer server;

    private final List<AutoCloseable> opened = new ArrayList<>();
    private final ExecutorService events = Executors.newSingleThreadExecutor(r -> new Thread(r, "test-events"));
    String base;

    @BeforeAll
    static void startServer() throws Exception {
        // A 500 ms tick: sessions of 1 to 10 s.
        server = new TestingServer(new InstanceSpec(null, -1, -1, -1, true, -1, 500, -1), true);
    }

    @AfterAll
    static void stopServer() throws Exception {
        server.close();
    }

    @BeforeEach
    void newRoot() throws Exception {
        base = "/baton/zkc-" + ROOTS.incrementAndGet() + "/coordination";
        try (CuratorFramework c = client()) {
            c.create().creatingParentsIfNeeded().forPath(base);
        }
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = opened.size() - 1; i >= 0; i--) {
            opened.get(i).close();
        }
        events.shutdownNow();
        assertTrue(events.awaitTermination(5, TimeUnit.SECONDS));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (batonThreads() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, batonThreads(), "a coordination thread outlived its close");
    }

    private static long batonThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("baton-zk-")).count();
    }

    static CuratorFramework client() throws InterruptedException {
        return client(Duration.ofSeconds(2));
    }

    static CuratorFramework client(Duration session) throws InterruptedException {
        CuratorFramework c = CuratorFrameworkFactory.builder().connectString(server.getConnectString())
                .sessionTimeoutMs((int) session.toMillis()).connectionTimeoutMs(5_000)
                .retryPolicy(new RetryNTimes(0, 0)).build();
        c.start();
        assertTrue(c.blockUntilConnected(10, TimeUnit.SECONDS));
        return c;
    }

    /** A node: a client (own session) and its coordination, both closed after the test. */
    final class TestNode implements AutoCloseable {
        final CuratorFramework client;
        final ZkCoordination co;

        TestNode() throws InterruptedException {
            this(Duration.ofSeconds(2));
        }

        TestNode(Duration session) throws InterruptedException {
            client = client(session);
            co = new ZkCoordination(client, base, events, TIMEOUT);
            opened.add(this);
        }

        @Override
        public void close() {
            co.close();
            client.close();
        }
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static Status.Code outcome(ThrowingRunnable r) throws Exception {
        try {
            r.run();
            return Status.Code.OK;
        } catch (BatonException e) {
            return e.code();
        }
    }

    @FunctionalInterface
    interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** Waits until barrier {@code name} has a waiting round of {@code parties} (probing with other parties). */
    static void awaitRound(Coordination co, String name, int parties) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (outcome(() -> co.barrier(name, parties + 1, Duration.ZERO)) != Status.Code.INVALID_ARGUMENT) {
            assertTrue(System.nanoTime() < end, "no round of " + parties + " in '" + name + "'");
            Thread.sleep(5);
        }
    }

    /** A change as text: key=value (its size if large), or key=<deleted>. */
    static String change(String key, Optional<byte[]> value) {
        return key + "=" + value.map(b -> b.length > 1000 ? b.length + " bytes" : new String(b, StandardCharsets.UTF_8))
                .orElse("<deleted>");
    }

    /** The next {@code n} items (waiting up to 20 s for each). */
    static List<String> take(BlockingQueue<String> queue, int n) throws InterruptedException {
        List<String> got = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String e = queue.poll(20, TimeUnit.SECONDS);
            if (e == null) {
                throw new AssertionError("only " + got);
            }
            got.add(e);
        }
        return got;
    }
}
