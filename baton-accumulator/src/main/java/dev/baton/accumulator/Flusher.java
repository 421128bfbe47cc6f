package dev.baton.accumulator;

import dev.baton.BatonException;
import dev.baton.Node;
import dev.baton.Status;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * A node's background side of its {@link Accumulators}: three duties on ONE daemon thread,
 * {@code baton-accumulator-flush-<rank>}, driven by a {@link DutyRunner}, each cycle in this order:
 * <ol>
 *   <li>{@link PeerService}: gives a server state handed to this node (TAKEOVER) to the hosting;</li>
 *   <li>{@link ServerHosting}: election, hosting the server, handing it over;</li>
 *   <li>{@link FlushRounds}: pushing this node's writes in batches, rebuilding a new server, the tickets of
 *       {@link Accumulators#awaitFlushed}.</li>
 * </ol>
 * The thread parks when a cycle did nothing, until the earliest time one of them has work or something wakes
 * it: a writer that crossed {@code flushEvery}, {@link #wake()}, a membership change ({@link ServerWatch}), a
 * TAKEOVER, or the server asking for a hand-over. The peer service's handlers run on the node's handler
 * executor; callers of {@link #awaitFlushed} wait on their own threads.
 *
 * <h2>Failures</h2>
 * A {@link RuntimeException} on the thread (a bug, or a custom aggregator that threw) is reported to the
 * error handler and delays the next round by the rounds' backoff; an {@link Error} stops the accumulators
 * (waiters get CLOSED) and ends the thread.
 *
 * <h2>Lifecycle</h2>
 * {@link #start()} registers the peer server and the membership listener and starts the thread, or undoes
 * what it did and throws. {@link #close} flushes, stops the thread, hands the server over (on the closing
 * thread, once the flush thread has ended), and deregisters.
 */
final class Flusher {

    private static final System.Logger LOG = System.getLogger(Flusher.class.getName());

    private final Accumulators owner;
    private final Node node;
    private final AccumulatorOptions options;
    private final Stats stats = new Stats();
    private final DutyRunner runner;
    private final ServerWatch watch;
    private final FlushRounds rounds;
    private final ServerHosting hosting;
    private final PeerService peerService;

    /** Counters; see {@link AccumulatorStats}. */
    static final class Stats {
        final LongAdder batches = new LongAdder();
        final LongAdder entries = new LongAdder();
        final LongAdder bytes = new LongAdder();
        final LongAdder acked = new LongAdder();
        final LongAdder rebuilds = new LongAdder();
        final LongAdder failures = new LongAdder();
        final LongAdder errors = new LongAdder();
        final LongAdder elections = new LongAdder();
        final LongAdder handOvers = new LongAdder();
    }

    Flusher(Accumulators owner) {
        this.owner = owner;
        this.node = owner.node();
        this.options = owner.options();
        int priority = priority(options, node.rank());
        this.runner = new DutyRunner("baton-accumulator-flush-" + node.rank(), this::onLoopException,
                this::onLoopError);
        this.watch = new ServerWatch(node, runner);
        this.rounds = new FlushRounds(owner, priority, stats, watch, runner, this::report);
        this.hosting = new ServerHosting(node, options, priority, stats, watch, runner, rounds::isTerminated);
        this.peerService = new PeerService(node, options, priority, rounds, hosting, watch, runner);
    }

    /**
     * Priority as a server host: 3 asked for it, 2 rank 0 by default, 1 any other eligible node, 0 never. Sent
     * in every batch, so that a server can hand itself over to a better host.
     */
    static int priority(AccumulatorOptions options, int rank) {
        return switch (options.serverPlacement()) {
            case PREFER -> 3;
            case NEVER -> 0;
            case DEFAULT -> rank == 0 ? 2 : 1;
        };
    }

    /** True once the node is closed (the API has no direct question for it: {@code newServer} refuses). */
    static boolean nodeClosed(Node node) {
        try {
            node.newServer(Protocol.PEER_SERVICE);
            return false;
        } catch (BatonException e) {
            return e.code() == Status.Code.CLOSED;
        }
    }

    /**
     * Registers the peer server and the membership listener, and starts the flush thread. Throws
     * {@link BatonException} if the registration fails, having undone what it did. Once.
     */
    void start() {
        try {
            peerService.register();
            node.addMembershipListener(watch);
            runner.start(List.of(peerService, hosting, rounds));
        } catch (RuntimeException e) {
            node.removeMembershipListener(watch);
            peerService.close();
            throw e;
        }
    }

    Stats stats() {
        return stats;
    }

    boolean isHosting() {
        return hosting.isHosting();
    }

    /** Asks for a round now. Cheap when a round is already requested; never blocks. */
    void wake() {
        rounds.requestRound();
    }

    /** See {@link FlushRounds#awaitFlushed}. */
    void awaitFlushed(Duration timeout) {
        rounds.awaitFlushed(timeout);
    }

    void report(BatonException e) {
        stats.errors.increment();
        owner.reportError(e);
    }

    private void onLoopException(RuntimeException e) {
        // A bug, or user code (a custom aggregator) that threw: report it, keep flushing.
        report(e instanceof BatonException b ? b
                : Status.of(Status.Code.INTERNAL, "accumulator flusher: " + e).withCause(e).asException());
        rounds.backoff();
    }

    private void onLoopError(Error e) {
        rounds.terminate(Status.of(Status.Code.INTERNAL, "accumulator flusher died: " + e).withCause(e).asException());
    }

    /**
     * Flushes (up to {@code timeout}), stops the thread, hands the server over to the best other node if this
     * node hosts it, and deregisters the membership listener and the peer server. Called once.
     */
    void close(Duration timeout) {
        try {
            rounds.finalFlush(timeout);
            // The thread may be in a call: give it that call's timeout on top.
            Duration join = Duration.ofMillis(Math.max(1, timeout.toMillis()) + options.callTimeout().toMillis());
            if (!runner.close(join)) {
                // Stuck in a call: the hosting state is still its own. It ends after that call (it is stopping).
                LOG.log(System.Logger.Level.WARNING, "the accumulator flusher of rank {0} did not stop in time; "
                        + "closing without a hand-over", node.rank());
            }
            rounds.markClosed();
        } finally {
            node.removeMembershipListener(watch);
            try {
                peerService.close();
            } catch (BatonException e) {
                LOG.log(System.Logger.Level.DEBUG, "could not deregister the accumulator peer server: {0}", e.getMessage());
            }
        }
    }
}
