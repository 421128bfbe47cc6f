package dev.baton.systemtest;

import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Membership;
import dev.baton.NodeInfo;
import dev.baton.NodeOptions;
import dev.baton.ServerInfo;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * Child process: a master.
 *
 * <p>Usage: {@code MasterMain [host:port]}; without an argument it listens on 127.0.0.1 and a free port. A
 * test that restarts the master picks the port itself, so that the nodes find the new master where the old
 * one was; a test that runs it in a network namespace passes that namespace's address.
 *
 * <p>Prints {@code READY host:port} once it accepts nodes, then, each time they change as the master sees
 * them, {@code NODES [ranks...]} (the joined nodes) and {@code SERVERS service [serverId@rank, ...]} (the
 * servers of one service, by id; an empty list once the last one is gone). Runs until stdin reaches end-of-file
 * or the process gets SIGTERM, then closes the master. With the system property
 * {@value SystemTests#SECRET_PROPERTY} the master has that cluster secret (its UTF-8 bytes).
 */
public final class MasterMain {

    /** How often the master's view is sampled; {@link Master} has no listener, so this is the only way to see it. */
    private static final long SAMPLE_PERIOD_NS = 10_000_000L;

    private MasterMain() {
    }

    public static void main(String[] args) {
        if (args.length > 1) {
            System.err.println("usage: MasterMain [host:port]");
            System.exit(2);
        }
        InetSocketAddress bind = args.length == 1 ? NodeOptions.parseHostPort(args[0])
                : new InetSocketAddress("127.0.0.1", 0);
        String secret = System.getProperty(SystemTests.SECRET_PROPERTY);
        MasterOptions.Builder options = MasterOptions.builder().bind(bind);
        try (Master master = Master.start(secret == null ? options.build()
                : options.clusterSecret(secret.getBytes(StandardCharsets.UTF_8)).build())) {
            Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("master-shutdown").unstarted(master::close));
            Thread.ofPlatform().daemon(true).name("master-nodes-printer").start(() -> printChanges(master));
            InetSocketAddress address = master.address();
            ChildSupport.println("READY " + address.getHostString() + ":" + address.getPort());
            ChildSupport.awaitStdinEof();
        }
        System.exit(0);
    }

    private static void printChanges(Master master) {
        List<Integer> lastRanks = null;
        Map<String, String> lastServers = new HashMap<>();
        while (true) {
            Membership m = master.membership();
            List<Integer> ranks = m.nodes().stream().map(NodeInfo::rank).sorted().toList();
            if (!ranks.equals(lastRanks)) {
                ChildSupport.println(ChildSupport.nodesLine(ranks));
                lastRanks = ranks;
            }
            for (String service : m.services()) {
                String line = serversLine(service, m.servers(service));
                if (!line.equals(lastServers.put(service, line))) {
                    ChildSupport.println(line);
                }
            }
            for (String gone : List.copyOf(lastServers.keySet())) {
                if (!m.services().contains(gone) && !lastServers.get(gone).equals(serversLine(gone, List.of()))) {
                    String line = serversLine(gone, List.of());
                    lastServers.put(gone, line);
                    ChildSupport.println(line);
                }
            }
            LockSupport.parkNanos(SAMPLE_PERIOD_NS);
        }
    }

    /** The {@code SERVERS service [serverId@rank, ...]} line, servers by ascending id. */
    static String serversLine(String service, List<ServerInfo> servers) {
        return "SERVERS " + service + " " + servers.stream()
                .sorted((a, b) -> Integer.compare(a.serverId(), b.serverId()))
                .map(s -> s.serverId() + "@" + s.rank()).toList();
    }
}
