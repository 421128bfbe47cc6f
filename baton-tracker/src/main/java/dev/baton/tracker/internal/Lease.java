package dev.baton.tracker.internal;

import java.util.Comparator;

/** A Baton server handed to one caller until it releases it, its node leaves, or its limit passes. Loop-owned. */
final class Lease {

    /** Earliest end first; ties by id. */
    static final Comparator<Lease> END_ORDER = (a, b) -> {
        int c = Long.compare(a.endNs, b.endNs);
        return c != 0 ? c : Long.compare(a.id, b.id);
    };

    final long id;
    final NativeServer server;
    final int holderRank;
    /** {@link System#nanoTime()} at which the tracker ends it. */
    final long endNs;
    /** The same moment on the wall clock, for the holder and the server's guard. */
    final long endEpochMs;

    Lease(long id, NativeServer server, int holderRank, long endNs, long endEpochMs) {
        this.id = id;
        this.server = server;
        this.holderRank = holderRank;
        this.endNs = endNs;
        this.endEpochMs = endEpochMs;
    }
}
