package dev.baton;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * A member of the cluster, as the registry (the master) knows it.
 *
 * @param rank    global rank, 0, 1, 2, ... in join order; a new node never gets the rank of one that left
 *                (unless it asks for that rank explicitly, as a rejoining node may)
 * @param nodeId  random id of this node incarnation (a restarted process gets a new one)
 * @param address where the node accepts connections
 * @param name    the node's name, for people (defaults to "node")
 * @param hostId  the identity of the machine and shared-memory namespace the node runs in: the kernel's boot id
 *                and the mount namespace of {@code /dev/shm} (so two containers on one machine differ, and a
 *                rebooted machine is a new host); empty when unknown. Two nodes with the same non-empty
 *                {@code hostId} can reach each other through shared memory; an IP address says no such thing.
 */
public record NodeInfo(int rank, long nodeId, InetSocketAddress address, String name, String hostId) {

    public NodeInfo {
        Objects.requireNonNull(hostId, "hostId");
    }

    /** A node whose host is unknown (an empty {@link #hostId}). */
    public NodeInfo(int rank, long nodeId, InetSocketAddress address, String name) {
        this(rank, nodeId, address, name, "");
    }

    /** This node with {@code rank}. */
    public NodeInfo withRank(int rank) {
        return new NodeInfo(rank, nodeId, address, name, hostId);
    }

    /** True when both nodes are known to run on the same host (and shared-memory namespace). */
    public boolean sameHostAs(NodeInfo other) {
        return !hostId.isEmpty() && hostId.equals(other.hostId);
    }
}
