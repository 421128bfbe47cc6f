package dev.baton.tracker.internal;

import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Logs why the tracker closed a peer, at WARNING at most once a minute per peer address (and at DEBUG
 * otherwise), so that a misbehaving or hostile peer that reconnects in a loop cannot flood the log. Remembers at
 * most {@value #MAX_PEERS} addresses (least recently logged forgotten first). Not thread-safe: the loop's.
 */
final class PeerLog {

    static final System.Logger LOG = System.getLogger("dev.baton.tracker");

    private static final int MAX_PEERS = 1024;
    private static final long QUIET_NS = 60_000_000_000L;

    private final Map<InetAddress, Long> lastWarnedNs = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<InetAddress, Long> eldest) {
            return size() > MAX_PEERS;
        }
    };

    void closed(InetAddress peer, String what, String why, long nowNs) {
        Long last = lastWarnedNs.get(peer);
        if (last == null || nowNs - last >= QUIET_NS) {
            lastWarnedNs.put(peer, nowNs);
            LOG.log(System.Logger.Level.WARNING, "tracker: closed {0}: {1} (further closes of this address are"
                    + " logged at DEBUG for a minute)", what, why);
        } else {
            LOG.log(System.Logger.Level.DEBUG, "tracker: closed {0}: {1}", what, why);
        }
    }
}
