package dev.baton.isolation;

import dev.baton.Master;
import dev.baton.Node;
import dev.baton.NodeOptions;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * A serving process under a watchdog for {@link WatchdogProcessTest}: a master and a node in this JVM, the node's
 * service "hang" method 0 sleeping forever, the watchdog's limit the first argument (milliseconds) with its default
 * action (halt with 86). Prints {@code READY HOST:PORT} (the master's address), then waits for end of input.
 */
public final class WatchdogServerMain {

    private WatchdogServerMain() {
    }

    public static void main(String[] args) throws Exception {
        Duration limit = Duration.ofMillis(Long.parseLong(args[0]));
        try (Watchdog watchdog = Watchdog.builder().limit(limit).start();
             Master master = Master.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                     Duration.ofSeconds(30));
             Node node = Node.join(watchdog.addTo(NodeOptions.builder().master(master.address()).name("hang"))
                     .build())) {
            node.newServer("hang").blocking(0, call -> Thread.sleep(Long.MAX_VALUE)).start();
            System.out.println("READY " + master.address().getHostString() + ":" + master.address().getPort());
            while (System.in.read() >= 0) {
                // until end of input
            }
        }
    }
}
