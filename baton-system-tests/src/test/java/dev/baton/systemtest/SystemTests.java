package dev.baton.systemtest;

import dev.baton.testkit.ChildJvm;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.zookeeper.ZooKeeperRegistry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** What the multi-process tests share: waiting for the children's protocol lines, the test node, logging. */
final class SystemTests {

    /** How long a child JVM may take to start and report READY (2 cores, several JVMs starting at once). */
    static final Duration STARTUP = Duration.ofSeconds(30);
    /** The system property that gives a child master or node ({@link MasterMain}, {@link ProbedNodeMain}) a secret. */
    static final String SECRET_PROPERTY = "baton.test.clusterSecret";

    private SystemTests() {
    }

    static ChildJvm startServer(String name, String masterAddress, String... options) {
        String[] args = new String[options.length + 1];
        args[0] = masterAddress;
        System.arraycopy(options, 0, args, 1, options.length);
        return ChildJvm.start(name, EchoServerMain.class, args);
    }

    /** The master's {@code host:port}, from its READY line. */
    static String awaitAddress(ChildJvm master) throws InterruptedException {
        return master.awaitLine(line -> line.startsWith("READY "), STARTUP).substring("READY ".length());
    }

    /** The server's rank, from its READY line. */
    static int awaitRank(ChildJvm server) throws InterruptedException {
        String ready = server.awaitLine(line -> line.startsWith("READY rank="), STARTUP);
        return Integer.parseInt(ready.substring("READY rank=".length()));
    }

    static Node joinTestNode(String masterAddress) {
        return Node.join(joinOptions(masterAddress).name("test-node").build());
    }

    /** The prefix of a registry given as {@code zk:CONNECT/ROOT} instead of a master's {@code host:port}. */
    static final String ZOOKEEPER = "zk:";
    static final Duration ZOOKEEPER_SESSION = Duration.ofSeconds(3);

    /**
     * Options that join through {@code where}: a master's {@code host:port}, or {@code zk:CONNECT/ROOT} for a
     * ZooKeeper ensemble (the connect string has no '/', the root starts with one).
     */
    static NodeOptions.Builder joinOptions(String where) {
        if (!where.startsWith(ZOOKEEPER)) {
            return NodeOptions.builder().master(where);
        }
        String rest = where.substring(ZOOKEEPER.length());
        int slash = rest.indexOf('/');
        // Sessions of 3 s, so that a killed node is gone within seconds (the default is 10 s).
        return NodeOptions.builder().registry(ZooKeeperRegistry.builder(rest.substring(0, slash), rest.substring(slash))
                .sessionTimeout(ZOOKEEPER_SESSION).build());
    }

    static Client echoClient(Node node, Duration callTimeout) {
        return node.client(EchoServerMain.SERVICE).withOptions(CallOptions.DEFAULT.withTimeout(callTimeout));
    }

    /** Matches a {@code NODES [...]} line listing exactly {@code ranks}. */
    static Predicate<String> nodesExactly(int... ranks) {
        return nodesLine(ranks)::equals;
    }

    /**
     * Waits until the last line {@code child} printed that starts like {@code expected} up to its list (e.g.
     * {@code NODES } or {@code SERVERS echo }) is {@code expected}: the state the child reports now, not one it
     * passed through earlier.
     */
    static void awaitLatest(ChildJvm child, String expected, Duration timeout) {
        String prefix = expected.substring(0, expected.indexOf('['));
        Wait.until(() -> expected.equals(child.lastLine(prefix)), timeout,
                () -> child.name() + " last printed '" + child.lastLine(prefix) + "', expected '" + expected + "'");
    }

    /** The {@code NODES [...]} line listing exactly {@code ranks}. */
    static String nodesLine(int... ranks) {
        return ChildSupport.nodesLine(Arrays.stream(ranks).sorted().boxed().toList());
    }

    /** Makes {@code calls} calls one after another; each must come back intact. */
    static void assertEchoes(Client echo, int calls) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < calls; i++) {
            byte[] request = new byte[random.nextInt(16 * 1024 + 1)];
            random.nextBytes(request);
            assertArrayEquals(request, echo.call(EchoServerMain.ECHO, request), "echo of call " + i);
        }
    }

    /** A loopback port that was free a moment ago, for a child that must listen on a port chosen in advance. */
    static int freePort() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress("127.0.0.1", 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port", e);
        }
    }

    static long msSince(long startNs) {
        return (System.nanoTime() - startNs) / 1_000_000L;
    }

    static void log(String format, Object... args) {
        System.out.println("[test] " + String.format(format, args));
    }

    /**
     * Child JVMs that end together: {@link #close()} closes every one added, newest first, and reports the
     * first failure after trying them all. For tests that start a varying number of children.
     */
    static final class ChildGroup implements AutoCloseable {

        private final List<ChildJvm> children = new ArrayList<>();

        /** Adds {@code child} and returns it. */
        synchronized ChildJvm add(ChildJvm child) {
            children.add(child);
            return child;
        }

        @Override
        public void close() {
            List<ChildJvm> all;
            synchronized (this) {
                all = new ArrayList<>(children.reversed());
                children.clear();
            }
            RuntimeException first = null;
            for (ChildJvm child : all) {
                try {
                    child.close();
                } catch (RuntimeException e) {
                    if (first == null) {
                        first = e;
                    } else {
                        first.addSuppressed(e);
                    }
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }
}
