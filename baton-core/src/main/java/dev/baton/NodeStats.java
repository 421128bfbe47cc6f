package dev.baton;

/**
 * Counters of one node since it started. A snapshot; call {@link Node#stats()} again for fresh numbers.
 *
 * @param callsStarted       calls made by this node's clients
 * @param callsSucceeded     of those, completed with a response
 * @param callsFailed        of those, completed with an error (any code, including cancelled)
 * @param localCalls         calls delivered in process, without a socket
 * @param requestsHandled    requests received by this node's servers (local and remote)
 * @param lateResponses      responses dropped because their call had already completed
 * @param connectionsOpened  connections that completed a handshake, both directions
 * @param openConnections    connections open now
 * @param protocolErrors     connections closed because the peer broke the protocol
 * @param bufferAllocations  pooled buffers allocated (pool misses)
 */
public record NodeStats(long callsStarted, long callsSucceeded, long callsFailed, long localCalls,
                        long requestsHandled, long lateResponses, long connectionsOpened, int openConnections,
                        long protocolErrors, long bufferAllocations) {
}
