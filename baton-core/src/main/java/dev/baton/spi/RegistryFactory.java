package dev.baton.spi;

/**
 * Makes the {@link Registry} one node joins through: the master's ({@code Master.registry(address)}, the
 * default for {@code NodeOptions.master}), or another, such as a ZooKeeper ensemble's. Set it with
 * {@code NodeOptions.builder().registry(...)}. Called once per node, when it joins; options built once may be
 * used for many nodes, each getting a registry of its own.
 */
@FunctionalInterface
public interface RegistryFactory {
    Registry create(RegistryContext context);
}
