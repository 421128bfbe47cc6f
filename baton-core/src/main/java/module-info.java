/**
 * Baton core: the public API ({@code dev.baton}), the SPI for transports and registries ({@code dev.baton.spi}),
 * the transport-neutral connection core other transports build on ({@code dev.baton.spi.connection}), and the
 * internals (runtime, master, TCP transport) that are not exported. The public API reaches its implementation
 * through {@link dev.baton.spi.BatonProvider}, found with the ServiceLoader, so it never names an internal class.
 */
module dev.baton {
    requires java.net.http;     // fetching revocation lists from CRL distribution points (TLS)

    exports dev.baton;
    exports dev.baton.spi;
    exports dev.baton.spi.connection;

    uses dev.baton.spi.BatonProvider;
    uses dev.baton.spi.SharedMemoryProvider;
    uses dev.baton.spi.Compressor;
    provides dev.baton.spi.BatonProvider with dev.baton.internal.DefaultProvider;
}
