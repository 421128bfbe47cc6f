package dev.baton.testkit.transport;

import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;

/**
 * The in-JVM "network" of the loopback transports one factory makes: a table of listening addresses. It behaves
 * like one host with its own port space (not the operating system's): a port is listened on by at most one
 * transport at a time; port 0 picks a free one from the ephemeral range; a listener bound to a wildcard address
 * (0.0.0.0) takes connections to any address with its port, one bound to a specific address only connections to
 * that address.
 *
 * <p>Thread-safe (one lock; it never calls out while holding it).
 */
final class LoopbackNetwork {

    static final int FIRST_EPHEMERAL_PORT = 49_152;
    static final int LAST_PORT = 65_535;

    private final Map<Integer, Listener> listeners = new HashMap<>();
    private int nextEphemeral = FIRST_EPHEMERAL_PORT;
    private long connections;

    private record Listener(InetSocketAddress address, LoopbackTransport transport) {
    }

    /** Registers {@code transport} as the listener on {@code bind}; returns the bound address. */
    synchronized InetSocketAddress bind(InetSocketAddress bind, LoopbackTransport transport) throws BindException {
        InetAddress host = bind.getAddress();
        if (host == null) {
            throw new BindException("cannot bind to unresolved " + bind);
        }
        int port = bind.getPort();
        if (port == 0) {
            port = freePort();
        } else if (listeners.containsKey(port)) {
            throw new BindException("address already in use: " + bind);
        }
        InetSocketAddress bound = new InetSocketAddress(host, port);
        listeners.put(port, new Listener(bound, transport));
        return bound;
    }

    private int freePort() throws BindException {
        int range = LAST_PORT - FIRST_EPHEMERAL_PORT + 1;
        for (int i = 0; i < range; i++) {
            int candidate = nextEphemeral;
            nextEphemeral = candidate == LAST_PORT ? FIRST_EPHEMERAL_PORT : candidate + 1;
            if (!listeners.containsKey(candidate)) {
                return candidate;
            }
        }
        throw new BindException("no free port left in the loopback network");
    }

    /** Removes the listener on {@code port} if it is {@code transport}'s. */
    synchronized void unbind(int port, LoopbackTransport transport) {
        Listener l = listeners.get(port);
        if (l != null && l.transport() == transport) {
            listeners.remove(port);
        }
    }

    /** The transport listening on {@code remote}, or null when nothing does. */
    synchronized LoopbackTransport lookup(InetSocketAddress remote) {
        Listener l = listeners.get(remote.getPort());
        if (l == null) {
            return null;
        }
        InetAddress bound = l.address().getAddress();
        return bound.isAnyLocalAddress() || bound.equals(remote.getAddress()) ? l.transport() : null;
    }

    /** A name for the connecting side of a new connection, as the accepting side sees it. */
    synchronized String nextClientAddress() {
        return "loopback-client-" + ++connections;
    }
}
