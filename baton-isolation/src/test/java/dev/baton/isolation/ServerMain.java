package dev.baton.isolation;

import dev.baton.Node;
import dev.baton.NodeOptions;

import java.io.IOException;

/**
 * A Baton node in a JVM of its own for {@link IsolatedServerProcessTest}: joins the master given as its argument,
 * serves service "iso" with method 3 isolated in a worker pool, prints {@code READY}, and stops (pool and node
 * closed) when its stdin ends.
 */
public final class ServerMain {

    private ServerMain() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        try (WorkerPool pool = PoolTesting.builder("server").workers(1).spares(1).start();
             Node node = Node.join(NodeOptions.builder().master(args[0]).name("iso-server").build())) {
            node.newServer("iso").async(3, pool.handler(Misbehave.class)).start();
            if (!pool.awaitReady(PoolTesting.STARTUP)) {
                System.out.println("FAILED " + pool.stats());
                return;
            }
            System.out.println("READY " + pool.stats().workerPids());
            while (System.in.read() >= 0) {
                // until end of input
            }
            System.out.println("STOPPING " + pool.stats());
        }
    }
}
