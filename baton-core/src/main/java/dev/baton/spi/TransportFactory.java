package dev.baton.spi;

import dev.baton.TlsOptions;

/**
 * Creates a {@link Transport} for one node (or master). Set one with {@code NodeOptions.builder().transport(...)}
 * and {@code MasterOptions.builder().transport(...)}; without one, both use {@link #tcp()}.
 */
@FunctionalInterface
public interface TransportFactory {
    Transport create(TransportContext context);

    /**
     * This factory, with every transport it creates proving {@code secret} on each connection
     * ({@link TransportSettings#clusterSecret()}), and signing each handshake with one {@link MemberKey} made now
     * and shared by all of them ({@link TransportSettings#memberKey()}); this factory itself when {@code secret} is
     * null. What a node and a master do with their options' secret (each its own key), so that their control
     * connections carry it too; a tool does the same for its {@link dev.baton.Probe}:
     * {@code Probe.over(TransportFactory.tcp().withClusterSecret(secret))}.
     */
    default TransportFactory withClusterSecret(ClusterSecret secret) {
        if (secret == null) {
            return this;
        }
        MemberKey key = MemberKey.generate();
        return context -> create(new TransportContext(context.name(), context.nodeId(), context.role(),
                context.rank(), context.handler(),
                context.settings().toBuilder().clusterSecret(secret).memberKey(key).build()));
    }

    /** Baton's TCP transport, the default. */
    static TransportFactory tcp() {
        return BatonProvider.get().tcpTransport();
    }

    /**
     * Baton's transport over TLS with mutual authentication (see {@link TlsOptions}): for tools and probes
     * ({@code Probe.over(TransportFactory.tls(options))}); nodes and masters take {@code tls(options)} in their
     * options. Reads the certificate, key and trust files now.
     *
     * @throws dev.baton.BatonException INVALID_ARGUMENT when a file cannot be read or used, saying which and why
     */
    static TransportFactory tls(TlsOptions options) {
        return BatonProvider.get().tlsTransport(options);
    }
}
