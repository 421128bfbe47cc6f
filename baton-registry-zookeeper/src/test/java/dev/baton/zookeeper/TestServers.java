package dev.baton.zookeeper;

import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingCluster;
import org.apache.curator.test.TestingServer;

import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Real ZooKeeper servers in the test JVM, as {@link ZooKeeperUnderTest} uses them: one standalone server
 * (Curator's {@link TestingServer}) or a three-member ensemble ({@link TestingCluster}), with a short tick so that
 * sessions of 2 s are allowed. No limit on connections per client address (every test client is on loopback, and
 * the conformance tests share their servers: {@link ZooKeeperUnderTest#shared}). A restart keeps ports and data;
 * the ports are {@link StablePorts}, so that no other socket takes one while its server is down.
 */
abstract sealed class TestServers implements Closeable {

    /** ZooKeeper's tick: sessions may last 2 to 20 ticks. */
    static final int TICK_MS = 100;

    /** Client ports of the members, in order. */
    abstract List<Integer> ports();

    /** Stops every member, as a crash of the whole ensemble would. */
    abstract void stopAll() throws Exception;

    /** Starts every member again on the same ports, with its data. */
    abstract void startAll() throws Exception;

    static TestServers standalone() throws Exception {
        return new Standalone();
    }

    static TestServers ensemble(int members) throws Exception {
        return new Ensemble(members);
    }

    private static final class Standalone extends TestServers {
        private final TestingServer server;

        Standalone() throws Exception {
            int[] ports = StablePorts.next(3);
            server = new TestingServer(new InstanceSpec(null, ports[0], ports[1], ports[2], true, -1, TICK_MS, 0),
                    true);
        }

        @Override
        List<Integer> ports() {
            return List.of(server.getPort());
        }

        @Override
        void stopAll() throws IOException {
            server.stop();
        }

        @Override
        void startAll() throws Exception {
            server.restart();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    private static final class Ensemble extends TestServers {
        private final TestingCluster cluster;
        private final List<InstanceSpec> specs = new ArrayList<>();

        Ensemble(int members) throws Exception {
            int[] ports = StablePorts.next(3 * members);
            for (int i = 1; i <= members; i++) {
                int p = 3 * (i - 1);
                specs.add(new InstanceSpec(null, ports[p], ports[p + 1], ports[p + 2], true, i, TICK_MS, 0));
            }
            cluster = new TestingCluster(specs);
            cluster.start();
        }

        @Override
        List<Integer> ports() {
            return specs.stream().map(InstanceSpec::getPort).toList();
        }

        @Override
        void stopAll() throws Exception {
            for (InstanceSpec s : specs) {
                cluster.killServer(s);
            }
        }

        @Override
        void startAll() throws Exception {
            for (InstanceSpec s : specs) {
                cluster.restartServer(s);
            }
        }

        @Override
        public void close() throws IOException {
            cluster.close();
        }
    }
}
