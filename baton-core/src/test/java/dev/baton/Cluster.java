package dev.baton;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A master and nodes in this JVM, on loopback; closes everything in reverse order. */
final class Cluster implements AutoCloseable {

    /** The method {@link #startEcho} serves. */
    static final int ECHO = 0;

    final Master master;
    final List<Node> nodes = new ArrayList<>();

    Cluster() {
        master = Master.start(0);
    }

    static Cluster withNodes(int n) {
        Cluster c = new Cluster();
        try {
            for (int i = 0; i < n; i++) {
                c.join("node-" + i);
            }
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** An echo server of {@code service} on {@code node}: method {@link #ECHO} answers with the request. */
    static Server startEcho(Node node, String service) {
        return node.newServer(service).inline(ECHO, call -> call.reply(call.request().buffer())).start();
    }

    NodeOptions.Builder options(String name) {
        return NodeOptions.builder().master(master.address()).name(name).defaultTimeout(Duration.ofSeconds(20));
    }

    Node join(String name) {
        return join(options(name).build());
    }

    Node join(NodeOptions options) {
        Node n = Node.join(options);
        nodes.add(n);
        return n;
    }

    Node node(int i) {
        return nodes.get(i);
    }

    @Override
    public void close() {
        for (int i = nodes.size() - 1; i >= 0; i--) {
            nodes.get(i).close();
        }
        master.close();
    }
}
