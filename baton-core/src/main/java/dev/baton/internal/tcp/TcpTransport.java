package dev.baton.internal.tcp;

import dev.baton.BatonException;
import dev.baton.internal.buffer.BufferPool;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportSettings;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.TransportStats;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * The TCP transport: {@code ioThreads} selector loops; connections are spread over them round-robin.
 * Listening sockets live on the first loop.
 */
public final class TcpTransport implements Transport {

    private static final System.Logger LOG = System.getLogger(TcpTransport.class.getName());

    private final TransportContext context;
    private final BufferPool pool;
    private final IoLoop[] loops;
    private final AtomicInteger nextLoop = new AtomicInteger();
    private final Set<TcpConnection> connections = ConcurrentHashMap.newKeySet();
    private final List<ServerSocketChannel> listeners = new ArrayList<>();
    private final AtomicLong connectionsOpened = new AtomicLong();
    final AtomicLong protocolErrors = new AtomicLong();
    private volatile boolean closed;

    public TcpTransport(TransportContext context, BufferPool pool) {
        this.context = context;
        this.pool = pool;
        TransportSettings s = context.settings();
        loops = new IoLoop[Math.max(1, s.ioThreads())];
        try {
            for (int i = 0; i < loops.length; i++) {
                loops[i] = new IoLoop("baton-io-" + context.name() + "-" + i, s.ioSpinNs());
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
    }

    TransportContext context() {
        return context;
    }

    TransportSettings settings() {
        return context.settings();
    }

    BufferPool pool() {
        return pool;
    }

    /** The default transport of a node: TCP with a 64 MiB receive-buffer pool. */
    public static TransportFactory factory() {
        return context -> new TcpTransport(context, new BufferPool(64L << 20));
    }

    @Override
    public TransportStats stats() {
        return new TransportStats(connectionsOpened.get(), connections.size(), protocolErrors.get(), pool.allocations());
    }

    @Override
    public synchronized InetSocketAddress listen(InetSocketAddress bind) throws IOException {
        ensureOpen();
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
            } catch (IOException e) {
                LOG.log(System.Logger.Level.ERROR, "cannot register listener " + bind, e);
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
            TcpConnection c = new TcpConnection(this, loop, ch, remote.toString(), true);
            c.attach(attachment.apply(c));
            connections.add(c);
            loop.execute(() -> c.register(!connected));
            return c;
        } catch (IOException | RuntimeException e) {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // already failing
                }
            }
            TcpConnection c = new TcpConnection(this, loop, failedChannel(), remote.toString(), true);
            c.attach(attachment.apply(c));
            connections.add(c);
            loop.execute(() -> c.register(true));
            return c;
        }
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

    @Override
    public boolean inTransportThread() {
        if (TcpConnection.isPolling()) {
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
            throw dev.baton.Status.of(dev.baton.Status.Code.CLOSED, "transport closed").asException();
        }
    }

    // ---------------------------------------------------------------- callbacks from connections

    void connectionOpened(TcpConnection c) {
        connectionsOpened.incrementAndGet();
        context.handler().onOpen(c);
    }

    void connectionClosed(TcpConnection c, BatonException cause) {
        connections.remove(c);
        try {
            context.handler().onClose(c, cause);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "connection close handler failed", e);
        }
    }

    void frameWritten(OutboundFrame f) {
        try {
            f.onWritten();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "onWritten failed", e);
        }
    }

    void frameDropped(OutboundFrame f, BatonException cause) {
        try {
            f.onDropped(cause);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "onDropped failed", e);
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
        for (TcpConnection c : List.copyOf(connections)) {
            c.close();
        }
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
            for (int i = 0; i < 64; i++) {
                SocketChannel ch = server.accept();
                if (ch == null) {
                    return;
                }
                if (closed) {
                    ch.close();
                    return;
                }
                try {
                    configure(ch);
                } catch (IOException e) {
                    ch.close();
                    continue;
                }
                IoLoop loop = nextLoop();
                String remote;
                try {
                    remote = String.valueOf(ch.getRemoteAddress());
                } catch (IOException e) {
                    ch.close();     // reset between accept and now
                    continue;
                }
                TcpConnection c = new TcpConnection(TcpTransport.this, loop, ch, remote, false);
                connections.add(c);
                loop.execute(() -> c.register(false));
            }
        }

        @Override
        public void onFailure(Throwable t) {
            LOG.log(System.Logger.Level.WARNING, "accept failed", t);
        }
    }
}
