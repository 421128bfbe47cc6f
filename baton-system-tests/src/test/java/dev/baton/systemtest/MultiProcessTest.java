package dev.baton.systemtest;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Master, servers and clients as separate JVMs ({@link ChildJvm}), talking over loopback TCP. The test JVM
 * joins as a node itself where a test needs to watch the membership and make calls.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MultiProcessTest {

    private static final Duration STARTUP = Duration.ofSeconds(30);
    private static final Duration MEMBERSHIP_CHANGE = Duration.ofSeconds(10);
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);
    /** What a blocked call may take beyond its deadline (the runtime's timer grace plus scheduling). */
    private static final Duration DEADLINE_SLACK = Duration.ofSeconds(2);

    @AfterEach
    void leavesNoProcessOrThreadBehind() {
        List<ProcessHandle> left = ProcessHandle.current().descendants().toList();
        left.forEach(ProcessHandle::destroyForcibly);
        assertEquals(List.of(), left.stream().map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList(),
                "child processes left behind");
        // Closing returns once threads are told to stop; give them a moment to finish.
        Wait.until(() -> leakedThreads().isEmpty(), Duration.ofSeconds(5),
                () -> "threads left behind: " + leakedThreads());
    }

    /** Live threads that the test node, the child readers or the load generator started. */
    private static List<String> leakedThreads() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(n -> n.startsWith("baton-") || n.startsWith("child-") || n.startsWith("echo-load-"))
                .sorted().toList();
    }

    @Test
    void tenThousandCallsBetweenSeparateProcessesAllEchoIntact() throws Exception {
        try (ChildJvm master = ChildJvm.start("master", MasterMain.class)) {
            String address = awaitAddress(master);
            try (ChildJvm server = startServer("echo-server", address)) {
                awaitRank(server);
                try (ChildJvm client = ChildJvm.start("client", ClientMain.class, address, "10000", "20240607")) {
                    assertEquals("DONE ok=10000 failed=0",
                            client.awaitLine(line -> line.startsWith("DONE "), Duration.ofSeconds(150)));
                    assertEquals(0, client.awaitExit(MEMBERSHIP_CHANGE), "client exit code");
                }
                server.closeStdin();
                String served = server.awaitLine(line -> line.startsWith("SERVED "), MEMBERSHIP_CHANGE);
                long requests = Long.parseLong(served.substring("SERVED ".length()));
                assertTrue(requests >= 10_000, "server handled only " + requests + " requests");
                assertEquals(0, server.awaitExit(MEMBERSHIP_CHANGE), "server exit code");
            }
        }
    }

    @Test
    void aNodeThatClosesLeavesTheMembershipOfEveryOtherNode() throws Exception {
        try (ChildJvm master = ChildJvm.start("master", MasterMain.class)) {
            String address = awaitAddress(master);
            try (ChildJvm leaving = startServer("echo-leaving", address);
                 ChildJvm staying = startServer("echo-staying", address)) {
                int leavingRank = awaitRank(leaving);
                int stayingRank = awaitRank(staying);
                try (Node node = joinTestNode(address)) {
                    Client echo = echoClient(node);
                    echo.awaitServers(2, STARTUP);
                    master.awaitLine(nodesExactly(leavingRank, stayingRank, node.rank()), STARTUP);
                    staying.awaitLine(nodesExactly(leavingRank, stayingRank, node.rank()), STARTUP);
                    assertEchoes(echo, 100);

                    // A graceful close loses nothing: calls in flight to the leaving node are answered, and
                    // no new call is sent to it once it said GOAWAY.
                    try (EchoLoad load = EchoLoad.start(echo, 4)) {
                        Wait.until(() -> load.succeeded.sum() >= 300, STARTUP, load::toString);
                        long stopNs = System.nanoTime();
                        leaving.closeStdin();
                        leaving.awaitLine(line -> line.startsWith("SERVED "), MEMBERSHIP_CHANGE);
                        assertEquals(0, leaving.awaitExit(MEMBERSHIP_CHANGE), "exit code of the closed server");

                        Wait.until(() -> node.membership().node(leavingRank).isEmpty() && echo.servers().size() == 1,
                                MEMBERSHIP_CHANGE, () -> "test node still sees " + node.membership());
                        log("test node lost rank %d %d ms after its stdin closed", leavingRank, msSince(stopNs));
                        long succeededAtDrop = load.succeeded.sum();
                        Wait.until(() -> load.succeeded.sum() >= succeededAtDrop + 300, MEMBERSHIP_CHANGE,
                                load::toString);
                        load.stop(CALL_TIMEOUT.plus(DEADLINE_SLACK));
                        log("load: %s", load);
                        assertEquals(0, load.unavailable.sum(), "calls failed during a graceful close: " + load);
                        assertEquals(List.of(), List.copyOf(load.unexpected), "unexpected outcomes");
                    }
                    master.awaitLine(nodesExactly(stayingRank, node.rank()), MEMBERSHIP_CHANGE);
                    staying.awaitLine(nodesExactly(stayingRank, node.rank()), MEMBERSHIP_CHANGE);
                    assertEquals(stayingRank, echo.servers().getFirst().rank());
                    assertEchoes(echo, 200);
                }
            }
        }
    }

    @Test
    void aKilledNodeIsDroppedAndCallsContinueOnTheOtherServer() throws Exception {
        try (ChildJvm master = ChildJvm.start("master", MasterMain.class)) {
            String address = awaitAddress(master);
            try (ChildJvm victim = startServer("echo-victim", address);
                 ChildJvm survivor = startServer("echo-survivor", address)) {
                int victimRank = awaitRank(victim);
                int survivorRank = awaitRank(survivor);
                try (Node node = joinTestNode(address)) {
                    Client echo = echoClient(node);
                    echo.awaitServers(2, STARTUP);
                    master.awaitLine(nodesExactly(victimRank, survivorRank, node.rank()), STARTUP);

                    try (EchoLoad load = EchoLoad.start(echo, 4)) {
                        Wait.until(() -> load.succeeded.sum() >= 500, STARTUP, load::toString);
                        long killNs = System.nanoTime();
                        victim.kill();
                        master.awaitLine(nodesExactly(survivorRank, node.rank()), MEMBERSHIP_CHANGE);
                        log("master dropped rank %d %d ms after SIGKILL", victimRank, msSince(killNs));
                        Wait.until(() -> node.membership().node(victimRank).isEmpty() && echo.servers().size() == 1,
                                MEMBERSHIP_CHANGE, () -> "test node still sees " + node.membership());
                        long droppedNs = System.nanoTime();
                        log("test node dropped rank %d %d ms after SIGKILL", victimRank, msSince(killNs));

                        long succeededAtDrop = load.succeeded.sum();
                        Wait.until(() -> load.succeeded.sum() >= succeededAtDrop + 500, MEMBERSHIP_CHANGE,
                                load::toString);
                        load.stop(CALL_TIMEOUT.plus(DEADLINE_SLACK));
                        log("load: %s", load);

                        assertEquals(List.of(), List.copyOf(load.unexpected),
                                "outcomes other than success or UNAVAILABLE");
                        assertTrue(load.longestCallNs.get() <= CALL_TIMEOUT.plus(DEADLINE_SLACK).toNanos(),
                                "a call took " + load.longestCallNs.get() / 1_000_000 + " ms, past its deadline");
                        assertEquals(0, load.unavailableStartedAfter(droppedNs),
                                "calls started after the membership dropped the dead node failed: " + load);
                    }
                    assertTrue(survivor.isAlive(), "the surviving server is running");
                    assertEquals(survivorRank, echo.servers().getFirst().rank());
                    assertEchoes(echo, 200);
                }
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    private static ChildJvm startServer(String name, String masterAddress) {
        return ChildJvm.start(name, EchoServerMain.class, masterAddress);
    }

    /** The master's {@code host:port}, from its READY line. */
    private static String awaitAddress(ChildJvm master) throws InterruptedException {
        return master.awaitLine(line -> line.startsWith("READY "), STARTUP).substring("READY ".length());
    }

    /** The server's rank, from its READY line. */
    private static int awaitRank(ChildJvm server) throws InterruptedException {
        String ready = server.awaitLine(line -> line.startsWith("READY rank="), STARTUP);
        return Integer.parseInt(ready.substring("READY rank=".length()));
    }

    private static Node joinTestNode(String masterAddress) {
        return Node.join(NodeOptions.builder().master(masterAddress).name("test-node").build());
    }

    private static Client echoClient(Node node) {
        return node.client(EchoServerMain.SERVICE).withOptions(CallOptions.DEFAULT.withTimeout(CALL_TIMEOUT));
    }

    /** Matches a {@code NODES [...]} line listing exactly {@code ranks}. */
    private static Predicate<String> nodesExactly(int... ranks) {
        String expected = ChildSupport.nodesLine(Arrays.stream(ranks).sorted().boxed().toList());
        return expected::equals;
    }

    /** Makes {@code calls} calls one after another; each must come back intact. */
    private static void assertEchoes(Client echo, int calls) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < calls; i++) {
            byte[] request = new byte[random.nextInt(16 * 1024 + 1)];
            random.nextBytes(request);
            assertArrayEquals(request, echo.call(EchoServerMain.ECHO, request), "echo of call " + i);
        }
    }

    private static long msSince(long startNs) {
        return (System.nanoTime() - startNs) / 1_000_000L;
    }

    private static void log(String format, Object... args) {
        System.out.println("[test] " + String.format(format, args));
    }

    /** Threads that echo continuously through one client and record how every call ended. */
    private static final class EchoLoad implements AutoCloseable {

        final LongAdder succeeded = new LongAdder();
        final LongAdder unavailable = new LongAdder();
        final Queue<String> unexpected = new ConcurrentLinkedQueue<>();
        final AtomicLong longestCallNs = new AtomicLong();
        /** When each call that failed with UNAVAILABLE started, on the {@link System#nanoTime()} clock. */
        private final Queue<Long> unavailableStartsNs = new ConcurrentLinkedQueue<>();
        private final Client echo;
        private final ExecutorService callers;
        private final List<Future<?>> running = new ArrayList<>();
        private volatile boolean stopping;

        private EchoLoad(Client echo, int threads) {
            this.echo = echo;
            this.callers = Executors.newFixedThreadPool(threads, Thread.ofPlatform().name("echo-load-", 0).factory());
        }

        static EchoLoad start(Client echo, int threads) {
            EchoLoad load = new EchoLoad(echo, threads);
            for (int i = 0; i < threads; i++) {
                load.running.add(load.callers.submit(load::callUntilStopped));
            }
            return load;
        }

        private void callUntilStopped() {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            while (!stopping) {
                byte[] request = new byte[random.nextInt(16 * 1024 + 1)];
                random.nextBytes(request);
                long startNs = System.nanoTime();
                try {
                    byte[] answer = echo.call(EchoServerMain.ECHO, request);
                    if (Arrays.equals(request, answer)) {
                        succeeded.increment();
                    } else {
                        unexpected.add("wrong echo: sent " + request.length + " bytes, got " + answer.length);
                    }
                } catch (BatonException e) {
                    if (e.code() == Status.Code.UNAVAILABLE) {
                        unavailable.increment();
                        unavailableStartsNs.add(startNs);
                    } else {
                        unexpected.add(e.toString());
                    }
                } catch (RuntimeException e) {
                    unexpected.add(e.toString());
                } finally {
                    longestCallNs.accumulateAndGet(System.nanoTime() - startNs, Math::max);
                }
            }
        }

        /** How many calls that started after {@code nanoTime} failed with UNAVAILABLE. */
        long unavailableStartedAfter(long nanoTime) {
            return unavailableStartsNs.stream().filter(startNs -> startNs - nanoTime > 0).count();
        }

        /** Stops the callers; each must finish the call it is making within {@code maxCall}. */
        void stop(Duration maxCall) throws InterruptedException, ExecutionException {
            stopping = true;
            long end = System.nanoTime() + maxCall.toNanos();
            for (Future<?> f : running) {
                try {
                    f.get(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    throw new AssertionError("a caller is stuck in a call past its deadline: " + this, e);
                }
            }
        }

        @Override
        public void close() {
            stopping = true;
            callers.shutdownNow();
            callers.close();
        }

        @Override
        public String toString() {
            return "EchoLoad[succeeded=" + succeeded.sum() + ", unavailable=" + unavailable.sum() + ", unexpected="
                    + unexpected.size() + Stream.of(unexpected.toArray()).limit(5).toList() + ", longest call "
                    + longestCallNs.get() / 1_000_000 + " ms]";
        }
    }
}
