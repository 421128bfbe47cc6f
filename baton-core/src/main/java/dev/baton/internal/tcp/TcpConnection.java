package dev.baton.internal.tcp;

import dev.baton.spi.connection.FramedConnection;
import dev.baton.spi.connection.TransportCore;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * A Baton connection over a TCP socket: the glue between a non-blocking {@link SocketChannel} on one
 * {@link IoLoop} and the transport-neutral {@link FramedConnection} (handshake, keepalive, combining writer,
 * frame reader, close protocol). It connects, registers with the loop's selector, and turns selector events
 * into the core's hooks.
 */
final class TcpConnection extends FramedConnection implements IoLoop.Handler {

    private final IoLoop ioLoop;
    private final SocketChannel channel;
    private SelectionKey key;       // set on the loop thread by register

    TcpConnection(TransportCore core, IoLoop loop, SocketChannel channel, String remoteAddress, boolean outbound,
                  InetAddress admittedFrom) {
        super(core, loop, remoteAddress, outbound, admittedFrom);
        this.ioLoop = loop;
        this.channel = channel;
    }

    IoLoop ioLoop() {
        return ioLoop;
    }

    /** Registers with the loop and starts the handshake (or waits for the connect to finish). Loop thread. */
    void register(boolean connectPending) {
        try {
            key = channel.register(ioLoop.selector(), connectPending ? SelectionKey.OP_CONNECT : SelectionKey.OP_READ, this);
            ioLoop.addTickHandler(this);
            if (!connectPending) {
                startHandshake();
            }
        } catch (IOException | RuntimeException e) {
            fail(new IOException("cannot register connection to " + remoteAddress() + ": " + e.getMessage(), e));
        }
    }

    @Override
    public void onReady(SelectionKey k) throws IOException {
        int ready = k.readyOps();
        if ((ready & SelectionKey.OP_CONNECT) != 0) {
            finishConnect();
            return;
        }
        if ((ready & SelectionKey.OP_WRITE) != 0) {
            k.interestOps(k.interestOps() & ~SelectionKey.OP_WRITE);
            onWritable();
        }
        if ((ready & SelectionKey.OP_READ) != 0 && isOpen()) {
            onReadable();
        }
    }

    private void finishConnect() {
        try {
            if (channel.finishConnect()) {
                key.interestOps(SelectionKey.OP_READ);
                startHandshake();
            }
        } catch (IOException e) {
            fail(new IOException("cannot connect to " + remoteAddress() + ": " + e.getMessage(), e));
        }
    }

    @Override
    public void tick(long nowNanos) {
        onTick(nowNanos);
    }

    @Override
    public void onFailure(Throwable t) {
        fail(t);
    }

    // ------------------------------------------------------------------ FramedConnection glue

    @Override
    protected int writeBytes(ByteBuffer src) throws IOException {
        return channel.write(src);
    }

    @Override
    protected long writeBytes(ByteBuffer[] srcs, int offset, int length) throws IOException {
        return channel.write(srcs, offset, length);
    }

    @Override
    protected int readBytes(ByteBuffer dst) throws IOException {
        return channel.read(dst);
    }

    @Override
    protected void requestWritable() {
        SelectionKey k = key;
        if (k != null && k.isValid()) {
            k.interestOps(k.interestOps() | SelectionKey.OP_WRITE);
        }
    }

    @Override
    protected void readInterest(boolean on) {
        SelectionKey k = key;
        if (k != null && k.isValid()) {
            k.interestOps(on ? k.interestOps() | SelectionKey.OP_READ : k.interestOps() & ~SelectionKey.OP_READ);
        }
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
            System.getLogger(TcpConnection.class.getName()).log(System.Logger.Level.DEBUG, "closing channel", e);
        }
        ioLoop.execute(() -> ioLoop.removeTickHandler(this));
    }
}
