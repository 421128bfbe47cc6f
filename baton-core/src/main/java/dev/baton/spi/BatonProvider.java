package dev.baton.spi;

import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.NodeOptions;

import java.net.InetSocketAddress;
import java.util.ServiceLoader;

/**
 * The implementation behind {@link Node#join}, {@link Master#start} and {@link Master#registry}, found once with
 * {@link java.util.ServiceLoader}. baton-core provides the one implementation (and names its defaults, the TCP
 * transport and the master's registry, in that one place); the public API never refers to it directly.
 */
public interface BatonProvider {

    /** The implementation, found once. */
    static BatonProvider get() {
        return Holder.PROVIDER;
    }

    /** Starts a node and joins its cluster (see {@link Node#join}). */
    Node join(NodeOptions options);

    /** Starts an observer node (see {@link Node#observe}). */
    Node observe(NodeOptions options);

    /** Starts a master (see {@link Master#start(MasterOptions)}). */
    Master startMaster(MasterOptions options);

    /** The registry of a node that joins through the master at {@code master}. */
    RegistryFactory masterRegistry(InetSocketAddress master);

    /** A tool's probe whose connections {@code transport} makes (see {@link dev.baton.Probe}). */
    dev.baton.Probe probe(TransportFactory transport);

    /** Baton's TCP transport, the default of nodes and masters. */
    TransportFactory tcpTransport();

    /** Baton's TLS transport (see {@link TransportFactory#tls}); reads the files of {@code options} now. */
    TransportFactory tlsTransport(dev.baton.TlsOptions options);

    /**
     * This side's key and certificate chain from {@code options}, loaded and checked as the TLS transport loads them,
     * as a PKCS#12 key store of one entry protected by {@code password}; null when {@code options} name no identity.
     * For TLS stacks that are not Baton's and read key stores (a ZooKeeper client's). A file that cannot be used
     * fails with INVALID_ARGUMENT.
     */
    java.security.KeyStore tlsIdentityStore(dev.baton.TlsOptions options, char[] password);

    /**
     * The CA certificates {@code options} trust, as a PKCS#12 store of trusted-certificate entries, for the same
     * stacks. Fails with INVALID_ARGUMENT when they trust no CA (pinned fingerprints alone cannot be handed over).
     */
    java.security.KeyStore tlsTrustStore(dev.baton.TlsOptions options);

    /** Loads the provider on first use. */
    final class Holder {
        private static final BatonProvider PROVIDER = ServiceLoader.load(BatonProvider.class,
                        BatonProvider.class.getClassLoader())
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("no Baton implementation found: baton-core's "
                        + "META-INF/services/dev.baton.spi.BatonProvider (or its module's 'provides') is missing"));

        private Holder() {
        }
    }
}
