package dev.baton.spi;

/**
 * Counters of one transport since it started, and what it holds now.
 *
 * @param connectionsOpened    connections that completed a handshake, both directions
 * @param openConnections      connections open now (in their handshake or open)
 * @param pendingHandshakes    accepted connections still in their handshake
 * @param refusedConnections   accepted connections closed at once: too many in their handshake
 * @param protocolErrors       connections closed because the peer broke the protocol (or stopped reading)
 * @param queuedBytes          payload bytes queued on its connections and not yet written
 * @param connectionBufferBytes read and send buffers its connections hold now (an idle connection holds none)
 * @param pooledBufferBytes    buffers idle in its pool, ready for reuse
 * @param receiveBytesReserved bytes reserved by large frames in progress (see {@link TransportSettings#receiveBudgetBytes()})
 * @param bufferAllocations    buffers newly allocated since start (misses of its pool)
 * @param bytesRead            bytes read from its connections since start (frames, headers and pings included)
 * @param bytesWritten         bytes written to its connections since start
 * @param messagesCompressed   messages it sent compressed (docs/protocol.md#compression)
 * @param compressionSavedBytes bytes those messages did not take on the wire: their size less what was sent
 * @param messagesDecompressed compressed messages it received and decompressed
 */
public record TransportStats(long connectionsOpened, int openConnections, int pendingHandshakes,
                             long refusedConnections, long protocolErrors, long queuedBytes,
                             long connectionBufferBytes, long pooledBufferBytes, long receiveBytesReserved,
                             long bufferAllocations, long bytesRead, long bytesWritten, long messagesCompressed,
                             long compressionSavedBytes, long messagesDecompressed) {

    /** The counters of two transports together (a transport made of two, like shared memory's). */
    public TransportStats plus(TransportStats o) {
        return new TransportStats(connectionsOpened + o.connectionsOpened, openConnections + o.openConnections,
                pendingHandshakes + o.pendingHandshakes, refusedConnections + o.refusedConnections,
                protocolErrors + o.protocolErrors, queuedBytes + o.queuedBytes,
                connectionBufferBytes + o.connectionBufferBytes, pooledBufferBytes + o.pooledBufferBytes,
                receiveBytesReserved + o.receiveBytesReserved, bufferAllocations + o.bufferAllocations,
                bytesRead + o.bytesRead, bytesWritten + o.bytesWritten, messagesCompressed + o.messagesCompressed,
                compressionSavedBytes + o.compressionSavedBytes, messagesDecompressed + o.messagesDecompressed);
    }
}
