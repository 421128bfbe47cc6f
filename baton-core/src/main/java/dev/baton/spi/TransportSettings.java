package dev.baton.spi;

/**
 * Limits and threading for a transport. All sizes in bytes.
 *
 * @param ioThreads             number of I/O threads (each runs a selector loop)
 * @param maxMessageSize        the largest payload accepted or sent; checked before any allocation
 * @param maxQueuedBytes        bytes queued to one peer but not yet written before {@code offer} refuses more
 *                              REQUEST frames (a single message larger than this is still accepted into an
 *                              empty queue); responses and control frames are never refused
 * @param maxQueuedFrames       REQUEST frames queued to one peer before {@code offer} refuses more
 * @param ioSpinNs            how long an idle I/O thread polls before it parks in the selector
 * @param handshakeTimeoutMs    a connection that has not completed its handshake by then is closed
 * @param keepaliveIntervalMs   a connection that received nothing for this long sends a PING (0: never)
 * @param keepaliveTimeoutMs    a connection that received nothing for this long is closed as dead (0: never);
 *                              {@link TransportConnection#keepalive} changes both for one connection
 */
public record TransportSettings(int ioThreads, int maxMessageSize, long maxQueuedBytes, int maxQueuedFrames,
                                long ioSpinNs, long handshakeTimeoutMs, long keepaliveIntervalMs,
                                long keepaliveTimeoutMs) {
}
