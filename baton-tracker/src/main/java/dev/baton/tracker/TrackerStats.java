package dev.baton.tracker;

/**
 * A tracker's counters at one moment ({@link Tracker#stats()}). Immutable. Counts since start unless named
 * "now".
 *
 * @param openConnections connections open now
 * @param acceptedConnections connections accepted
 * @param refusedConnections connections closed on arrival because {@link TrackerOptions#maxConnections()} were open
 * @param protocolErrors connections closed for breaking the protocol: a bad magic, a frame length of zero or less
 *                       or over 1 MiB, bytes that are not JSON, a message of the wrong shape, an unknown code, or
 *                       a limit (per connection or tracker-wide)
 * @param stalledConnections connections closed for stalling: no magic, an unfinished frame
 *                           ({@link TrackerOptions#frameTimeout()}) or unread replies
 *                           ({@link TrackerOptions#writeTimeout()})
 * @param grants servers handed to requests
 * @param expiredRequests requests answered with a failure after {@link TrackerOptions#maxRequestWait()}
 * @param abandonedRequests requests removed because their client disconnected while waiting
 * @param waitingRequests requests waiting now
 */
public record TrackerStats(long openConnections, long acceptedConnections, long refusedConnections,
                           long protocolErrors, long stalledConnections, long grants, long expiredRequests,
                           long abandonedRequests, long waitingRequests) {
}
