package dev.baton.cli;

import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Server;
import dev.baton.TlsOptions;
import dev.baton.tracker.TrackerClient;
import dev.baton.tracker.TrackerLease;
import dev.baton.tracker.TrackerLeases;
import dev.baton.tracker.TrackerRegistration;
import dev.baton.tracker.TrackerSummary;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What the tracker commands' tests check of the native side: a Baton server registered, leased and called. */
final class NativeTrackerCheck {

    private NativeTrackerCheck() {
    }

    /**
     * Joins the cluster of {@code master} with a server node and a client node, registers the server under "gpu",
     * leases it through the tracker's native service, calls it, and checks the TVM port's summary shows it leased.
     */
    static void leaseThrough(String master, InetSocketAddress tvmPort) {
        leaseThrough(master, tvmPort, null);
    }

    /** {@link #leaseThrough(String, InetSocketAddress)} with both nodes over {@code tls} (null: plain TCP). */
    static void leaseThrough(String master, InetSocketAddress tvmPort, TlsOptions tls) {
        try (Node serverNode = Node.join(NodeOptions.builder().master(master).name("board").tls(tls).build());
             Node clientNode = Node.join(NodeOptions.builder().master(master).name("client").tls(tls).build())) {
            int rank = serverNode.rank();
            Server board = serverNode.newServer("board")
                    .inline(0, call -> call.reply(ByteBuffer.allocate(4).putInt(0, rank))).start();
            try (TrackerRegistration reg = TrackerLeases.register(board, "gpu");
                 TrackerLease lease = TrackerLeases.lease(clientNode, "gpu", 1, Duration.ofSeconds(10),
                         Duration.ofMinutes(1))) {
                assertEquals(rank, ByteBuffer.wrap(lease.client().call(0, new byte[0])).getInt());
                TrackerSummary s = TrackerClient.of(tvmPort).summary();
                assertEquals(1, s.batonServers().size(), s.toText());
                assertEquals(clientNode.rank(), s.batonServers().getFirst().leasedTo(), s.toText());
            }
        }
    }
}
