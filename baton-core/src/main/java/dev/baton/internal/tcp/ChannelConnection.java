package dev.baton.internal.tcp;

import dev.baton.spi.connection.FramedConnection;
import dev.baton.spi.connection.TransportCore;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * A Baton connection over a non-blocking {@link SocketChannel} on one {@link IoLoop}: what the plain TCP
 * ({@link TcpConnection}) and the TLS ({@link TlsConnection}) connections share. It registers with the loop's
 * selector, finishes an outbound connect, runs the core's tick, maps the core's read and write interest onto the
 * selection key, and closes the socket; a subclass says what happens once the socket is connected and on each
 * readiness event.
 */
abstract class ChannelConnection extends FramedConnection implements IoLoop.Handler {

    /** Makes the connections of a socket transport: {@link TcpTransport} is parameterized by one. */
    interface Factory {
        ChannelConnection create(TransportCore core, IoLoop loop, SocketChannel channel, String remoteAddress,
                                 boolean outbound, InetAddress admittedFrom);

        /** Throws when this kind of connection cannot be accepted (TLS without a certificate of its own). */
        default void checkCanListen() {
        }

        /** The path's name for {@link dev.baton.spi.Transport#pathOf}: "tcp", "tls". */
        String path();

        /** A transport that makes its connections here opened ({@code true}) or closed. */
        default void transportOpen(boolean open) {
        }
    }

    private final IoLoop ioLoop;
    final SocketChannel channel;
    private volatile SelectionKey key;      // set on the loop thread by register

    ChannelConnection(TransportCore core, IoLoop loop, SocketChannel channel, String remoteAddress, boolean outbound,
                      InetAddress admittedFrom) {
        super(core, loop, remoteAddress, outbound, admittedFrom);
        this.ioLoop = loop;
        this.channel = channel;
    }

    final IoLoop ioLoop() {
        return ioLoop;
    }

    /** Registers with the loop, and calls {@link #connected()} unless the connect is still pending. Loop thread. */
    final void register(boolean connectPending) {
        try {
            key = channel.register(ioLoop.selector(), connectPending ? SelectionKey.OP_CONNECT : SelectionKey.OP_READ,
                    this);
            ioLoop.addTickHandler(this);
            if (!connectPending) {
                connected();
            }
        } catch (IOException | RuntimeException e) {
            fail(new IOException("cannot register connection to " + remoteAddress() + ": " + e.getMessage(), e));
        }
    }

    /** The socket is connected (accepted, or its connect finished): start the first handshake. Loop thread. */
    abstract void connected() throws IOException;

    /** The selector reported {@code readyOps} (OP_READ and/or OP_WRITE; OP_WRITE interest already cleared). */
    abstract void onReadyOps(int readyOps) throws IOException;

    @Override
    public final void onReady(SelectionKey k) throws IOException {
        int ready = k.readyOps();
        if ((ready & SelectionKey.OP_CONNECT) != 0) {
            finishConnect();
            return;
        }
        if ((ready & SelectionKey.OP_WRITE) != 0) {
            k.interestOps(k.interestOps() & ~SelectionKey.OP_WRITE);
        }
        onReadyOps(ready);
    }

    private void finishConnect() {
        try {
            if (channel.finishConnect()) {
                key.interestOps(SelectionKey.OP_READ);
                connected();
            }
        } catch (IOException e) {
            fail(new IOException("cannot connect to " + remoteAddress() + ": " + e.getMessage(), e));
        }
    }

    @Override
    public final void tick(long nowNanos) {
        onTick(nowNanos);
        afterTick(nowNanos);
    }

    /** After the core's tick; for a subclass's own timers. Loop thread. */
    void afterTick(long nowNanos) {
    }

    @Override
    public final void onFailure(Throwable t) {
        fail(t);
    }

    /** Sets or clears OP_WRITE interest: {@link #onReadyOps} is called once the socket can take bytes. */
    final void writeInterest() {
        SelectionKey k = key;
        if (k != null && k.isValid()) {
            k.interestOps(k.interestOps() | SelectionKey.OP_WRITE);
        }
    }

    /** While {@code paused} the loop reports nothing of the socket; after, its reads again. Loop thread. */
    final void pauseReadiness(boolean paused) {
        SelectionKey k = key;
        if (k != null && k.isValid()) {
            k.interestOps(paused ? 0 : SelectionKey.OP_READ);
        }
    }

    // ------------------------------------------------------------------ FramedConnection glue shared by both

    @Override
    protected final void requestWritable() {
        writeInterest();
    }

    @Override
    protected void readInterest(boolean on) {
        SelectionKey k = key;
        if (k != null && k.isValid()) {
            k.interestOps(on ? k.interestOps() | SelectionKey.OP_READ : k.interestOps() & ~SelectionKey.OP_READ);
        }
    }

    /** A socket's readiness is level-triggered: what arrives after a short read makes the selector report it. */
    @Override
    protected final boolean shortReadDrains() {
        return true;
    }

    @Override
    protected void closeStream() {
        SelectionKey k = key;
        if (k != null) {
            k.cancel();
        }
        try {
            channel.close();
        } catch (IOException e) {
            System.getLogger(ChannelConnection.class.getName()).log(System.Logger.Level.DEBUG, "closing channel", e);
        }
        ioLoop.execute(() -> ioLoop.removeTickHandler(this));
    }
}
