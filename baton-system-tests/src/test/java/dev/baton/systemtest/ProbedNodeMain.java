package dev.baton.systemtest;

import dev.baton.Node;
import dev.baton.NodeOptions;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * Child process: a node with default options that serves the echo service ({@link EchoServerMain#SERVICE},
 * method {@link EchoServerMain#ECHO}, inline) and reports on its memory when asked: the target of the
 * hostile-peer tests.
 *
 * <p>Usage: {@code ProbedNodeMain <master host:port>}. Prints {@code READY rank=R port=P} once its server is
 * registered (it listens on 127.0.0.1:P). Then reads commands from stdin, one per line:
 * <ul>
 *   <li>{@code PROBE}: full collections, then {@code PROBE heapUsed=.. direct=.. rss=.. maxHeap=..
 *       NodeStats[...]} ({@link MemoryProbe#line}, then the node's statistics);</li>
 *   <li>{@code STATS}: the same without the collections (cheap enough to ask during an attack), as
 *       {@code STATS ...}.</li>
 * </ul>
 * At end-of-file it closes the node and exits 0. With the system property {@value SystemTests#SECRET_PROPERTY}
 * the node has that cluster secret (its UTF-8 bytes).
 */
public final class ProbedNodeMain {

    private ProbedNodeMain() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: ProbedNodeMain <master host:port>");
            System.exit(2);
        }
        NodeOptions.Builder builder = NodeOptions.builder().master(args[0])
                .bind(new InetSocketAddress("127.0.0.1", 0)).name("probed-node");
        String secret = System.getProperty(SystemTests.SECRET_PROPERTY);
        NodeOptions options = (secret == null ? builder : builder.clusterSecret(
                secret.getBytes(StandardCharsets.UTF_8))).build();
        try (Node node = Node.join(options)) {
            node.newServer(EchoServerMain.SERVICE)
                    .inline(EchoServerMain.ECHO, call -> call.reply(call.request().buffer())).start();
            ChildSupport.println("READY rank=" + node.rank() + " port=" + node.address().getPort());
            BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String command = commands.readLine(); command != null; command = commands.readLine()) {
                switch (command) {
                    case "PROBE" -> ChildSupport.println("PROBE " + MemoryProbe.line(true) + " " + node.stats());
                    case "STATS" -> ChildSupport.println("STATS " + MemoryProbe.line(false) + " " + node.stats());
                    default -> System.err.println("unknown command: " + command);
                }
            }
        }
        System.exit(0);
    }
}
