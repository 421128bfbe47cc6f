package dev.baton.internal;

import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.internal.master.MasterServer;
import dev.baton.internal.registry.MasterRegistry;
import dev.baton.internal.rpc.NodeRuntime;
import dev.baton.internal.tcp.TcpTransport;
import dev.baton.spi.BatonProvider;
import dev.baton.spi.Registry;
import dev.baton.spi.RegistryContext;
import dev.baton.spi.RegistryFactory;
import dev.baton.spi.TransportFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;

/**
 * baton-core's implementation of the public API, and the one place that names the defaults: TCP for
 * transports, the master for registries. Optional modules (other transports and registries) are never named
 * here: options carry their factories.
 */
public final class DefaultProvider implements BatonProvider {

    /** The transport of nodes and masters whose options name none. */
    private static TransportFactory transport(TransportFactory chosen) {
        return chosen != null ? chosen : TcpTransport.factory();
    }

    @Override
    public Node join(NodeOptions options) {
        TransportFactory transports = transport(options.transport());
        RegistryFactory registries = options.registry() != null ? options.registry() : masterRegistry(options.master());
        Registry registry = registries.create(new RegistryContext(options.name(), transports));
        return NodeRuntime.start(options, transports, registry);
    }

    @Override
    public Master startMaster(MasterOptions options) {
        try {
            return MasterServer.start(options.bind(), options.leaseTimeout().toMillis(), transport(options.transport()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start master on " + options.bind() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public TransportFactory tcpTransport() {
        return TcpTransport.factory();
    }

    @Override
    public RegistryFactory masterRegistry(InetSocketAddress master) {
        return context -> new MasterRegistry(master, context.transports());
    }
}
