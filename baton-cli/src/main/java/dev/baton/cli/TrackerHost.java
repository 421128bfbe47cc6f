package dev.baton.cli;

import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.spi.ClusterSecret;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.TlsOptions;
import dev.baton.tracker.Tracker;
import dev.baton.tracker.TrackerService;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The Baton side of a tracker in a command: an in-process node named {@value #NODE_NAME} that serves the tracker's
 * {@code baton.tracker} service, in the cluster of a master this command started ({@code baton tracker}), joined
 * ({@code baton tracker --master}) or runs ({@code baton master --tracker-port}). The node takes a rank like any
 * member. It listens on the command's {@code --host}. Closing it closes the service, the node, and the master if
 * it started one, in that order; idempotent.
 */
final class TrackerHost implements AutoCloseable {

    static final String NODE_NAME = "baton-tracker";

    private final Master master;
    private final Node node;
    private final TrackerService service;
    private final InetSocketAddress masterAddress;
    private boolean closed;

    private TrackerHost(Master master, Node node, TrackerService service, InetSocketAddress masterAddress) {
        this.master = master;
        this.node = node;
        this.service = service;
        this.masterAddress = masterAddress;
    }

    /**
     * Starts a master on {@code host:masterPort} and serves {@code tracker} from a node of it; both prove
     * {@code secret} and run {@code tls} when given (each may be null).
     */
    static TrackerHost withOwnMaster(Tracker tracker, String host, int masterPort, ClusterSecret secret,
                                     TlsOptions tls) {
        Master master = Master.start(MasterOptions.builder().bind(new InetSocketAddress(host, masterPort))
                .clusterSecret(secret).tls(tls).build());
        try {
            return join(tracker, host, master.address(), master, secret, tls);
        } catch (RuntimeException e) {
            master.close();
            throw e;
        }
    }

    /**
     * Serves {@code tracker} from a node that joins the master at {@code masterAddress}, proving {@code secret} and
     * over {@code tls} when the master asks for them (each may be null).
     */
    static TrackerHost join(Tracker tracker, String host, InetSocketAddress masterAddress, ClusterSecret secret,
                            TlsOptions tls) {
        return join(tracker, host, masterAddress, null, secret, tls);
    }

    private static TrackerHost join(Tracker tracker, String host, InetSocketAddress masterAddress, Master owned,
                                    ClusterSecret secret, TlsOptions tls) {
        InetSocketAddress reach = masterAddress.getAddress() != null && masterAddress.getAddress().isAnyLocalAddress()
                ? new InetSocketAddress(InetAddress.getLoopbackAddress(), masterAddress.getPort()) : masterAddress;
        Node node = Node.join(NodeOptions.builder().master(reach).bind(new InetSocketAddress(host, 0))
                .name(NODE_NAME).clusterSecret(secret).tls(tls).build());
        try {
            return new TrackerHost(owned, node, TrackerService.serve(node, tracker), reach);
        } catch (RuntimeException e) {
            node.close();
            throw e;
        }
    }

    /** The master Baton nodes join to reach the tracker. */
    InetSocketAddress masterAddress() {
        return masterAddress;
    }

    /** What the command prints about it. */
    String describe() {
        return "master " + BatonCli.hostPort(masterAddress) + " (node " + NODE_NAME + ", rank " + node.rank() + ")";
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        service.close();
        node.close();
        if (master != null) {
            master.close();
        }
    }
}
