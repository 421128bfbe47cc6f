package dev.baton.internal.tcp;

import dev.baton.spi.connection.FramedConnection;
import dev.baton.spi.connection.TransportCore;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * A Baton connection over a plain TCP socket: the glue between a non-blocking {@link SocketChannel} on one
 * {@link IoLoop} and the transport-neutral {@link FramedConnection} (handshake, keepalive, combining writer,
 * frame reader, close protocol). Registering, connecting and closing are {@link ChannelConnection}'s.
 */
final class TcpConnection extends ChannelConnection {

    /** Makes plain TCP connections. */
    static final Factory FACTORY = new Factory() {
        @Override
        public ChannelConnection create(TransportCore core, IoLoop loop, SocketChannel channel, String remoteAddress,
                                        boolean outbound, InetAddress admittedFrom) {
            return new TcpConnection(core, loop, channel, remoteAddress, outbound, admittedFrom);
        }

        @Override
        public String path() {
            return "tcp";
        }
    };

    TcpConnection(TransportCore core, IoLoop loop, SocketChannel channel, String remoteAddress, boolean outbound,
                  InetAddress admittedFrom) {
        super(core, loop, channel, remoteAddress, outbound, admittedFrom);
    }

    @Override
    void connected() throws IOException {
        startHandshake();
    }

    @Override
    void onReadyOps(int ready) throws IOException {
        if ((ready & SelectionKey.OP_WRITE) != 0) {
            onWritable();
        }
        if ((ready & SelectionKey.OP_READ) != 0 && isOpen()) {
            onReadable();
        }
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
}
