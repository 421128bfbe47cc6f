package dev.baton;

import java.util.EnumMap;
import java.util.Map;

/**
 * Counters of one node since it started, and what it holds now. A snapshot; call {@link Node#stats()} again for
 * fresh numbers.
 *
 * @param callsStarted          calls made by this node's clients
 * @param callsSucceeded        of those, completed with a response
 * @param callsFailed           of those, completed with an error (any code, including cancelled)
 * @param localCalls            attempts delivered in process, without a socket
 * @param requestsReceived      requests that arrived for this node's servers (remote and in process)
 * @param requestsHandled       of those, handed to a handler or taken by a dealer
 * @param requestsRefused       of those, refused before any handler saw them (no such service, server or method, a
 *                              limit reached, a closed server): the caller got a retry-safe error
 * @param lateResponses         responses dropped because their call had already completed
 * @param connectionsOpened     data connections that completed a handshake since start, both directions
 * @param openConnections       data connections open now (to and from other nodes)
 * @param controlConnections    connections to the registry open now (the master connection: 1 while connected)
 * @param pendingHandshakes     accepted data connections still in their handshake
 * @param refusedConnections    accepted connections closed at once: too many were in their handshake
 * @param protocolErrors        connections closed because the peer broke the protocol or stopped reading
 * @param queuedBytes           payload bytes queued on data connections, not yet written
 * @param connectionBufferBytes read and send buffers the data connections hold now (an idle connection holds none)
 * @param pooledBufferBytes     buffers idle in the node's pool, kept for reuse
 * @param receiveBytesReserved  bytes held by large frames arriving now (bounded by the receive budget)
 * @param bufferAllocations     pooled buffers allocated since start (pool misses)
 * @param pathsByRank           how this node reaches each node it has a data connection open to, by rank, in rank
 *                              order: {@code "tcp"}, or {@code "shm"} for shared memory (see
 *                              {@link dev.baton.spi.Transport#pathOf})
 * @param bytesReceived         bytes read from data connections since start (frames, headers and pings; bodies
 *                              carried beside a shared-memory ring included)
 * @param bytesSent             bytes written to data connections since start (the same)
 * @param reroutes              call attempts sent again to another server (failover: the first attempt never ran,
 *                              was refused, or was idempotent and lost its connection)
 * @param failuresByCode        {@code callsFailed} by status code (codes with no failure left out)
 * @param callLatency           how long calls took, from start to outcome (successes and failures), measured on one
 *                              call in 16 (by request id) so that measuring costs the call path nothing
 */
public record NodeStats(long callsStarted, long callsSucceeded, long callsFailed, long localCalls,
                        long requestsReceived, long requestsHandled, long requestsRefused, long lateResponses,
                        long connectionsOpened, int openConnections, int controlConnections, int pendingHandshakes,
                        long refusedConnections, long protocolErrors, long queuedBytes, long connectionBufferBytes,
                        long pooledBufferBytes, long receiveBytesReserved, long bufferAllocations,
                        java.util.SortedMap<Integer, String> pathsByRank, long bytesReceived, long bytesSent,
                        long reroutes, Map<Status.Code, Long> failuresByCode,
                        LatencyHistogram callLatency) {

    public NodeStats {
        pathsByRank = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(pathsByRank));
        Map<Status.Code, Long> f = new EnumMap<>(Status.Code.class);
        f.putAll(failuresByCode);
        failuresByCode = java.util.Collections.unmodifiableMap(f);
        java.util.Objects.requireNonNull(callLatency, "callLatency");
    }
}
