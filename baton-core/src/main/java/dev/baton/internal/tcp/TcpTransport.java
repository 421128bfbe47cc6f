package dev.baton.internal.tcp;

import dev.baton.Status;
import dev.baton.internal.tls.TlsContextSource;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.TransportSettings;
import dev.baton.spi.TransportStats;
import dev.baton.spi.connection.BufferPool;
import dev.baton.spi.connection.FramedConnection;
import dev.baton.spi.connection.TransportCore;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * The socket transport, plain TCP or TLS: {@code ioThreads} selector loops; connections are spread over them
 * round-robin. Listening sockets live on the first loop. Listening, accepting and connecting are the same for both
 * kinds; a {@link ChannelConnection.Factory} makes the connection for each socket ({@link TcpConnection} or
 * {@link TlsConnection}). Everything but the socket glue is the shared connection core ({@link FramedConnection},
 * {@link TransportCore}).
 */
public final class TcpTransport implements Transport {

    private static final System.Logger LOG = System.getLogger(TcpTransport.class.getName());
    /** Connections accepted per readiness event, so a flood of connects cannot starve the loop's other work. */
    private static final int ACCEPTS_PER_EVENT = 64;

    private final TransportCore core;
    private final ChannelConnection.Factory connections;
    private final IoLoop[] loops;
    private final AtomicInteger nextLoop = new AtomicInteger();
    private final List<ServerSocketChannel> listeners = new ArrayList<>();
    private volatile boolean closed;

    public TcpTransport(TransportContext context, BufferPool pool) {
        this(context, pool, TcpConnection.FACTORY);
    }

    /** A transport whose connections {@code connections} makes (TLS: {@link TlsConnectionFactory}). */
    TcpTransport(TransportContext context, BufferPool pool, ChannelConnection.Factory connections) {
        this.core = new TransportCore(context, pool);
        this.connections = connections;
        TransportSettings s = context.settings();
        loops = new IoLoop[s.ioThreads()];
        try {
            for (int i = 0; i < loops.length; i++) {
                loops[i] = new IoLoop("baton-io-" + context.name() + "-" + i, s.ioSpin().toNanos());
            }
        } catch (IOException e) {
            for (IoLoop l : loops) {
                if (l != null) {
                    l.shutdown(0);
                }
            }
            throw new UncheckedIOException("cannot open selector", e);
        }
        for (IoLoop l : loops) {
            l.start();
        }
        connections.transportOpen(true);
    }

    /** The default transport of a node: TCP with a 64 MiB buffer pool. */
    public static TransportFactory factory() {
        return context -> new TcpTransport(context, new BufferPool(64L << 20));
    }

    /**
     * TLS over TCP: transports whose connections run {@code source}'s engines (mutual authentication, see
     * {@link TlsConnection}), with a 64 MiB buffer pool each.
     */
    public static TransportFactory tlsFactory(TlsContextSource source) {
        ChannelConnection.Factory connections = new TlsConnectionFactory(source);
        return context -> new TcpTransport(context, new BufferPool(64L << 20), connections);
    }

    @Override
    public String pathOf(TransportConnection connection) {
        return connections.path();
    }

    @Override
    public TransportStats stats() {
        return core.stats();
    }

    @Override
    public synchronized InetSocketAddress listen(InetSocketAddress bind) throws IOException {
        ensureOpen();
        connections.checkCanListen();
        ServerSocketChannel server = ServerSocketChannel.open();
        try {
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(bind, 1024);
            server.configureBlocking(false);
        } catch (IOException e) {
            server.close();
            throw e;
        }
        listeners.add(server);
        IoLoop loop = loops[0];
        loop.execute(() -> {
            try {
                server.register(loop.selector(), SelectionKey.OP_ACCEPT, new Acceptor(server));
            } catch (ClosedChannelException e) {
                // Only close() closes a listener: the transport was closed right after listen (a master stopped
                // at once). Nothing is wrong.
            }
        });
        return (InetSocketAddress) server.getLocalAddress();
    }

    @Override
    public TransportConnection connect(InetSocketAddress remote, Function<TransportConnection, Object> attachment) {
        ensureOpen();
        IoLoop loop = nextLoop();
        SocketChannel ch = null;
        try {
            if (remote.isUnresolved()) {
                remote = new InetSocketAddress(remote.getHostString(), remote.getPort());   // DNS, on the caller
            }
            ch = SocketChannel.open();
            configure(ch);
            boolean connected = ch.connect(remote);
            return start(connections.create(core, loop, ch, remote.toString(), true, null), attachment, !connected);
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch);
            // Reported like any other failed connect: the connection closes (on its loop) with UNAVAILABLE.
            return start(connections.create(core, loop, failedChannel(), remote.toString(), true, null), attachment,
                    true);
        }
    }

    private TransportConnection start(ChannelConnection c, Function<TransportConnection, Object> attachment,
                                      boolean connectPending) {
        c.attach(attachment.apply(c));
        core.track(c);
        if (closed) {
            c.close();      // close() ran since connect checked, and its closeAll may have missed c
            return c;
        }
        c.ioLoop().execute(() -> c.register(connectPending));
        return c;
    }

    /** A channel whose connect fails at once, so a failed connect is reported like any other: on close. */
    private static SocketChannel failedChannel() {
        try {
            SocketChannel ch = SocketChannel.open();
            ch.configureBlocking(false);
            ch.close();
            return ch;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void configure(SocketChannel ch) throws IOException {
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
    }

    private static void closeQuietly(SocketChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "closing a socket", e);
            }
        }
    }

    @Override
    public boolean inTransportThread() {
        if (FramedConnection.isPollingThread()) {
            return true;    // a caller polling a connection dispatches like an I/O thread and must not block either
        }
        for (IoLoop l : loops) {
            if (l.inLoop()) {
                return true;
            }
        }
        return false;
    }

    private IoLoop nextLoop() {
        return loops[Math.floorMod(nextLoop.getAndIncrement(), loops.length)];
    }

    private void ensureOpen() {
        if (closed) {
            throw Status.of(Status.Code.CLOSED, "transport closed").asException();
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        for (ServerSocketChannel s : listeners) {
            try {
                s.close();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "closing listener", e);
            }
        }
        core.closeAll();
        connections.transportOpen(false);
        for (IoLoop l : loops) {
            l.shutdown(2_000);
        }
    }

    /** Accepts connections on the first loop and hands each to a loop round-robin. */
    private final class Acceptor implements IoLoop.Handler {
        private final ServerSocketChannel server;

        Acceptor(ServerSocketChannel server) {
            this.server = server;
        }

        @Override
        public void onReady(SelectionKey key) throws IOException {
            for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
                SocketChannel ch = server.accept();
                if (ch == null) {
                    return;
                }
                accept(ch);
            }
        }

        /** Every path that does not hand {@code ch} to a connection closes it: no descriptor outlives a failure. */
        private void accept(SocketChannel ch) {
            InetAddress from = null;
            String remoteText = "an unknown address:0";
            boolean admitted = false;
            try {
                if (closed) {
                    closeQuietly(ch);
                    return;
                }
                InetSocketAddress remote = (InetSocketAddress) ch.getRemoteAddress();
                from = remote.getAddress();
                remoteText = String.valueOf(remote);
                if (!core.admitHandshake(from)) {
                    closeQuietly(ch);
                    return;
                }
                admitted = true;
                configure(ch);
                ChannelConnection c = connections.create(core, nextLoop(), ch, String.valueOf(remote), false, from);
                core.track(c);
                admitted = false;       // the connection releases its place from now on
                if (closed) {
                    c.close();          // close() ran since the check above, and its closeAll may have missed c
                    return;
                }
                c.ioLoop().execute(() -> c.register(false));
            } catch (IOException | RuntimeException | Error e) {
                if (admitted) {
                    core.releaseAdmission(from);
                }
                closeQuietly(ch);
                if (e instanceof Error err && !(e instanceof OutOfMemoryError)) {
                    throw err;
                }
                core.warnAboutPeer(remoteText, "accept", "accepting it failed: " + e);
            }
        }

        @Override
        public void onFailure(Throwable t) {
            if (closed && t instanceof ClosedChannelException) {
                return;     // the listener was closed while a connection waited: expected on close
            }
            LOG.log(System.Logger.Level.WARNING, "accept failed", t);
        }
    }
}
