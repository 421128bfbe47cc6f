package dev.baton.tracker.internal;

import dev.baton.MembershipEvent;
import dev.baton.MembershipListener;
import dev.baton.Node;
import dev.baton.Server;
import dev.baton.ServerCall;
import dev.baton.Status;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * The {@code baton.tracker} service on one node, in front of one tracker loop: every handler is async, parses its
 * request on the thread that received it, and posts the work to the loop thread, which owns all tracker state and
 * completes the call's stage (at once, or for REQUEST when a server is granted). Membership events of the node
 * reach the loop the same way. Thread-safe.
 */
public final class NativeService implements AutoCloseable {

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final Node node;
    private final TrackerLoop loop;
    private final MembershipListener listener = this::onMembership;
    private final Server server;

    private NativeService(Node node, TrackerLoop loop) {
        this.node = node;
        this.loop = loop;
        node.addMembershipListener(listener);
        try {
            this.server = node.newServer(NativeWire.SERVICE)
                    // A waiting REQUEST whose call ends unanswered (cancelled by its caller, its connection closed,
                    // its deadline passed) leaves the queue at once; the loop's tick is the backstop.
                    .intercept(call -> call.method() != NativeWire.REQUEST ? null : (status, metadata) -> {
                        if (!status.isOk()) {
                            loop.post(n -> n.cancelled(call));
                        }
                    })
                    .async(NativeWire.REGISTER, this::register)
                    .async(NativeWire.UNREGISTER, this::unregister)
                    .async(NativeWire.REQUEST, this::request)
                    .async(NativeWire.RELEASE, this::release)
                    .async(NativeWire.SUMMARY, this::summary)
                    .start();
        } catch (RuntimeException e) {
            node.removeMembershipListener(listener);
            throw e;
        }
    }

    /** Serves the service on {@code node} for the tracker run by {@code loop}. Throws BatonException if it cannot. */
    public static NativeService serve(Node node, TrackerLoop loop) {
        return new NativeService(node, loop);
    }

    public Server server() {
        return server;
    }

    private CompletionStage<ByteBuffer> register(ServerCall call) {
        NativeWire.Reader r = new NativeWire.Reader(call.request().buffer(), "REGISTER");
        String key = r.name("key");
        String service = r.name("service");
        int serverId = r.i32();
        byte[] secret = r.bytes();
        r.end();
        if (serverId < 0 || secret.length > NativeWire.MAX_SECRET_BYTES) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "tracker REGISTER: a server id of " + serverId
                    + " or a guard secret of " + secret.length + " bytes").asException();
        }
        int rank = call.sourceRank();
        // A node registers its own servers only. A server this node's view does not know yet (its ServerAdded
        // is still on the way) is taken on the caller's word.
        for (dev.baton.ServerInfo s : node.membership().servers(service)) {
            if (s.serverId() == serverId && s.rank() != rank) {
                throw Status.of(Status.Code.PERMISSION_DENIED, "tracker REGISTER: " + service + " server " + serverId
                        + " is hosted by rank " + s.rank() + ", not by the caller, rank " + rank).asException();
            }
        }
        return onLoop(n -> new NativeWire.Writer().i64(n.register(rank, key, service, serverId, secret)).done());
    }

    private CompletionStage<ByteBuffer> unregister(ServerCall call) {
        NativeWire.Reader r = new NativeWire.Reader(call.request().buffer(), "UNREGISTER");
        long id = r.i64();
        r.end();
        int rank = call.sourceRank();
        return onLoop(n -> {
            n.unregister(rank, id);
            return EMPTY;
        });
    }

    private CompletionStage<ByteBuffer> request(ServerCall call) {
        NativeWire.Reader r = new NativeWire.Reader(call.request().buffer(), "REQUEST");
        String key = r.name("key");
        int priority = r.i32();
        long limitMs = r.i64();
        r.end();
        int rank = call.sourceRank();
        CompletableFuture<ByteBuffer> answer = new CompletableFuture<>();
        post(answer, n -> n.request(call, answer, rank, key, priority, limitMs));
        return answer;
    }

    private CompletionStage<ByteBuffer> release(ServerCall call) {
        NativeWire.Reader r = new NativeWire.Reader(call.request().buffer(), "RELEASE");
        long id = r.i64();
        r.end();
        int rank = call.sourceRank();
        return onLoop(n -> {
            n.release(rank, id);
            return EMPTY;
        });
    }

    private CompletionStage<ByteBuffer> summary(ServerCall call) {
        new NativeWire.Reader(call.request().buffer(), "SUMMARY").end();
        CompletableFuture<ByteBuffer> answer = new CompletableFuture<>();
        loop.summary().whenComplete((json, error) -> {
            if (error != null) {
                answer.completeExceptionally(error);
            } else {
                answer.complete(ByteBuffer.wrap(TvmWire.toJson(json).getBytes(StandardCharsets.UTF_8)));
            }
        });
        return answer;
    }

    /** Runs {@code work} on the loop and answers with what it returns (or throws). */
    private CompletionStage<ByteBuffer> onLoop(Function<NativeConductor, ByteBuffer> work) {
        CompletableFuture<ByteBuffer> answer = new CompletableFuture<>();
        post(answer, n -> answer.complete(work.apply(n)));
        return answer;
    }

    /**
     * Posts {@code work}; whatever it throws fails {@code answer} (never the loop). A tracker stopped at this very
     * moment may drop the task: the call then ends at its deadline.
     */
    private void post(CompletableFuture<ByteBuffer> answer, java.util.function.Consumer<NativeConductor> work) {
        boolean posted = loop.post(n -> {
            try {
                work.accept(n);
            } catch (Throwable t) {
                answer.completeExceptionally(t);
            }
        });
        if (!posted) {
            answer.completeExceptionally(Status.of(Status.Code.UNAVAILABLE, "the tracker is stopped").asException());
        }
    }

    private void onMembership(MembershipEvent event, dev.baton.Membership view) {
        switch (event) {
            case MembershipEvent.NodeLeft e -> loop.post(n -> n.onNodeLeft(e.node().rank()));
            case MembershipEvent.ServerRemoved e ->
                    loop.post(n -> n.onServerRemoved(e.server().service(), e.server().serverId()));
            default -> {
            }
        }
    }

    /** Stops serving: the server leaves, and every Baton registration, lease and waiting request is dropped. */
    @Override
    public void close() {
        node.removeMembershipListener(listener);
        server.close();
        loop.post(NativeConductor::reset);
    }
}
