package dev.baton.spi;

/**
 * What a {@link RegistryFactory} gets from the node it makes a registry for.
 *
 * @param name       the node's name, for threads and logs
 * @param transports the node's transport factory: a registry that talks Baton's protocol (the master's) makes its
 *                   control connection with it, so the transport chosen for the node (TLS, say) covers joins,
 *                   coordination and the accumulator's traffic too
 */
public record RegistryContext(String name, TransportFactory transports) {
}
