package dev.baton.internal.rpc;

import dev.baton.BatonException;
import dev.baton.ClientStream;
import dev.baton.Message;
import dev.baton.Metadata;
import dev.baton.Status;
import dev.baton.spi.MessageAccess;

import java.nio.ByteBuffer;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The caller's side of a stream. The stream is a call: the REQUEST that opens it (flag STREAM) goes through the
 * ordinary path (interceptors, routing, the peer's limits, the deadline timer, CANCEL, connection loss), and the
 * RESPONSE to it ends the stream. The messages travel beside it as STREAM_DATA frames (or, in process, straight into
 * the server side's {@link StreamFlow}); this object is found by the call's request id in the connection's
 * {@link ConnState#clientStreams}.
 */
final class ClientStreamImpl implements ClientStream, StreamEnd {

    private static final MessageAccess MESSAGES = MessageAccess.get();

    private final StreamFlow flow = new StreamFlow(Long.MAX_VALUE, null);
    private volatile Metadata metadata = Metadata.EMPTY;
    private volatile CompletableFuture<Message> call;
    private volatile Metadata trailers = Metadata.EMPTY;
    private volatile ConnState connection;
    /** The server's side, when the stream is served in process; null otherwise. */
    private volatile StreamFlow localServer;
    private long requestId;

    @Override
    public StreamFlow flow() {
        return flow;
    }

    /** The call went out on {@code cs} under {@code id}: frames for it are found there from now on. */
    void attachRemote(ConnState cs, long id, int serviceId, int serverId, int method) {
        this.requestId = id;
        this.connection = cs;       // volatile, after the id: whoever reads the connection reads the id
        cs.clientStreams.put(id, this);
        flow.link(StreamLinks.remote(cs.connection, id, serviceId, serverId, method, true));
    }

    /** The call is served in process: the two sides' flows talk directly. */
    void attachLocal(StreamFlow server) {
        localServer = server;
        flow.link(StreamLinks.local(server, true));
    }

    /**
     * Follows the opening call (sent with {@code metadata}, as its interceptors left it) to the stream's end; called
     * once, before the user sees the stream.
     */
    void follow(CompletableFuture<Message> opening, Metadata metadata) {
        this.metadata = metadata;
        this.call = opening;
        opening.whenComplete((response, error) -> {
            ConnState cs = connection;
            if (cs != null) {
                cs.clientStreams.remove(requestId, this);
            }
            if (error == null) {
                trailers = response.metadata();
                MESSAGES.release(response);
                flow.onEnded();
            } else {
                Status status = statusOf(error);
                flow.fail(status);
                StreamFlow server = localServer;
                if (server != null) {
                    server.fail(status);    // in process no CANCEL travels: the handler's side learns it here
                }
            }
        });
    }

    private static Status statusOf(Throwable error) {
        Throwable t = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (t instanceof BatonException b) {
            return b.status();
        }
        if (t instanceof CancellationException) {
            return Status.of(Status.Code.CANCELLED, "the stream was cancelled");
        }
        return Status.of(Status.Code.INTERNAL, String.valueOf(t)).withCause(t);
    }

    /**
     * A message arrived on the connection; a flow-control violation ends the stream, and the server is told. (Any
     * failure this side finds on its own, in send or receive, cancels the opening call the same way.)
     */
    @Override
    public void onData(Message m, boolean halfClose) {
        if (m != null && !flow.onMessage(m)) {
            cancel();
            return;
        }
        if (halfClose) {
            flow.onPeerFinished();
        }
    }

    @Override
    public void send(ByteBuffer message) {
        try {
            flow.send(message);
        } catch (BatonException e) {
            cancel();
            throw e;
        }
    }

    @Override
    public Message receive() {
        try {
            Message m = flow.receive();
            if (m == null) {
                return null;
            }
            return MESSAGES.own(m);
        } catch (BatonException e) {
            cancel();
            throw e;
        }
    }

    @Override
    public void halfClose() {
        flow.finish();
    }

    @Override
    public void cancel() {
        CompletableFuture<Message> c = call;
        if (c != null) {
            c.cancel(false);
        }
    }

    @Override
    public boolean isDone() {
        CompletableFuture<Message> c = call;
        return c != null && c.isDone();
    }

    @Override
    public Metadata trailers() {
        return trailers;
    }

    @Override
    public Metadata metadata() {
        return metadata;
    }

    @Override
    public long deadlineNanos() {
        return flow.deadlineNanos();
    }

    @Override
    public void close() {
        cancel();
    }

    @Override
    public String toString() {
        return "ClientStream[" + requestId + (isDone() ? ", done" : "") + "]";
    }
}
