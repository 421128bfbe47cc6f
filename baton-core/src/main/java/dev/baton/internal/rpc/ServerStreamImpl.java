package dev.baton.internal.rpc;

import dev.baton.Message;
import dev.baton.Metadata;
import dev.baton.ServerCall;
import dev.baton.ServerStream;
import dev.baton.Status;
import dev.baton.spi.MessageAccess;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * The handler's side of a stream: the served call that opened it ({@link ServerCallImpl}, which holds the request's
 * slot, deadline, cancellation and interceptors' observers) plus a {@link StreamFlow}. Registered in the connection's
 * {@link ConnState#servedStreams} from the moment the opening request is dispatched (on the I/O thread, before any
 * of the caller's messages can be read) until the handler ends the stream by answering the call.
 */
final class ServerStreamImpl implements ServerStream, StreamEnd {

    private static final MessageAccess MESSAGES = MessageAccess.get();
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final ServerCallImpl call;
    private final StreamFlow flow;
    private final ConnState connection;     // null in process
    private final long requestId;
    private volatile Metadata trailers;

    private ServerStreamImpl(ServerCallImpl call) {
        this.call = call;
        this.connection = call.connState();
        this.requestId = call.requestId();
        this.flow = new StreamFlow(call.deadlineNanos(), () -> call.isCancelled() ? (System.nanoTime()
                - call.deadlineNanos() >= 0 ? Status.of(Status.Code.DEADLINE_EXCEEDED, "the stream's deadline passed")
                : Status.of(Status.Code.CANCELLED, "the caller cancelled the stream")) : null);
    }

    /**
     * Opens the server's side of {@code call}'s stream and links it to the caller's (on the dispatching thread): over
     * the connection the request came on, or to the in-process caller's side.
     */
    static ServerStreamImpl open(ServerCallImpl call) {
        ServerStreamImpl s = new ServerStreamImpl(call);
        ConnState cs = s.connection;
        if (cs != null) {
            s.flow.link(StreamLinks.remote(cs.connection, s.requestId, call.server().serviceId(),
                    call.server().serverId(), call.method(), false));
            cs.servedStreams.put(s.requestId, s);
        } else {
            ClientStreamImpl caller = call.localStream();
            s.flow.link(StreamLinks.local(caller.flow(), false));
            caller.attachLocal(s.flow);
        }
        return s;
    }

    @Override
    public StreamFlow flow() {
        return flow;
    }

    /** A message from the caller arrived on the connection (the flow owns it from here). */
    @Override
    public void onData(Message m, boolean halfClose) {
        if (m != null && !flow.onMessage(m)) {
            return;
        }
        if (halfClose) {
            flow.onPeerFinished();
        }
    }

    /** The handler returned: the stream ends successfully, after every message it sent. */
    void end() {
        Metadata t = trailers;
        if (t != null) {
            call.responseMetadata(t);
        }
        close(null);
        call.reply(EMPTY);
    }

    /** The handler failed: the stream ends with {@code status}. */
    void end(Status status) {
        Metadata t = trailers;
        if (t != null) {
            call.responseMetadata(t);
        }
        close(status);
        call.failFromHandler(status);
    }

    private void close(Status status) {
        if (connection != null) {
            connection.servedStreams.remove(requestId, this);
        }
        // Messages the handler never took go back to the pool; the caller learns the end from the answer.
        flow.fail(status != null ? status : Status.of(Status.Code.CLOSED, "the stream ended"));
    }

    @Override
    public ServerCall call() {
        return call;
    }

    @Override
    public void trailers(Metadata trailers) {
        this.trailers = Objects.requireNonNull(trailers, "trailers");
    }

    @Override
    public void send(ByteBuffer message) {
        flow.send(message);
    }

    @Override
    public Message receive() {
        Message m = flow.receive();
        return m == null ? null : MESSAGES.own(m);
    }

    @Override
    public Metadata metadata() {
        return call.metadata();
    }

    @Override
    public long deadlineNanos() {
        return call.deadlineNanos();
    }

    @Override
    public String toString() {
        return "ServerStream[" + requestId + "]";
    }
}
