package dev.baton.spi;

import dev.baton.SharedMemory;

/**
 * A shared-memory transport that nodes use without naming it: found with the {@link java.util.ServiceLoader}
 * ({@code baton-transport-shm} provides one), it makes the transport of every node whose options name none, in
 * the node's {@link dev.baton.NodeOptions#sharedMemory() mode}. Its transports must reach the master and nodes
 * on other hosts by TCP.
 */
public interface SharedMemoryProvider {

    /** Transports that use shared memory as {@code mode} says ({@link SharedMemory#DISABLED} is never passed). */
    TransportFactory factory(SharedMemory mode);
}
