package dev.baton.testkit.behaviour;

import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Server;
import dev.baton.spi.TransportFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A master and nodes in this JVM, every one of them on one transport: what the behaviour suites run on. Closes
 * the nodes in reverse order of joining, then the master.
 *
 * <pre>{@code
 * try (Cluster c = Cluster.withNodes(LoopbackTransport.factory(), 2)) {
 *     Cluster.startEcho(c.node(0), "echo");
 *     Client client = c.node(1).client("echo");
 *     ...
 * }
 * }</pre>
 *
 * <p>Not thread-safe: one test thread builds and closes it (the nodes themselves are thread-safe).
 */
public final class Cluster implements AutoCloseable {

    /** The method {@link #startEcho} serves. */
    public static final int ECHO = 0;

    private final TransportFactory transport;
    private final int lanes;
    private final Master master;
    private final List<Node> nodes = new ArrayList<>();

    private Cluster(TransportFactory transport, int lanes) {
        this.transport = transport;
        this.lanes = lanes;
        this.master = Master.start(MasterOptions.builder().transport(transport).build());
    }

    /** A master on {@code transport}, without nodes. */
    public static Cluster start(TransportFactory transport) {
        return start(transport, 1);
    }

    /** A master on {@code transport}, without nodes; its nodes open {@code lanes} connections per peer. */
    public static Cluster start(TransportFactory transport, int lanes) {
        return new Cluster(transport, lanes);
    }

    /** A master and {@code n} nodes named node-0, node-1, ... (ranks 0, 1, ...). */
    public static Cluster withNodes(TransportFactory transport, int n) {
        return withNodes(transport, 1, n);
    }

    /**
     * A master and {@code n} nodes named node-0, node-1, ... (ranks 0, 1, ...), each with {@code lanes} connections
     * per peer ({@code NodeOptions.lanes}) and as many I/O threads.
     */
    public static Cluster withNodes(TransportFactory transport, int lanes, int n) {
        Cluster c = new Cluster(transport, lanes);
        try {
            for (int i = 0; i < n; i++) {
                c.join("node-" + i);
            }
            return c;
        } catch (RuntimeException | Error e) {
            c.close();
            throw e;
        }
    }

    /** An echo server of {@code service} on {@code node}: method {@link #ECHO} answers with the request. */
    public static Server startEcho(Node node, String service) {
        return node.newServer(service).inline(ECHO, call -> call.reply(call.request().buffer())).start();
    }

    /** Options of a node of this cluster: its master, its transport, its lanes, a 20 s default timeout. */
    public NodeOptions.Builder options(String name) {
        return NodeOptions.builder().master(master.address()).transport(transport).name(name)
                .lanes(lanes).ioThreads(lanes).defaultTimeout(Duration.ofSeconds(20));
    }

    public Node join(String name) {
        return join(options(name).build());
    }

    /** Joins a node with {@code options} (which should come from {@link #options}); closed with the cluster. */
    public Node join(NodeOptions options) {
        Node n = Node.join(options);
        nodes.add(n);
        return n;
    }

    public Node node(int i) {
        return nodes.get(i);
    }

    public Master master() {
        return master;
    }

    public TransportFactory transport() {
        return transport;
    }

    @Override
    public void close() {
        RuntimeException failure = null;
        for (int i = nodes.size() - 1; i >= 0; i--) {
            try {
                nodes.get(i).close();
            } catch (RuntimeException e) {
                failure = add(failure, e);
            }
        }
        try {
            master.close();
        } catch (RuntimeException e) {
            failure = add(failure, e);
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static RuntimeException add(RuntimeException first, RuntimeException next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }
}
