package dev.baton.internal.tcp;

import dev.baton.Status;
import dev.baton.internal.tls.TlsContextSource;
import dev.baton.internal.tls.TlsFailures;
import dev.baton.spi.connection.TransportCore;

import java.net.InetAddress;
import java.nio.channels.SocketChannel;

/**
 * Makes the TLS connections of one transport: each with an engine from the transport's {@link TlsContextSource},
 * and all sharing the log of refused peers ({@link TlsFailures}) and the spare ciphertext buffers. Thread-safe.
 */
final class TlsConnectionFactory implements ChannelConnection.Factory {

    private final TlsContextSource source;
    private final TlsFailures failures = new TlsFailures();
    private final CipherBuffers cipherBuffers = new CipherBuffers();

    TlsConnectionFactory(TlsContextSource source) {
        this.source = source;
    }

    @Override
    public ChannelConnection create(TransportCore core, IoLoop loop, SocketChannel channel, String remote,
                                    boolean outbound, InetAddress admittedFrom) {
        int trustGeneration = source.trustGeneration();        // before the engine: see trustGeneration()
        return new TlsConnection(core, loop, channel, remote, outbound, admittedFrom, source.newEngine(outbound),
                source, trustGeneration, failures, cipherBuffers);
    }

    @Override
    public void checkCanListen() {
        if (!source.hasIdentity()) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "TLS: cannot accept connections without a certificate of "
                    + "this side's own (TlsOptions.Builder.certificate or keyStore)").asException();
        }
    }

    @Override
    public String path() {
        return "tls";
    }

    @Override
    public void transportOpen(boolean open) {
        source.transportOpen(open);
    }
}
