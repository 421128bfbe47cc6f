package dev.baton.spi;

/**
 * Creates a {@link Transport} for one node (or master). Set one with {@code NodeOptions.builder().transport(...)}
 * and {@code MasterOptions.builder().transport(...)}; without one, both use {@link #tcp()}.
 */
@FunctionalInterface
public interface TransportFactory {
    Transport create(TransportContext context);

    /** Baton's TCP transport, the default. */
    static TransportFactory tcp() {
        return BatonProvider.get().tcpTransport();
    }
}
