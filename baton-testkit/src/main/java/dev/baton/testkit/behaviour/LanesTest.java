package dev.baton.testkit.behaviour;

import dev.baton.Caller;
import dev.baton.Client;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.TransportStats;
import dev.baton.testkit.Wait;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import static dev.baton.testkit.behaviour.Cluster.ECHO;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Lanes ({@code NodeOptions.lanes}): several connections per peer over the transport under test. Each calling thread
 * keeps one lane, so its calls arrive in order on one connection; threads calling at once spread over distinct
 * connections (the server sees one {@link Caller} per connection); a lane whose connection fails is replaced while
 * the thread's calls go on; closing the nodes leaves no thread and no connection.
 */
@Timeout(60)
public abstract class LanesTest extends BehaviourTest {

    private static final int LANES = 4;
    private static final int CALLS = 500;

    /** Who sent each request (its thread, in the first 8 bytes) and on which connection it arrived, in order. */
    private record Arrival(long thread, long seq, Caller connection) {
    }

    @Test
    public void eachThreadKeepsOneLaneAndItsCallsArriveInOrder() throws Exception {
        List<Arrival> arrivals = new CopyOnWriteArrayList<>();
        try (Cluster c = Cluster.withNodes(transportFactory(), LANES, 2)) {
            c.node(0).newServer("order").inline(ECHO, call -> {
                ByteBuffer b = call.request().buffer();
                arrivals.add(new Arrival(b.getLong(0), b.getLong(8), call.caller()));
                call.reply(new byte[0]);
            }).start();
            Client client = c.node(1).client("order");
            client.awaitServers(1, Duration.ofSeconds(5));
            runThreads(LANES, t -> {
                List<java.util.concurrent.CompletableFuture<?>> answers = new ArrayList<>();
                for (int i = 0; i < CALLS; i++) {
                    ByteBuffer req = ByteBuffer.allocate(16).putLong(0, t).putLong(8, i);
                    answers.add(client.callAsync(ECHO, req));      // pipelined: order is the lane's to keep
                }
                for (var a : answers) {
                    a.join();
                }
            });
            assertEquals(LANES * CALLS, arrivals.size());
            Map<Long, Caller> laneOfThread = new ConcurrentHashMap<>();
            Map<Long, Long> lastSeq = new ConcurrentHashMap<>();
            for (Arrival a : arrivals) {
                assertSame(laneOfThread.computeIfAbsent(a.thread(), k -> a.connection()), a.connection(),
                        "thread " + a.thread() + " changed lanes");
                long last = lastSeq.getOrDefault(a.thread(), -1L);
                assertEquals(last + 1, a.seq(), "thread " + a.thread() + "'s calls arrived out of order");
                lastSeq.put(a.thread(), a.seq());
            }
            // Four threads, four lanes: four distinct connections on the server's side.
            assertEquals(LANES, new HashSet<>(laneOfThread.values()).size(), "threads sharing a lane");
            Wait.until(() -> c.node(0).stats().openConnections() == LANES, Duration.ofSeconds(5),
                    () -> "server's open connections: " + c.node(0).stats().openConnections());
        }
    }

    @Test
    public void aLaneWhoseConnectionFailsIsReplacedWhileItsThreadGoesOnCalling() throws Exception {
        RecordingFactory recording = new RecordingFactory(transportFactory());
        Map<Long, Caller> callers = new ConcurrentHashMap<>();
        AtomicLong tokens = new AtomicLong();
        ExecutorService a = Executors.newSingleThreadExecutor(r -> new Thread(r, "lanes-test-a"));
        ExecutorService b = Executors.newSingleThreadExecutor(r -> new Thread(r, "lanes-test-b"));
        try (Cluster c = Cluster.withNodes(transportFactory(), 2, 1)) {
            c.node(0).newServer("who").inline(ECHO, call -> {
                callers.put(call.request().buffer().getLong(0), call.caller());
                call.reply(new byte[0]);
            }).start();
            Node client = c.join(c.options("client").lanes(2).transport(recording).build());
            Client who = client.client("who");
            who.awaitServers(1, Duration.ofSeconds(5));
            Callable<Caller> ask = () -> {
                long token = tokens.incrementAndGet();
                who.call(ECHO, ByteBuffer.allocate(8).putLong(0, token));
                return callers.get(token);
            };
            Caller laneA = a.submit(ask).get();
            Caller laneB = b.submit(ask).get();
            assertNotSame(laneA, laneB, "the two threads share a lane");
            assertEquals(2, recording.peerConnections.size());

            recording.connectedBy.get(a.submit(Thread::currentThread).get()).close();
            // Its lane's connection is gone: the thread's calls go on (on the other lane while its own backs off)
            // until its lane has connected again.
            a.submit(() -> {
                long until = System.nanoTime() + 10_000_000_000L;
                while (recording.peerConnections.size() < 3 && System.nanoTime() < until) {
                    ask.call();
                }
                return null;
            }).get();
            assertEquals(3, recording.peerConnections.size(), "the failed lane did not connect again");
            Caller laneAAgain = a.submit(ask).get();
            assertNotSame(laneA, laneAAgain, "still on the failed connection");
            assertNotSame(laneB, laneAAgain, "the thread left its lane for good");
            assertSame(laneB, b.submit(ask).get(), "the other lane lost its connection");
            Wait.until(() -> c.node(0).stats().openConnections() == 2, Duration.ofSeconds(10),
                    () -> "server's open connections: " + c.node(0).stats().openConnections());
        } finally {
            a.shutdownNow();
            b.shutdownNow();
        }
    }

    @Test
    public void lanesOutsideOneToSixtyFourAreRefusedByName() {
        for (int bad : new int[] {0, 65}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> dev.baton.NodeOptions.builder().master("127.0.0.1:1").lanes(bad).build());
            assertTrue(e.getMessage().contains("lanes"), e.getMessage());
        }
        assertEquals(1, dev.baton.NodeOptions.builder().master("127.0.0.1:1").build().lanes());
    }

    @Test
    public void closingNodesWithLanesLeavesNoThreadAndNoConnection() throws Exception {
        // A first cluster, closed at once, so that what a transport keeps for the JVM's life (a shared cleaner, made
        // with its first connection) exists before the threads are counted, whichever test ran first.
        try (Cluster warm = Cluster.withNodes(transportFactory(), LANES, 2)) {
            Cluster.startEcho(warm.node(0), "echo");
            Client echo = warm.node(1).client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            echo.call(ECHO, new byte[8]);
        }
        Set<Thread> threadsBefore = Thread.getAllStackTraces().keySet();
        RecordingFactory recording = new RecordingFactory(transportFactory());
        try (Cluster c = Cluster.withNodes(transportFactory(), LANES, 1)) {
            Cluster.startEcho(c.node(0), "echo");
            Node client = c.join(c.options("lanes-client").lanes(LANES).ioThreads(LANES).transport(recording).build());
            Client echo = client.client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            runThreads(LANES, t -> {
                for (int i = 0; i < 20; i++) {
                    echo.call(ECHO, new byte[8]);
                }
            });
            assertEquals(LANES, recording.peerConnections.size());
            assertEquals(LANES, client.stats().openConnections());
        }
        for (TransportConnection conn : recording.peerConnections) {
            assertTrue(!conn.isOpen(), "a lane left open: " + conn);
        }
        Wait.until(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> !threadsBefore.contains(t) && t.isAlive() && t.getName().startsWith("baton-")
                        && !t.getName().startsWith("baton-handler")), Duration.ofSeconds(10),
                () -> "threads left: " + Thread.getAllStackTraces().keySet().stream()
                        .filter(t -> !threadsBefore.contains(t) && t.getName().startsWith("baton-")).toList());
    }

    private interface ThreadBody {
        void run(int thread) throws Exception;
    }

    private static void runThreads(int n, ThreadBody body) throws Exception {
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        for (int t = 0; t < n; t++) {
            int id = t;
            threads.add(Thread.ofPlatform().name("lanes-test-" + t).start(() -> {
                try {
                    start.await();
                    body.run(id);
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        start.countDown();
        for (Thread t : threads) {
            t.join(30_000);
            assertTrue(!t.isAlive(), t + " did not finish");
        }
        if (!failures.isEmpty()) {
            throw new AssertionError("a calling thread failed", failures.getFirst());
        }
    }

    /** The transport under test, recording the connections made to peers (not the master) and who made each. */
    private static final class RecordingFactory implements TransportFactory {
        final TransportFactory inner;
        final List<TransportConnection> peerConnections = new CopyOnWriteArrayList<>();
        final Map<Thread, TransportConnection> connectedBy = new ConcurrentHashMap<>();

        RecordingFactory(TransportFactory inner) {
            this.inner = inner;
        }

        @Override
        public Transport create(TransportContext context) {
            Transport t = inner.create(context);
            return new Transport() {
                @Override
                public InetSocketAddress listen(InetSocketAddress bind) throws IOException {
                    return t.listen(bind);
                }

                @Override
                public TransportConnection connect(InetSocketAddress remote, Function<TransportConnection, Object> a) {
                    return t.connect(remote, a);
                }

                @Override
                public TransportConnection connect(NodeInfo node, Function<TransportConnection, Object> a) {
                    TransportConnection c = t.connect(node, a);
                    peerConnections.add(c);
                    connectedBy.putIfAbsent(Thread.currentThread(), c);
                    return c;
                }

                @Override
                public String pathOf(TransportConnection connection) {
                    return t.pathOf(connection);
                }

                @Override
                public boolean inTransportThread() {
                    return t.inTransportThread();
                }

                @Override
                public TransportStats stats() {
                    return t.stats();
                }

                @Override
                public void close() {
                    t.close();
                }
            };
        }
    }
}
