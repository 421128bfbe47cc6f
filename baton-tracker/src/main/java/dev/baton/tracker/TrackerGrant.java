package dev.baton.tracker;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * A server the tracker handed to a request: where it listens and the matchkey it expects. The server is this
 * client's alone until its session ends (the server then offers itself again under a new matchkey); TVM's data
 * plane expects the client to open its session with {@link #clientKey()}. Immutable.
 *
 * @param key the key (device kind) that was requested
 * @param host the server's address as it advertised it (its {@code custom_addr}) or as the tracker saw it
 * @param port the server's port
 * @param matchKey the one-use key the server waits for ({@code "<key>:<random>"} for TVM's servers)
 */
public record TrackerGrant(String key, String host, int port, String matchKey) {

    public TrackerGrant {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(matchKey, "matchKey");
    }

    /** {@code "client:" + matchKey}: what a TVM client sends as its key in the RPC handshake. */
    public String clientKey() {
        return "client:" + matchKey;
    }

    /** The server's address, unresolved (resolving is the connector's business). */
    public InetSocketAddress address() {
        return InetSocketAddress.createUnresolved(host, port);
    }
}
