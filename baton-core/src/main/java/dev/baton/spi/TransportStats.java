package dev.baton.spi;

/**
 * Counters of one transport since it started.
 *
 * @param connectionsOpened connections that completed a handshake, both directions
 * @param openConnections   connections open now
 * @param protocolErrors    connections closed because the peer broke the protocol
 * @param bufferAllocations receive buffers newly allocated (misses of the transport's buffer pool)
 */
public record TransportStats(long connectionsOpened, int openConnections, long protocolErrors, long bufferAllocations) {
}
