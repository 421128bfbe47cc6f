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
 * @param principal the identity the node proved to the registry when it joined, which the master takes from the
 *                join's connection, never from what the node says: with TLS, its certificate's subject (an X.500
 *                name, {@code CN=node-3}); with the cluster secret alone, its member key ({@code ed25519:...},
 *                {@link dev.baton.spi.MemberKey}). Empty when nothing was proved (neither, or a registry that cannot
 *                tell, such as ZooKeeper). Other nodes check it against what each connection with the node proves
 *                (docs/security.md, "Proved members" and "Member keys").
 */
public record NodeInfo(int rank, long nodeId, InetSocketAddress address, String name, String hostId,
                       String principal) {

    public NodeInfo {
        Objects.requireNonNull(hostId, "hostId");
        Objects.requireNonNull(principal, "principal");
    }

    /** A node that proved no identity (an empty {@link #principal}). */
    public NodeInfo(int rank, long nodeId, InetSocketAddress address, String name, String hostId) {
        this(rank, nodeId, address, name, hostId, "");
    }

    /** A node whose host is unknown (an empty {@link #hostId}) and that proved no identity. */
    public NodeInfo(int rank, long nodeId, InetSocketAddress address, String name) {
        this(rank, nodeId, address, name, "", "");
    }

    /** This node with {@code rank}. */
    public NodeInfo withRank(int rank) {
        return new NodeInfo(rank, nodeId, address, name, hostId, principal);
    }

    /** This node with the identity it proved, {@code principal}. */
    public NodeInfo withPrincipal(String principal) {
        return new NodeInfo(rank, nodeId, address, name, hostId, principal);
    }

    /** True when both nodes are known to run on the same host (and shared-memory namespace). */
    public boolean sameHostAs(NodeInfo other) {
        return !hostId.isEmpty() && hostId.equals(other.hostId);
    }
}
