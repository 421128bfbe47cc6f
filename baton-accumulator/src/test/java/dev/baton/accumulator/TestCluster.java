package dev.baton.accumulator;

import dev.baton.Master;
import dev.baton.Node;
import dev.baton.NodeOptions;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A master and nodes in this JVM, each with its {@link Accumulators}; closes everything in reverse order and
 * checks that no flusher thread is left.
 */
final class TestCluster implements AutoCloseable {

    /** Fast enough for tests: elections after tens of milliseconds. */
    static final AccumulatorOptions OPTIONS = AccumulatorOptions.builder()
            .flushEvery(10).electionDelay(Duration.ofMillis(20)).closeTimeout(Duration.ofSeconds(10)).build();

    final Master master;
    final List<Node> nodes = new ArrayList<>();
    final List<Accumulators> accumulators = new ArrayList<>();

    TestCluster() {
        master = Master.start(0);
    }

    static TestCluster withNodes(int n) {
        return withNodes(n, OPTIONS);
    }

    static TestCluster withNodes(int n, AccumulatorOptions options) {
        TestCluster c = new TestCluster();
        try {
            for (int i = 0; i < n; i++) {
                c.add(options);
            }
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    Node join() {
        Node node = Node.join(NodeOptions.builder().master(master.address()).name("node-" + nodes.size())
                .defaultTimeout(Duration.ofSeconds(20)).build());
        nodes.add(node);
        accumulators.add(null);
        return node;
    }

    Accumulators add(AccumulatorOptions options) {
        Node node = join();
        Accumulators a = Accumulators.attach(node, options);
        accumulators.set(accumulators.size() - 1, a);
        return a;
    }

    Accumulators acc(int i) {
        return accumulators.get(i);
    }

    Node node(int i) {
        return nodes.get(i);
    }

    /**
     * Waits until every live node sees the accumulator server on {@code rank}, and that node knows it hosts it
     * (it learns so when its registration call returns, which may be after the others saw the event).
     */
    void awaitServerOn(int rank) {
        Wait.until(() -> accumulators.stream().filter(a -> a != null).allMatch(a -> a.serverRank() == rank)
                        && accumulators.stream().filter(a -> a != null && a.node().rank() == rank)
                        .allMatch(a -> a.stats().hostingServer()),
                Duration.ofSeconds(20),
                () -> "server ranks: " + accumulators.stream().map(a -> a == null ? "-" : "" + a.serverRank()).toList());
    }

    /** Closes node {@code i} abruptly, as a crash looks to the others: the node first, its accumulators after. */
    void crash(int i) {
        nodes.get(i).close();
        accumulators.get(i).close();
        accumulators.set(i, null);
    }

    /** Closes node {@code i} in order: accumulators (hand-over), then the node. */
    void leave(int i) {
        accumulators.get(i).close();
        accumulators.set(i, null);
        nodes.get(i).close();
    }

    @Override
    public void close() {
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Accumulators a = accumulators.get(i);
            if (a != null) {
                a.close();
            }
        }
        for (int i = nodes.size() - 1; i >= 0; i--) {
            nodes.get(i).close();
        }
        master.close();
        Wait.noThreads("baton-accumulator-flush-", Duration.ofSeconds(10));
    }
}
