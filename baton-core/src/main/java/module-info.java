/**
 * Baton core: the public API ({@code dev.baton}), the SPI for transports and registries
 * ({@code dev.baton.spi}), and the internals (master, TCP transport, runtime) that are not exported.
 */
module dev.baton {
    exports dev.baton;
    exports dev.baton.spi;
}
