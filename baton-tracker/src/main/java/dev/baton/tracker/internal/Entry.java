package dev.baton.tracker.internal;

/**
 * A free server: one PUT that has not been handed out yet, or a Baton server between two leases. Identity is the
 * object (a server may PUT the same matchkey again after its session, which is a new entry). Owned by the loop
 * thread.
 */
final class Entry {
    final TvmConnection owner;
    final String key;
    final String host;
    final int port;
    final String matchKey;
    /** The Baton server this entry offers (its owner is null then); null for a TVM server. */
    final NativeServer nativeServer;

    Entry(TvmConnection owner, String key, String host, int port, String matchKey) {
        this(owner, key, host, port, matchKey, null);
    }

    private Entry(TvmConnection owner, String key, String host, int port, String matchKey, NativeServer nativeServer) {
        this.owner = owner;
        this.key = key;
        this.host = host;
        this.port = port;
        this.matchKey = matchKey;
        this.nativeServer = nativeServer;
    }

    /** A Baton server, free for its next lease. */
    static Entry of(NativeServer s) {
        return new Entry(null, s.key, "rank " + s.rank, 0, s.service + "/" + s.serverId, s);
    }

    @Override
    public String toString() {
        return key + "@" + host + ":" + port + " (" + matchKey + ")";
    }
}
