package dev.baton.internal;

import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Probe;
import dev.baton.SharedMemory;
import dev.baton.TlsOptions;
import dev.baton.internal.master.MasterServer;
import dev.baton.internal.registry.MasterRegistry;
import dev.baton.internal.registry.NodeToolRequests;
import dev.baton.internal.registry.ToolProbe;
import dev.baton.internal.rpc.NodeRuntime;
import dev.baton.internal.tcp.TcpTransport;
import dev.baton.internal.tls.TlsContextSource;
import dev.baton.internal.tls.TlsKeyStores;
import dev.baton.spi.BatonProvider;
import dev.baton.spi.Registry;
import dev.baton.spi.RegistryContext;
import dev.baton.spi.RegistryFactory;
import dev.baton.spi.SharedMemoryProvider;
import dev.baton.spi.TransportFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.security.KeyStore;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * baton-core's implementation of the public API, and the one place that names the defaults: TCP for
 * transports (with a {@link SharedMemoryProvider}'s transport for nodes, when one is on the path), the master
 * for registries. Optional modules are never named here: options carry their factories, or the ServiceLoader
 * finds them.
 */
public final class DefaultProvider implements BatonProvider {

    /** Answers tools on every node's data port; stateless. */
    private static final NodeToolRequests TOOL_REQUESTS = new NodeToolRequests();

    /** The shared-memory transport on the class or module path, if any; looked up once. */
    private static final class SharedMemoryHolder {
        static final Optional<SharedMemoryProvider> PROVIDER = ServiceLoader.load(SharedMemoryProvider.class,
                DefaultProvider.class.getClassLoader()).findFirst();
    }

    /** The transport of a master: the one its options name, TLS when they ask for it, else TCP. */
    private static TransportFactory masterTransport(MasterOptions options) {
        if (options.tls() != null) {
            return TcpTransport.tlsFactory(TlsContextSource.load(options.tls()));
        }
        return options.transport() != null ? options.transport() : TcpTransport.factory();
    }

    /**
     * The transport of a node: the one its options name; else TLS when they ask for it, or TCP, in both cases under
     * shared memory for the nodes on this host as they allow (the shared-memory transport puts TLS or TCP under it).
     */
    static TransportFactory nodeTransport(NodeOptions options) {
        if (options.transport() != null) {
            return options.transport();
        }
        if (options.tls() != null) {
            // A same-host peer over shared memory is proved by the kernel (this user's memory and socket), not by a
            // certificate: docs/security.md#tls-and-shared-memory. TLS for everyone else.
            TransportFactory tls = TcpTransport.tlsFactory(TlsContextSource.load(options.tls()));
            TransportFactory shm = options.sharedMemory() == SharedMemory.DISABLED ? null
                    : SharedMemoryHolder.PROVIDER.map(p -> p.factory(options.sharedMemory(), tls)).orElse(null);
            if (shm == null && options.sharedMemory() == SharedMemory.REQUIRED) {
                throw new IllegalStateException("NodeOptions.sharedMemory is REQUIRED, but no shared-memory transport"
                        + " that runs under TLS is on the class or module path (add dev.baton:baton-transport-shm)");
            }
            return shm != null ? shm : tls;
        }
        if (options.sharedMemory() == SharedMemory.DISABLED) {
            return TcpTransport.factory();
        }
        Optional<SharedMemoryProvider> shm = SharedMemoryHolder.PROVIDER;
        if (shm.isPresent()) {
            return shm.get().factory(options.sharedMemory());
        }
        if (options.sharedMemory() == SharedMemory.REQUIRED) {
            throw new IllegalStateException("NodeOptions.sharedMemory is REQUIRED, but no shared-memory transport is"
                    + " on the class or module path (add dev.baton:baton-transport-shm)");
        }
        return TcpTransport.factory();
    }

    @Override
    public Node join(NodeOptions options) {
        TransportFactory transports = nodeTransport(options).withClusterSecret(options.clusterSecret());
        return NodeRuntime.start(options, transports, registry(options, transports), TOOL_REQUESTS);
    }

    @Override
    public Node observe(NodeOptions options) {
        TransportFactory transports = nodeTransport(options).withClusterSecret(options.clusterSecret());
        return NodeRuntime.observe(options, transports, registry(options, transports), TOOL_REQUESTS);
    }

    /** The node's registry: its options' factory's, or the master's; its control connection made by {@code transports}. */
    private Registry registry(NodeOptions options, TransportFactory transports) {
        RegistryFactory registries = options.registry() != null ? options.registry() : masterRegistry(options.master());
        return registries.create(new RegistryContext(options.name(), transports));
    }

    @Override
    public Master startMaster(MasterOptions options) {
        try {
            return MasterServer.start(options.bind(), options.leaseTimeout().toMillis(),
                    masterTransport(options).withClusterSecret(options.clusterSecret()), options.authorizer());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start master on " + options.bind() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Probe probe(TransportFactory transport) {
        return new ToolProbe(transport);
    }

    @Override
    public TransportFactory tcpTransport() {
        return TcpTransport.factory();
    }

    @Override
    public TransportFactory tlsTransport(TlsOptions options) {
        return TcpTransport.tlsFactory(TlsContextSource.load(options));
    }

    @Override
    public KeyStore tlsIdentityStore(TlsOptions options, char[] password) {
        return TlsKeyStores.identity(options, password);
    }

    @Override
    public KeyStore tlsTrustStore(TlsOptions options) {
        return TlsKeyStores.trust(options);
    }

    @Override
    public RegistryFactory masterRegistry(InetSocketAddress master) {
        return context -> new MasterRegistry(master, context.transports());
    }
}
