package dev.baton.tracker;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Node;
import dev.baton.Status;
import dev.baton.tracker.internal.LeaseToken;
import dev.baton.tracker.internal.NativeWire;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A server of a key, handed to this node by the tracker ({@link TrackerLeases#lease}) until {@link #close()},
 * until {@link #expiresAt()}, or until this node leaves the cluster. {@link #client()} calls that server only.
 * Thread-safe.
 *
 * <p>The lease's time limit is kept by the tracker (the server goes back to its pool then) and, for a server
 * registered with a {@link TrackerGuard}, by the server itself, which refuses calls past the limit with
 * PERMISSION_DENIED. The client does not check the limit; it refuses calls after {@link #close()} with CLOSED.
 */
public final class TrackerLease implements AutoCloseable {

    private final TrackerLeases.Ref tracker;
    private final long id;
    private final String key;
    private final String service;
    private final int serverId;
    private final int rank;
    private final Instant expiresAt;
    private final Client client;
    private final AtomicBoolean closed = new AtomicBoolean();

    TrackerLease(Node node, TrackerLeases.Ref tracker, long id, String key, String service, int serverId, int rank,
                 Instant expiresAt, String token) {
        this.tracker = tracker;
        this.id = id;
        this.key = key;
        this.service = service;
        this.serverId = serverId;
        this.rank = rank;
        this.expiresAt = expiresAt;
        this.client = node.client(service).withInterceptors(call -> {
            if (closed.get()) {
                throw Status.of(Status.Code.CLOSED, "lease " + id + " of " + this.service + " server " + serverId
                        + " was released").asException();
            }
            call.options(call.options().withRank(-1).withServerId(serverId)
                    .withMetadata(call.options().metadata().with(LeaseToken.METADATA_KEY, token)));
            return null;
        });
    }

    /**
     * A client of the leased server: every call goes to that server (whatever server id or rank its options name)
     * and carries the lease's token.
     */
    public Client client() {
        return client;
    }

    /** The tracker's id of this lease. */
    public long id() {
        return id;
    }

    public String key() {
        return key;
    }

    /** The leased server's service. */
    public String service() {
        return service;
    }

    /** The leased server's id within its service. */
    public int serverId() {
        return serverId;
    }

    /** The rank of the node that hosts the leased server. */
    public int rank() {
        return rank;
    }

    /** When the tracker ends the lease, on the tracker's wall clock. */
    public Instant expiresAt() {
        return expiresAt;
    }

    /**
     * Gives the server back to the tracker's pool. Blocks up to 5 s. Idempotent; a tracker that cannot be reached
     * is not an error (it ends the lease at its limit, or when this node leaves).
     */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                tracker.call(NativeWire.RELEASE, new NativeWire.Writer().i64(id).done(),
                        TrackerLeases.CALL_TIMEOUT).close();
            } catch (BatonException e) {
                System.getLogger("dev.baton.tracker").log(System.Logger.Level.DEBUG,
                        "tracker lease {0}: releasing failed: {1}", id, e.getMessage());
            }
        }
    }

    @Override
    public String toString() {
        return "TrackerLease{" + id + ", " + service + "/" + serverId + " on rank " + rank + ", key '" + key
                + "', until " + expiresAt + "}";
    }
}
