package dev.baton.systemtest;

import dev.baton.Master;
import dev.baton.NodeInfo;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * Child process: a master on 127.0.0.1 and a free port.
 *
 * <p>Prints {@code READY host:port} once it accepts nodes, then {@code NODES [ranks...]} each time the set of
 * joined nodes changes as the master sees it. Runs until stdin reaches end-of-file or the process gets SIGTERM,
 * then closes the master.
 */
public final class MasterMain {

    /** How often the master's view is sampled; {@link Master} has no listener, so this is the only way to see it. */
    private static final long SAMPLE_PERIOD_NS = 10_000_000L;

    private MasterMain() {
    }

    public static void main(String[] args) {
        try (Master master = Master.start(0)) {
            Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("master-shutdown").unstarted(master::close));
            Thread.ofPlatform().daemon(true).name("master-nodes-printer").start(() -> printNodeChanges(master));
            InetSocketAddress address = master.address();
            ChildSupport.println("READY " + address.getHostString() + ":" + address.getPort());
            ChildSupport.awaitStdinEof();
        }
        System.exit(0);
    }

    private static void printNodeChanges(Master master) {
        List<Integer> last = null;
        while (true) {
            List<Integer> ranks = master.membership().nodes().stream().map(NodeInfo::rank).sorted().toList();
            if (!ranks.equals(last)) {
                ChildSupport.println(ChildSupport.nodesLine(ranks));
                last = ranks;
            }
            LockSupport.parkNanos(SAMPLE_PERIOD_NS);
        }
    }
}
