package dev.baton.tracker.internal;

/**
 * A Baton server registered under a key: free (its {@link #free} entry in the pool), or leased ({@link #lease}).
 * Owned by the loop thread.
 */
final class NativeServer {
    final long id;
    final String key;
    final String service;
    final int serverId;
    /** The rank of the node that hosts it (and registered it). */
    final int rank;
    /** The secret its guard checks lease tokens with; empty when it has no guard. */
    final byte[] guardSecret;
    /** Its entry in the pool while it is free; null while leased. */
    Entry free;
    /** Its lease while leased; null while free. */
    Lease lease;

    NativeServer(long id, String key, String service, int serverId, int rank, byte[] guardSecret) {
        this.id = id;
        this.key = key;
        this.service = service;
        this.serverId = serverId;
        this.rank = rank;
        this.guardSecret = guardSecret;
    }

    @Override
    public String toString() {
        return service + " server " + serverId + " on rank " + rank + " under key '" + key + "'";
    }
}
