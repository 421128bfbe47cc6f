package dev.baton.shm;

import dev.baton.Node;
import dev.baton.NodeOptions;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A node in a child JVM for {@link ShmProcessTest}: joins the master at {@code args[0]} (host:port) with the
 * shared-memory transport in directory {@code args[1]}, serves "echo" (method 0 answers with the request), prints
 * {@code READY <rank>} and runs until its stdin ends.
 */
public final class ShmEchoMain {

    private ShmEchoMain() {
    }

    public static void main(String[] args) throws IOException {
        String[] master = args[0].split(":");
        try (Node node = Node.join(NodeOptions.builder().name("child")
                .master(new InetSocketAddress(master[0], Integer.parseInt(master[1])))
                .transport(SharedMemoryTransport.builder().directory(Path.of(args[1])).build())
                .keepaliveInterval(Duration.ofSeconds(10)).keepaliveTimeout(Duration.ofSeconds(30)).build())) {
            node.newServer("echo").inline(0, call -> call.reply(call.request().buffer())).start();
            System.out.println("READY " + node.rank());
            System.out.flush();
            while (System.in.read() >= 0) {
                // until the parent closes stdin
            }
        }
    }
}
