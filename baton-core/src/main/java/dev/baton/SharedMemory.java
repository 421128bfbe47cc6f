package dev.baton;

/**
 * Whether a node talks to nodes on its own host through shared memory ({@link NodeOptions#sharedMemory()}).
 * Shared memory needs {@code dev.baton:baton-transport-shm} on the class or module path; without it a node uses
 * TCP throughout. Nodes on other hosts, and the master, are always reached by TCP.
 */
public enum SharedMemory {
    /** Shared memory to every node on this host that offers it (when the module is present); TCP to the rest. */
    PREFERRED,
    /** TCP only, even to nodes on this host. */
    DISABLED,
    /**
     * Shared memory only: a call to a node it cannot reach that way (another host, or a node that does not offer
     * it) fails with {@link Status.Code#UNAVAILABLE}, and joining fails when the module is missing.
     */
    REQUIRED
}
