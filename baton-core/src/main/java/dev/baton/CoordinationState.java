package dev.baton;

import java.util.List;
import java.util.Map;

/**
 * What the master's coordination holds now ({@link Master#coordinationState()}), for people looking at a cluster:
 * the status page shows it. A copy, taken under the coordination's lock.
 *
 * @param locks      every lock held or waited for, by name
 * @param barriers   every barrier with a round in progress, by name
 * @param idCounters the next id of each NEXT_ID key, by key (at most {@link #MAX_LISTED} keys, in name order;
 *                   {@code idKeys} counts them all)
 * @param idKeys     how many NEXT_ID keys there are
 * @param keys       how many key/value entries there are
 * @param watches    how many watches are registered, over all connections
 */
public record CoordinationState(List<Lock> locks, List<Barrier> barriers, Map<String, Long> idCounters, int idKeys,
                                int keys, int watches) {

    /** The most locks, barriers and id counters listed (the counts are always complete). */
    public static final int MAX_LISTED = 1000;

    public CoordinationState {
        locks = List.copyOf(locks);
        barriers = List.copyOf(barriers);
        idCounters = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(idCounters));
    }

    /**
     * A lock.
     *
     * @param name        its name
     * @param holderRank  the rank of the node holding it, -1 when it is free or held by a tool (an observer)
     * @param holder      who holds it, for people ({@code "rank 2"}, {@code "tool at /127.0.0.1:50312"}), or empty
     * @param fencingToken the holder's fencing token, 0 when free
     * @param waiting     how many requests wait for it
     */
    public record Lock(String name, int holderRank, String holder, long fencingToken, int waiting) {
    }

    /**
     * A barrier's round in progress.
     *
     * @param name         its name
     * @param parties      how many must arrive for it to open
     * @param arrivedRanks the ranks of the arrivals so far, in arrival order (-1 for a tool's)
     */
    public record Barrier(String name, int parties, List<Integer> arrivedRanks) {

        public Barrier {
            arrivedRanks = List.copyOf(arrivedRanks);
        }
    }
}
