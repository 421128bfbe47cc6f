package dev.baton.accumulator;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Node;
import dev.baton.Server;
import dev.baton.ServerInfo;
import dev.baton.Status;

import java.nio.ByteBuffer;
import java.util.function.BooleanSupplier;

/**
 * Hosting the accumulator server: the {@link Duty} that stands for election when there is no server, hosts
 * one ({@link AccumulatorServer}, registered as server 0 of {@link Protocol#SERVICE}), continues a server
 * handed over by its previous host, and hands this node's server over to a better host or, on close, to a
 * successor.
 *
 * <h2>Election</h2>
 * With no server in the membership, a node waits {@link #electionDelayNs()} (nothing for a node that asked to
 * host, one {@link AccumulatorOptions#electionDelay()} for rank 0, more for the others by rank) and then tries to
 * register; the master's "server id 0 is taken" decides between nodes that try at once.
 *
 * <h2>Hand-over</h2>
 * When this node's server sees a client of higher priority, or when this node closes, the server is frozen, its
 * state sent to the successor in a TAKEOVER call, and deregistered; the successor registers and continues with
 * the same incarnation. If the call fails, the server serves on. The receiving side gets the state from the
 * {@link PeerService} ({@link #adopt}) and registers as soon as the old server is gone.
 *
 * <h2>Threads</h2>
 * The hosting state is the flush thread's; {@link #onClose} takes it over once that thread has ended.
 * {@link #isHosting()} may be called from any thread; {@link #onHigherPriority} comes from the server's
 * handlers and only posts a request.
 */
final class ServerHosting implements Duty {

    private static final System.Logger LOG = System.getLogger(ServerHosting.class.getName());
    /** How often to try registering a handed-over server while the old one is still registered. */
    private static final long ADOPT_RETRY_NS = 2_000_000L;
    /** After handing the server over, how long this node leaves the successor to register before an election. */
    private static final long HAND_OVER_GRACE_NS = 1_000_000_000L;

    /** A server's state handed to this node, as the peer service received it. */
    record Takeover(ByteBuffer state, int fromRank, long untilNs, long atServerEvents) {
    }

    private final Node node;
    private final AccumulatorOptions options;
    private final int priority;
    private final Client peers;
    private final Flusher.Stats stats;
    private final ServerWatch watch;
    private final DutyRunner runner;
    private final BooleanSupplier flushingStopped;
    /** A request from the server's handlers: hand over to this rank (-1: none). */
    private volatile int handOverTo = -1;

    // ---- flush thread, then onClose() once that thread has ended
    private volatile AccumulatorServer hosted;
    private Server registration;
    private Takeover adopted;
    private long electionAtNs;
    /** After handing the server over, this node does not stand for election before this time (nanoTime). */
    private long noElectionUntilNs;
    private boolean noElectionSet;

    /**
     * Hosting for {@code node} at {@code priority} (0: never hosts). {@code flushingStopped} tells, on close,
     * that the flush rounds stopped for good (the node closed under them): then there is no hand-over.
     */
    ServerHosting(Node node, AccumulatorOptions options, int priority, Flusher.Stats stats, ServerWatch watch,
                  DutyRunner runner, BooleanSupplier flushingStopped) {
        this.node = node;
        this.options = options;
        this.priority = priority;
        this.peers = node.client(Protocol.PEER_SERVICE);
        this.stats = stats;
        this.watch = watch;
        this.runner = runner;
        this.flushingStopped = flushingStopped;
    }

    @Override
    public String roleName() {
        return "server hosting";
    }

    /** True while this node hosts the accumulator server. Any thread. */
    boolean isHosting() {
        return hosted != null;
    }

    /** A server's state arrived for this node to continue. Flush thread (the peer service's duty). */
    void adopt(Takeover takeover) {
        adopted = takeover;
    }

    // ------------------------------------------------------------------ the duty

    @Override
    public int doWork(long nowNs) {
        if (priority == 0) {
            return 0;
        }
        int work = 0;
        ServerInfo cur = watch.current();
        if (hosted != null) {
            if (cur != null && cur.rank() != node.rank()) {
                // The master gave server 0 to another node (we lost our lease meanwhile): it is the server now.
                LOG.log(System.Logger.Level.WARNING, "rank {0} no longer holds the accumulator server (rank {1} does)",
                        node.rank(), cur.rank());
                stopHosting();
                work++;
            } else {
                int target = handOverTo;
                if (target >= 0) {
                    handOverTo = -1;
                    handOver(target);
                    return 1;
                }
                return 0;
            }
        }
        Takeover t = adopted;
        if (t != null) {
            // Expected events: the old server's deregistration (one). Any more means another registration
            // (someone else's, or the old server's again) overtook ours: the handed state is stale, drop it.
            if (nowNs - t.untilNs() > 0 || watch.serverEvents() - t.atServerEvents() > 1) {
                adopted = null;
                LOG.log(System.Logger.Level.WARNING, "rank {0} could not take over the accumulator server from rank {1}",
                        node.rank(), t.fromRank());
                work++;
            } else {
                if (cur == null && tryHost(t)) {
                    adopted = null;
                    work++;
                }
                return work;
            }
        }
        if (cur != null) {
            electionAtNs = 0;
            return work;
        }
        if (noElectionSet && nowNs - noElectionUntilNs < 0) {
            return work;     // we just handed the server over: leave the successor time to register
        }
        if (electionAtNs == 0) {
            electionAtNs = nowNs + electionDelayNs();
        }
        if (nowNs - electionAtNs >= 0) {
            electionAtNs = 0;
            if (tryHost(null)) {
                work++;
            }
        }
        return work;
    }

    @Override
    public long idleLimitNs(long nowNs) {
        long limit = Long.MAX_VALUE;
        if (electionAtNs != 0) {
            limit = electionAtNs - nowNs;
        }
        if (adopted != null) {
            limit = Math.min(limit, ADOPT_RETRY_NS);
        }
        return limit;
    }

    /**
     * How long to wait before standing for election when there is no server: 0 for a node that asked for it,
     * one election delay for rank 0, more for the others by rank, so the preferred node usually wins and the
     * others rarely race (the master's "server id 0 is taken" decides anyway).
     */
    private long electionDelayNs() {
        long unit = options.electionDelay().toNanos();
        if (priority >= 3) {
            return 0;
        }
        if (priority == 2) {
            return unit;
        }
        int below = 0;
        for (ServerInfo s : node.membership().servers(Protocol.PEER_SERVICE)) {
            if (s.rank() < node.rank()) {
                below++;
            }
        }
        return unit * (2 + Math.min(below, 16));
    }

    /** Registers a new server, or ({@code takeover} not null) one continuing a handed-over state. */
    private boolean tryHost(Takeover takeover) {
        AccumulatorServer s = takeover == null
                ? AccumulatorServer.create(node, options, priority, this::onHigherPriority)
                : AccumulatorServer.restore(node, options, priority, this::onHigherPriority, takeover.state());
        try {
            Server reg = s.handlers(node.newServer(Protocol.SERVICE).serverId(0)).start(options.callTimeout());
            hosted = s;
            registration = reg;
            stats.elections.increment();
            LOG.log(System.Logger.Level.INFO, "rank {0} hosts the accumulator server ({1})", node.rank(),
                    takeover == null ? "new, incarnation " + Long.toHexString(s.incarnation())
                            : "taken over from rank " + takeover.fromRank());
            watch.markMoved();
            return true;
        } catch (BatonException e) {
            if (e.code() != Status.Code.ALREADY_EXISTS) {
                LOG.log(System.Logger.Level.DEBUG, "could not register the accumulator server: {0}", e.getMessage());
            }
            return false;
        }
    }

    /** Our server saw a node with a higher priority: hand the server over to it (on the flush thread). */
    private void onHigherPriority(int rank) {
        handOverTo = rank;
        runner.wake();
    }

    /**
     * Freezes the server, sends its state to {@code target} and deregisters, so the target registers and
     * continues with the same incarnation. If the target cannot take it, the server serves on; returns false.
     */
    private boolean handOver(int target) {
        AccumulatorServer s = hosted;
        ByteBuffer snapshot = s.freezeAndSnapshot();
        ByteBuffer state = new Wire.Out(snapshot.remaining() + 4).putInt(node.rank()).putRaw(snapshot).copy();
        try {
            peers.call(Protocol.TAKEOVER, state, CallOptions.DEFAULT.withRank(target)
                    .withTimeout(options.callTimeout())).close();
        } catch (BatonException e) {
            // A candidate that is leaving too (its accumulators closed first) is no news in an orderly shutdown.
            boolean leaving = switch (e.code()) {
                case NO_SUCH_RANK, NO_SUCH_SERVER, NO_SUCH_SERVICE, CLOSED -> true;
                default -> false;
            };
            LOG.log(leaving ? System.Logger.Level.DEBUG : System.Logger.Level.WARNING,
                    "rank {0} could not hand the accumulator server over to rank {1}: {2}", node.rank(), target,
                    e.getMessage());
            s.unfreeze();
            return false;
        }
        stats.handOvers.increment();
        LOG.log(System.Logger.Level.INFO, "rank {0} handed the accumulator server over to rank {1}", node.rank(), target);
        noElectionSet = true;
        noElectionUntilNs = System.nanoTime() + HAND_OVER_GRACE_NS;
        stopHosting();
        return true;
    }

    private void stopHosting() {
        Server reg = registration;
        hosted = null;
        registration = null;
        if (reg != null) {
            reg.close();
        }
    }

    /**
     * Closing, after the flush thread ended: hands the server over to the best other node if this node hosts
     * it, or else closes it without a successor. Blocks for up to one call timeout per candidate.
     */
    @Override
    public void onClose() {
        AccumulatorServer s = hosted;
        if (s == null) {
            return;
        }
        boolean handedOver = false;
        if (!flushingStopped.getAsBoolean() && !Flusher.nodeClosed(node)) {
            for (int target : s.successorRanks()) {
                if (handOver(target)) {
                    handedOver = true;
                    break;
                }
            }
        }
        if (!handedOver && hosted != null) {
            LOG.log(System.Logger.Level.INFO, "rank {0} closes the accumulator server without a successor",
                    node.rank());
            hosted.freezeAndSnapshot();
            stopHosting();
        }
    }
}
