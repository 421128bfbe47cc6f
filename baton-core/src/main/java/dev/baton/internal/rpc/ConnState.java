package dev.baton.internal.rpc;

import dev.baton.spi.TransportConnection;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the runtime keeps per connection: calls sent on it that await a response (by request id), and
 * requests received on it that are being served (for CANCEL and the concurrency limit).
 */
final class ConnState {

    final TransportConnection connection;
    /** The peer whose FrontEnd owns (or adopted) this connection; null for an inbound one it did not adopt. */
    volatile Peer peer;
    final LongMap<PendingCall> pending = new LongMap<>();
    final LongMap<ServerCallImpl> serving = new LongMap<>();
    final AtomicInteger inProgress = new AtomicInteger();
    volatile boolean goingAway;
    /** Set once a close-when-idle check runs for this connection (GOAWAY, the peer left). */
    final java.util.concurrent.atomic.AtomicBoolean closeScheduled = new java.util.concurrent.atomic.AtomicBoolean();

    ConnState(TransportConnection connection, Peer peer) {
        this.connection = connection;
        this.peer = peer;
    }

    static ConnState of(TransportConnection c) {
        return (ConnState) c.attachment();
    }
}
