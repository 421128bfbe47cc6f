package dev.baton;

import java.net.InetSocketAddress;

/**
 * A member of the cluster, as the registry (the master) knows it.
 *
 * @param rank    global rank, 0, 1, 2, ... in join order; a new node never gets the rank of one that left
 *                (unless it asks for that rank explicitly, as a rejoining node may)
 * @param nodeId  random id of this node incarnation (a restarted process gets a new one)
 * @param address where the node accepts connections
 * @param name    the node's name, for people (defaults to "node")
 */
public record NodeInfo(int rank, long nodeId, InetSocketAddress address, String name) {
}
