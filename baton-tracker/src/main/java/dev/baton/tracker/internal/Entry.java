package dev.baton.tracker.internal;

/**
 * A free server: one PUT that has not been handed out yet. Identity is the object (a server may PUT the same
 * matchkey again after its session, which is a new entry). Owned by the loop thread.
 */
final class Entry {
    final TvmConnection owner;
    final String key;
    final String host;
    final int port;
    final String matchKey;

    Entry(TvmConnection owner, String key, String host, int port, String matchKey) {
        this.owner = owner;
        this.key = key;
        this.host = host;
        this.port = port;
        this.matchKey = matchKey;
    }

    @Override
    public String toString() {
        return key + "@" + host + ":" + port + " (" + matchKey + ")";
    }
}
