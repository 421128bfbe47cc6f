package dev.baton.bench;

import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.SharedMemory;
import dev.baton.process.ChildJvm;
import dev.baton.zookeeper.LocalZooKeeper;
import dev.baton.zookeeper.ZooKeeperRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code bin/baton bench registry}: how fast nodes join, and how fast every node learns that one left or died,
 * through the master and through ZooKeeper, in one run. N nodes join in this JVM one after the other (each
 * join timed); then, several times, one more node joins from a child JVM and either closes or is killed with
 * SIGKILL, and the time until every one of the N nodes has removed it is measured. The master's lease and
 * ZooKeeper's session timeout are the same ({@code --timeout-ms}), so death detection compares like with like;
 * ZooKeeper runs as a separate JVM (a standalone server; a tick of a fifteenth of the timeout).
 */
@Command(name = "registry", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Join time and leave/death propagation time with N nodes: the master against ZooKeeper.")
final class RegistryBench implements Callable<Integer> {

    @Option(names = "--nodes", defaultValue = "20",
            description = "Nodes joined in this JVM. Default: ${DEFAULT-VALUE}.")
    int nodes;

    @Option(names = "--rounds", defaultValue = "5", description = "Leaves and deaths measured per registry. "
            + "Default: ${DEFAULT-VALUE}.")
    int rounds;

    @Option(names = "--timeout-ms", defaultValue = "3000", description = "The master's lease and ZooKeeper's "
            + "session timeout. Default: ${DEFAULT-VALUE}.")
    long timeoutMs;

    private static final Duration WAIT_LIMIT = Duration.ofSeconds(60);

    @Override
    public Integer call() throws Exception {
        System.out.printf("registry bench: %d nodes in this JVM, %d leaves and %d deaths each, lease/session %d ms%n",
                nodes, rounds, rounds, timeoutMs);
        List<String> rows = new ArrayList<>();
        try (Master master = Master.start(MasterOptions.builder().leaseTimeout(Duration.ofMillis(timeoutMs)).build())) {
            String spec = "master " + master.address().getHostString() + ":" + master.address().getPort();
            rows.add(measure("master", NodeOptions.builder().master(master.address()).sharedMemory(SharedMemory.DISABLED),
                    spec));
        }
        try (LocalZooKeeper zk = new LocalZooKeeper(1, Duration.ofMillis(Math.max(10, timeoutMs / 15)))) {
            zk.startAll();
            String root = "/baton/bench-" + ProcessHandle.current().pid();
            String spec = "zookeeper " + zk.connectString() + " " + root + " " + timeoutMs;
            rows.add(measure("zookeeper", NodeOptions.builder().registry(registry(zk.connectString(), root, timeoutMs))
                    .sharedMemory(SharedMemory.DISABLED), spec));
        }
        System.out.println();
        System.out.printf("%-10s %28s %28s %28s%n", "registry", "join ms p50 / max", "leave->all ms p50 / max",
                "kill -9->all ms p50 / max");
        rows.forEach(System.out::println);
        return 0;
    }

    private String measure(String label, NodeOptions.Builder options, String childSpec) throws Exception {
        List<Node> joined = new ArrayList<>();
        double[] joins = new double[nodes];
        double[] leaves = new double[rounds];
        double[] deaths = new double[rounds];
        try {
            for (int i = 0; i < nodes; i++) {
                long t0 = System.nanoTime();
                joined.add(Node.join(options.name(label + "-" + i).build()));
                joins[i] = ms(t0);
            }
            for (int r = 0; r < rounds; r++) {
                leaves[r] = goneAfter(joined, childSpec, false);
                deaths[r] = goneAfter(joined, childSpec, true);
            }
        } finally {
            joined.forEach(Node::close);
        }
        String row = String.format("%-10s %28s %28s %28s", label, p50max(joins), p50max(leaves), p50max(deaths));
        System.out.println(row);
        return row;
    }

    /** One node joins from a child JVM; returns the ms from its close (or SIGKILL) until every node removed it. */
    private double goneAfter(List<Node> observers, String childSpec, boolean kill) throws Exception {
        try (ChildJvm child = ChildJvm.builder("bench-registry-node", DyingNode.class).jvmOptions(List.of("-Xmx128m"))
                .args(childSpec.split(" ")).keepLines(50).stopGrace(Duration.ofSeconds(5), Duration.ofSeconds(5))
                .start()) {
            String line = child.awaitLine(l -> l.startsWith("JOINED "), WAIT_LIMIT);
            int rank = Integer.parseInt(line.substring("JOINED ".length()).trim());
            await(observers, rank, false);
            long t0 = System.nanoTime();
            if (kill) {
                child.kill();
            } else {
                child.closeStdin();
            }
            await(observers, rank, true);
            return ms(t0);
        }
    }

    /** Waits until every observer sees rank {@code rank} (or, with {@code gone}, no longer sees it). */
    private static void await(List<Node> observers, int rank, boolean gone)
            throws InterruptedException {
        long deadline = System.nanoTime() + WAIT_LIMIT.toNanos();
        for (Node n : observers) {
            while (n.membership().node(rank).isPresent() == gone) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(n + " did not see rank " + rank + (gone ? " leave" : " join"));
                }
                Thread.sleep(0, 200_000);
            }
        }
    }

    private static ZooKeeperRegistry.Builder builder(String connect, String root, long sessionMs) {
        return ZooKeeperRegistry.builder(connect, root).sessionTimeout(Duration.ofMillis(sessionMs));
    }

    private static dev.baton.spi.RegistryFactory registry(String connect, String root, long sessionMs) {
        return builder(connect, root, sessionMs).build();
    }

    private static double ms(long t0) {
        return (System.nanoTime() - t0) / 1e6;
    }

    private static String p50max(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return String.format("%.1f / %.1f", sorted[sorted.length / 2], sorted[sorted.length - 1]);
    }

    /**
     * The node that leaves or dies: joins as told by its arguments ({@code master HOST:PORT} or
     * {@code zookeeper CONNECT ROOT SESSION_MS}), prints {@code JOINED RANK}, and closes at the end of its input.
     */
    static final class DyingNode {
        public static void main(String[] args) throws Exception {
            NodeOptions.Builder options = NodeOptions.builder().name("dying").sharedMemory(SharedMemory.DISABLED);
            if (args[0].equals("master")) {
                options.master(args[1]);
            } else {
                options.registry(registry(args[1], args[2], Long.parseLong(args[3])));
            }
            try (Node node = Node.join(options.build())) {
                System.out.println("JOINED " + node.rank());
                System.out.flush();
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                while (in.readLine() != null) {
                    // wait for the end of input
                }
            }
        }
    }
}
