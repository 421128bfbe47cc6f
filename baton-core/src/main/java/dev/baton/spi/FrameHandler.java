package dev.baton.spi;

import dev.baton.BatonException;
import dev.baton.Message;

/**
 * The runtime's side of a transport: receives frames and connection events. Called on transport threads;
 * implementations must not block.
 */
public interface FrameHandler {

    /**
     * The peer's opening was read (and its cluster secret proved): why {@code connection} must not open, or null.
     * A refused connection closes UNAUTHENTICATED with that reason before any frame is sent or delivered on it, and
     * the accepting side logs it like a failed secret. {@code peer} is what the opening says; the connection's
     * {@link TransportConnection#peerPrincipal()} is known, its {@link TransportConnection#remoteIdentity()} not yet.
     */
    default String refusal(TransportConnection connection, PeerIdentity peer) {
        return null;
    }

    /** The handshake completed; {@link TransportConnection#remoteIdentity()} is set. */
    void onOpen(TransportConnection connection);

    /**
     * A frame arrived. {@code header} is valid only during this call; {@code payload} now belongs to the
     * handler, which closes it when done. Baton's own transports lend it instead (see {@link Message}), and
     * Baton's own handlers give it back to the pool themselves; a lent payload that is never given back is
     * simply left to the garbage collector.
     */
    void onFrame(TransportConnection connection, InboundHeader header, Message payload);

    /**
     * The connection closed or broke. Called once, from the transport's task queue (never inside the call
     * that noticed, so never under a sender's locks). Frames not yet written are dropped
     * ({@link OutboundFrame#onDropped}) and frames whose bytes reached the socket reported
     * {@link OutboundFrame#onWritten written}, before or after this call: handlers must not depend on the
     * order.
     */
    void onClose(TransportConnection connection, BatonException cause);
}
