package dev.baton.internal.rpc;

import dev.baton.BatonException;
import dev.baton.Caller;
import dev.baton.CallOptions;
import dev.baton.Message;
import dev.baton.Metadata;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.spi.FrameHandler;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.MessageAccess;
import dev.baton.spi.ObjectPool;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.TransportConnection;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What arrives: the transport's {@link FrameHandler}, called on I/O threads (or on a caller polling its
 * connection). Responses complete their calls; requests are admitted against the connection's limit, turned
 * into {@link ServerCallImpl}s and handed to the local server they name; CANCEL and GOAWAY go to the call and
 * the peer table. Also serves in-process calls ({@link #serveInProcess}), and is the {@link ServingHost} of
 * every served call.
 *
 * <h2>Admission</h2>
 * A request beyond {@code maxConcurrentRequestsPerConnection} in progress on its connection is refused at once
 * with RESOURCE_EXHAUSTED (retry-safe, {@link FrameType#FLAG_REFUSED}), however many arrive: the connection and
 * the requests it already carries are never affected. (A Baton caller never sends that many: the handshake told
 * it the limit. A peer that keeps sending and does not read the refusals is disconnected by the transport.)
 */
final class InboundDispatcher implements FrameHandler, ServingHost {

    private static final MessageAccess MESSAGES = MessageAccess.get();
    /** Service id 0, which no user service has: tools' requests to the node itself. */
    private static final int TOOL_SERVICE_ID = 0;

    private final NodeRuntime node;
    private final PeerTable peers;
    private final LocalServers servers;
    private final NodeCounters counters;
    private final DeadlineTimer timer;
    private final int maxConcurrentRequests;
    private final int maxMessageSize;
    /** Requests being served (queued, running or answering): what the node's close waits for. */
    private final AtomicInteger serving = new AtomicInteger();
    private final ObjectPool<ServerCallImpl> serverCallPool = new ObjectPool<>(4096);

    InboundDispatcher(NodeRuntime node, PeerTable peers, LocalServers servers, NodeCounters counters, DeadlineTimer timer) {
        this.node = node;
        this.peers = peers;
        this.servers = servers;
        this.counters = counters;
        this.timer = timer;
        this.maxConcurrentRequests = node.options().maxConcurrentRequestsPerConnection();
        this.maxMessageSize = node.options().maxMessageSize();
    }

    int serving() {
        return serving.get();
    }

    // ================================================================== FrameHandler

    @Override
    public String refusal(TransportConnection c, PeerIdentity peer) {
        return peers.refusal(c, peer);
    }

    @Override
    public void onOpen(TransportConnection c) {
        peers.connectionOpened(c);
    }

    @Override
    public void onFrame(TransportConnection c, InboundHeader h, Message payload) {
        ConnState cs = ConnState.of(c);
        switch (h.type()) {
            case FrameType.RESPONSE -> onResponse(cs, h, payload);
            case FrameType.REQUEST -> onRequest(cs, h, payload);
            case FrameType.CANCEL -> {
                MESSAGES.release(payload);
                cs.cancelServed(h.requestId());
            }
            case FrameType.STREAM_DATA, FrameType.STREAM_CREDIT -> onStreamFrame(cs, h, payload);
            case FrameType.GOAWAY -> {
                MESSAGES.release(payload);
                peers.goAwayReceived(cs, (h.flags() & FrameType.FLAG_CONNECTION_ONLY) != 0);
            }
            default -> MESSAGES.release(payload);
        }
    }

    /**
     * A stream's message or credit: to the stream this node serves ({@link FrameType#FLAG_TO_SERVER}) or the one it
     * opened, by request id. A frame for a stream that is not open (it ended meanwhile) is dropped and counted late.
     */
    private void onStreamFrame(ConnState cs, InboundHeader h, Message payload) {
        boolean toServer = (h.flags() & FrameType.FLAG_TO_SERVER) != 0;
        boolean data = h.type() == FrameType.STREAM_DATA;
        boolean halfClose = data && (h.flags() & FrameType.FLAG_HALF_CLOSE) != 0;     // carries no message
        if (halfClose) {
            MESSAGES.release(payload);
            payload = null;
        }
        StreamEnd s = toServer ? cs.servedStreams.get(h.requestId()) : cs.clientStreams.get(h.requestId());
        if (s == null) {
            counters.lateResponse();
        } else if (data) {
            s.onData(payload == null ? null : MESSAGES.own(payload), halfClose);
            return;
        } else {
            s.flow().onCredit(h.timeoutNs());
        }
        if (payload != null) {
            MESSAGES.release(payload);
        }
    }

    /** While it completes the call, this thread calls on the lane the response came on (see {@link ThreadLanes}). */
    private void onResponse(ConnState cs, InboundHeader h, Message payload) {
        ThreadLanes lanes = peers.threadLanes();
        int lane = cs.lane();
        if (lanes == null || lane < 0) {
            complete(cs, h, payload);
            return;
        }
        int previous = lanes.inherit(lane);
        try {
            complete(cs, h, payload);
        } finally {
            lanes.restore(previous);
        }
    }

    private void complete(ConnState cs, InboundHeader h, Message payload) {
        PendingCall call = cs.takeForResponse(h.requestId());
        if (call == null) {
            counters.lateResponse();
            MESSAGES.release(payload);
            return;
        }
        try {
            Metadata metadata = h.metadata();
            if (h.status() == 0) {
                call.complete(metadata == null ? payload : MESSAGES.withMetadata(payload, metadata));
                return;
            }
            String why = StandardCharsets.UTF_8.decode(payload.buffer()).toString();
            MESSAGES.release(payload);
            Status status = Status.of(Status.Code.of(h.status()), why);
            if (metadata != null) {
                status = status.withMetadata(metadata);
            }
            if ((h.flags() & FrameType.FLAG_REFUSED) != 0) {
                call.onRefused(status.withRetrySafe(true));     // the server says it did not run
            } else {
                call.fail(status);
            }
        } finally {
            call.release();
        }
    }

    private void onRequest(ConnState cs, InboundHeader h, Message payload) {
        if (h.serviceId() == TOOL_SERVICE_ID) {
            node.toolRequests().onRequest(node, cs.connection, h, payload);
            return;
        }
        counters.requestReceived();
        long timeoutNs = h.timeoutNs();
        long deadline = timeoutNs > 0 ? h.receivedNanos() + timeoutNs : Long.MAX_VALUE;     // one clock read per read
        boolean oneWay = (h.flags() & FrameType.FLAG_ONE_WAY) != 0;
        PeerIdentity id = cs.connection.remoteIdentity();
        int sourceRank = id == null ? -1 : id.rank();
        boolean admitted = cs.inProgress.incrementAndGet() <= maxConcurrentRequests;
        if (admitted) {
            serving.incrementAndGet();      // until its slot goes
        } else {
            cs.inProgress.decrementAndGet();
        }
        ServerCallImpl sc = serverCall().init(cs, null, payload, h.metadata(), h.serviceId(), h.serverId(),
                h.method(), h.requestId(), sourceRank, oneWay, deadline, admitted);
        if (h.responseEncoding() != 0) {
            sc.compressResponse(h.responseEncoding());
        }
        if ((h.flags() & FrameType.FLAG_STREAM) != 0) {
            sc.opensStream(true);
        }
        if (!admitted) {
            counters.requestRefused();
            sc.refuse(Status.of(Status.Code.RESOURCE_EXHAUSTED, "more than " + maxConcurrentRequests
                    + " requests in progress on this connection"));
            sc.release();       // the dispatcher's reference: no handler will run
            return;
        }
        if (!oneWay) {
            cs.serving.put(h.requestId(), sc);
        }
        dispatch(sc);
    }

    /**
     * Serves an in-process call: the request is the caller's buffer, lent to the handler without a copy, and
     * the answer completes the caller's call directly.
     */
    void serveInProcess(PendingCall call, ServerInfo target, int selfRank) {
        counters.requestReceived();
        call.retain();      // the server call's, until it is recycled
        serving.incrementAndGet();
        CallOptions o = call.options();
        ServerCallImpl sc = serverCall().init(null, call, MESSAGES.lend(call.request(), null),
                o.hasMetadata() ? o.metadata() : null, target.serviceId(), target.serverId(), call.method(),
                call.requestId(), selfRank, call.oneWay(), call.deadlineNanos(), true);
        dispatch(sc);
        if (call.oneWay()) {
            call.complete(Message.empty());
        }
    }

    /**
     * Hands a request to the local server it names. The dispatcher's reference covers the hand-off; whatever
     * keeps the call longer (an executor, a dealer queue) takes its own. A call still unanswered when the
     * hand-off returns has its deadline watched from then on.
     */
    private void dispatch(ServerCallImpl sc) {
        try {
            servers.dispatch(sc);
            if (!sc.isAnswered()) {
                sc.watchDeadline();
            }
        } finally {
            sc.release();
        }
    }

    /** A served-call record, which goes back to this thread's pool stripe when the call is recycled. */
    private ServerCallImpl serverCall() {
        ServerCallImpl sc = serverCallPool.poll();
        if (sc == null) {
            sc = new ServerCallImpl(this);
        }
        sc.poolStripe(serverCallPool.homeStripe());
        return sc;
    }

    @Override
    public void onClose(TransportConnection c, BatonException cause) {
        ConnState cs = ConnState.of(c);
        if (cs == null) {
            return;
        }
        peers.connectionClosed(cs);
        Status why = node.isClosed() ? Status.of(Status.Code.CLOSED, "node closed") : cause.status();
        // Written calls may have run: they fail (or, idempotent, move). Unwritten ones are dropped by the transport
        // next, and re-routed. Only calls taken out of the table are ours to handle (onWritten may race us).
        for (PendingCall call : cs.takeWritten()) {
            try {
                call.onConnectionLost(why);
            } finally {
                call.release();
            }
        }
        cs.cancelAllServed();
    }

    // ================================================================== ServingHost

    @Override
    public int maxMessageSize() {
        return maxMessageSize;
    }

    @Override
    public DeadlineTimer timer() {
        return timer;
    }

    @Override
    public Caller localCaller() {
        return node.localCaller();
    }

    @Override
    public void recycle(ServerCallImpl call) {
        serverCallPool.offer(call, call.poolStripe());
    }

    @Override
    public void servingEnded() {
        serving.decrementAndGet();
    }
}
