package dev.baton.shm;

import dev.baton.SharedMemory;
import dev.baton.spi.SharedMemoryProvider;
import dev.baton.spi.TransportFactory;

/**
 * Makes {@link SharedMemoryTransport} the transport of nodes whose options name none: found by baton-core with
 * the ServiceLoader (declared in {@code module-info} and in {@code META-INF/services}, for the module path and the
 * class path).
 */
public final class ShmProvider implements SharedMemoryProvider {

    @Override
    public TransportFactory factory(SharedMemory mode) {
        return SharedMemoryTransport.factory(mode);
    }

    @Override
    public TransportFactory factory(SharedMemory mode, TransportFactory network) {
        return SharedMemoryTransport.builder().mode(mode).network(network).build();
    }
}
