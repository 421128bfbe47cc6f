package dev.baton.spi;

/** Creates a {@link Transport} for one node. */
@FunctionalInterface
public interface TransportFactory {
    Transport create(TransportContext context);
}
