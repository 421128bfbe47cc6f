package dev.baton.spi;

import dev.baton.SharedMemory;

/**
 * A shared-memory transport that nodes use without naming it: found with the {@link java.util.ServiceLoader}
 * ({@code baton-transport-shm} provides one), it makes the transport of every node whose options name none, in
 * the node's {@link dev.baton.NodeOptions#sharedMemory() mode}. Its transports must reach the master and nodes
 * on other hosts by TCP, or by the network transport a node with TLS gives it.
 */
public interface SharedMemoryProvider {

    /**
     * Transports that use shared memory as {@code mode} says for nodes on this host, and {@code network} (TLS, for a
     * node with {@code NodeOptions.tls}) for the master and every other node. The default ignores {@code network}
     * and returns null: a provider that cannot put another transport under it leaves such nodes to {@code network}
     * alone.
     */
    default TransportFactory factory(SharedMemory mode, TransportFactory network) {
        return null;
    }

    /** Transports that use shared memory as {@code mode} says ({@link SharedMemory#DISABLED} is never passed). */
    TransportFactory factory(SharedMemory mode);
}
