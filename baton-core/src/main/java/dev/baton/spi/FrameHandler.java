package dev.baton.spi;

import dev.baton.BatonException;
import dev.baton.Message;

/**
 * The runtime's side of a transport: receives frames and connection events. Called on transport threads;
 * implementations must not block.
 */
public interface FrameHandler {

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
