package dev.baton.tracker;

import dev.baton.Node;
import dev.baton.Server;
import dev.baton.tracker.internal.NativeService;
import dev.baton.tracker.internal.NativeWire;

/**
 * Baton's native tracker protocol: serves the {@code baton.tracker} service on a node, in front of a
 * {@link Tracker}. Baton servers register under a key ({@link TrackerLeases#register}) and Baton clients lease one
 * ({@link TrackerLeases#lease}), by priority and in arrival order, as TVM's clients do on the tracker's TVM port.
 * Baton servers and TVM servers share the tracker and its summary but never its queues: a TVM client is never
 * handed a Baton server, nor a Baton client a TVM one.
 *
 * <pre>{@code
 * try (Tracker tracker = Tracker.start(TrackerOptions.builder().port(9190).build());
 *      Node node = Node.join(NodeOptions.builder().master(master).name("baton-tracker").build());
 *      TrackerService service = TrackerService.serve(node, tracker)) {
 *     ...
 * }
 * }</pre>
 *
 * <h2>Liveness</h2>
 * The service follows {@code node}'s membership: a registered server that is removed, or whose node leaves, is
 * gone from the tracker at once; a node that leaves gives back every lease it held and withdraws its waiting
 * requests. A lease also ends when released and when its time limit passes. So the node must be a member (not an
 * observer), and it takes a rank like any other.
 *
 * <h2>Threads</h2>
 * Thread-safe. Its handlers run on {@code node}'s I/O threads only to parse requests; everything else runs on the
 * tracker's thread, which answers a waiting request when it grants a server. One service per tracker.
 */
public final class TrackerService implements AutoCloseable {

    /** The service's name. */
    public static final String SERVICE = NativeWire.SERVICE;

    private final NativeService service;
    private final Tracker tracker;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private TrackerService(NativeService service, Tracker tracker) {
        this.service = service;
        this.tracker = tracker;
    }

    /**
     * Serves {@code tracker} on {@code node}. Throws {@link dev.baton.BatonException} if the server cannot start,
     * and IllegalStateException if the tracker is served already.
     */
    public static TrackerService serve(Node node, Tracker tracker) {
        if (!tracker.claimService()) {
            throw new IllegalStateException(tracker + " is served by a TrackerService already");
        }
        try {
            return new TrackerService(NativeService.serve(node, tracker.loop()), tracker);
        } catch (RuntimeException e) {
            tracker.releaseService();
            throw e;
        }
    }

    /** The server of {@code baton.tracker} on the node. */
    public Server server() {
        return service.server();
    }

    /**
     * Stops serving (idempotent): the server leaves the membership, and every Baton registration, lease and waiting
     * request is dropped. The tracker itself, and its TVM side, keep running.
     */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            service.close();
            tracker.releaseService();
        }
    }
}
