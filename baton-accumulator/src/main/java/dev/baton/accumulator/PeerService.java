package dev.baton.accumulator;

import dev.baton.Node;
import dev.baton.Server;
import dev.baton.ServerCall;
import dev.baton.Status;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The peer service: this node's server of {@link Protocol#PEER_SERVICE}, through which the accumulator server
 * reaches its clients, and its {@link Duty} on the flush thread.
 *
 * <ul>
 *   <li>NOTIFY (the server reset or erased names): applied at once, on the handler's thread, under the flush
 *       rounds' lock ({@link FlushRounds#forget}), before the reply, so the server's call returns only once
 *       this node has forgotten its contribution.</li>
 *   <li>TAKEOVER (a server hands its state to this node): refused when this node cannot host or is closing;
 *       else the state is posted to an inbox and the call answered. The duty takes it from the inbox on the
 *       flush thread and gives it to {@link ServerHosting#adopt}, which registers as the server.</li>
 * </ul>
 *
 * <h2>Threads and lifecycle</h2>
 * Handlers run on the node's handler executor (they are blocking handlers); {@link #doWork} on the flush
 * thread. The registration belongs to the {@link Accumulators}, not to the thread: {@link #register()} at
 * attach, {@link #close()} last when closing, whether or not the flush thread ended.
 */
final class PeerService implements Duty, AutoCloseable {

    private final Node node;
    private final AccumulatorOptions options;
    private final int priority;
    private final FlushRounds rounds;
    private final ServerHosting hosting;
    private final ServerWatch watch;
    private final DutyRunner runner;
    /** The latest TAKEOVER not yet given to the hosting (a newer one replaces it). */
    private final AtomicReference<ServerHosting.Takeover> inbox = new AtomicReference<>();
    private Server registration;

    PeerService(Node node, AccumulatorOptions options, int priority, FlushRounds rounds, ServerHosting hosting,
                ServerWatch watch, DutyRunner runner) {
        this.node = node;
        this.options = options;
        this.priority = priority;
        this.rounds = rounds;
        this.hosting = hosting;
        this.watch = watch;
        this.runner = runner;
    }

    @Override
    public String roleName() {
        return "peer service";
    }

    /** Registers the peer server with the master. Throws {@link dev.baton.BatonException} if that fails. */
    void register() {
        registration = node.newServer(Protocol.PEER_SERVICE)
                .blocking(Protocol.NOTIFY, this::onNotify)
                .blocking(Protocol.TAKEOVER, this::onTakeover)
                .start();
    }

    /** Deregisters the peer server (if registered). Idempotent. */
    @Override
    public void close() {
        Server reg = registration;
        registration = null;
        if (reg != null) {
            reg.close();
        }
    }

    // ------------------------------------------------------------------ the duty

    @Override
    public int doWork(long nowNs) {
        ServerHosting.Takeover t = inbox.getAndSet(null);
        if (t == null) {
            return 0;
        }
        hosting.adopt(t);
        return 1;
    }

    @Override
    public long idleLimitNs(long nowNs) {
        return inbox.get() == null ? Long.MAX_VALUE : 0;
    }

    // ------------------------------------------------------------------ handlers

    /** NOTIFY: the server reset or erased names; forget this node's contribution to them. */
    private void onNotify(ServerCall call) {
        Wire.In in = Wire.in(call.request().buffer());
        int n = in.getInt();
        List<FlushRounds.Forget> notices = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            notices.add(new FlushRounds.Forget(in.getString(), in.getLong(), in.getBoolean()));
        }
        rounds.forget(notices);
        call.reply(ByteBuffer.allocate(0));
    }

    /** TAKEOVER: the server is handing its state to this node; register as the server and continue it. */
    private void onTakeover(ServerCall call) {
        if (runner.isStopping() || priority == 0) {
            call.fail(Status.of(Status.Code.UNAVAILABLE, "rank " + node.rank() + " cannot host the accumulator server"));
            return;
        }
        Wire.In in = Wire.in(call.request().buffer());
        int from = in.getInt();
        ByteBuffer state = ByteBuffer.wrap(call.request().toByteArray(), 4, call.request().size() - 4).slice();
        inbox.set(new ServerHosting.Takeover(state, from, System.nanoTime() + options.callTimeout().toNanos(),
                watch.serverEvents()));
        watch.markMoved();
        call.reply(ByteBuffer.allocate(0));
    }
}
