package dev.baton.bench;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;

/**
 * The floor's client: what a hand-written Java NIO program does with no framework at all. Each client thread
 * has its own connection (without request ids there is nothing to share one with), to server
 * {@code thread % servers}.
 *
 * <ul>
 *   <li>Sequential: a ping-pong: one write of length and payload from one buffer, then reads until the whole echo
 *       is in. The reads block, or in busy-poll mode ({@code --busy-poll}) spin on a non-blocking socket
 *       ({@link BusyPoll}), the server's echo loop too.</li>
 *   <li>Outstanding calls: one thread, a non-blocking socket and a selector. Whenever fewer than {@code depth}
 *       messages are outstanding it appends new ones to the send stream, writes what the socket takes, reads
 *       what has arrived and counts whole echoes (they come back in order); it blocks in the selector only when
 *       it can do nothing else. Busy-poll mode leaves it as it is (only its server spins).</li>
 * </ul>
 * Messages are those of {@link RawEchoServer}: a 4-byte length, then the payload.
 */
final class RawTarget implements Target {

    private static final long SELECT_TIMEOUT_MS = 100;

    private final List<InetSocketAddress> servers;
    private final Workload workload;
    private final boolean busyPoll;
    private final List<SocketChannel> channels = new ArrayList<>();

    private RawTarget(List<InetSocketAddress> servers, Workload workload, boolean busyPoll) {
        this.servers = servers;
        this.workload = workload;
        this.busyPoll = busyPoll;
    }

    /** {@code busyPoll}: the sequential lanes spin on non-blocking reads instead of blocking. */
    static RawTarget open(List<InetSocketAddress> servers, Workload w, boolean busyPoll) {
        return new RawTarget(List.copyOf(servers), w, busyPoll);
    }

    @Override
    public Lane lane(int index) throws IOException {
        SocketChannel c = SocketChannel.open();
        synchronized (channels) {
            channels.add(c);
        }
        c.setOption(StandardSocketOptions.TCP_NODELAY, true);
        c.connect(servers.get(index % servers.size()));
        int message = 4 + workload.payloadBytes;
        if (!workload.sequential()) {
            return new Pipelined(c, message, workload.depth);
        }
        if (busyPoll) {
            c.configureBlocking(false);
        }
        return sequential(c, message, busyPoll);
    }

    /** {@code busyPoll}: {@code c} is non-blocking, and the lane spins on it. */
    private static Lane sequential(SocketChannel c, int message, boolean busyPoll) {
        ByteBuffer request = ByteBuffer.allocateDirect(message).putInt(0, message - 4);
        ByteBuffer response = ByteBuffer.allocateDirect(message);
        return Lane.sequential(() -> {
            request.clear();
            if (busyPoll) {
                BusyPoll.write(c, request);
            } else {
                while (request.hasRemaining()) {
                    c.write(request);
                }
            }
            response.clear();
            while (response.hasRemaining()) {
                if ((busyPoll ? BusyPoll.read(c, response) : c.read(response)) < 0) {
                    throw new EOFException("raw echo server closed the connection");
                }
            }
            Target.checkEcho(message - 4, response.getInt(0));
        });
    }

    /** Keeps {@code depth} messages outstanding on one non-blocking connection, from one thread. */
    private static final class Pipelined implements Lane {
        private final SocketChannel channel;
        private final int message;
        private final int depth;
        /** {@code depth} copies of the message back to back: the send stream is this, repeated. */
        private final ByteBuffer stream;
        private final ByteBuffer receive;
        private final long[] sentAt;

        Pipelined(SocketChannel channel, int message, int depth) {
            this.channel = channel;
            this.message = message;
            this.depth = depth;
            this.stream = ByteBuffer.allocateDirect(message * depth);
            for (int i = 0; i < depth; i++) {
                stream.putInt(i * message, message - 4);
            }
            this.receive = ByteBuffer.allocateDirect(Math.max(64 * 1024, Math.min(message, 1 << 20)));
            this.sentAt = new long[depth];
        }

        @Override
        public void run(Measurement m) throws IOException, TimeoutException {
            channel.configureBlocking(false);
            try (Selector selector = Selector.open()) {
                SelectionKey key = channel.register(selector, SelectionKey.OP_READ);
                long sent = 0;            // messages queued to the stream
                long completed = 0;       // whole echoes received
                long unsentBytes = 0;     // queued bytes not yet written
                int streamPos = 0;        // where the next write starts in the repeated stream
                long received = 0;        // bytes received
                long drainDeadline = 0;
                while (true) {
                    boolean running = m.running();
                    if (!running) {
                        if (sent == completed) {
                            return;
                        }
                        long now = System.nanoTime();
                        if (drainDeadline == 0) {
                            drainDeadline = now + DRAIN_TIMEOUT_NS;
                        } else if (now - drainDeadline > 0) {
                            throw new TimeoutException((sent - completed) + " messages still outstanding after the stop");
                        }
                    }
                    boolean progress = false;
                    if (running && sent - completed < depth) {
                        long now = System.nanoTime();
                        while (sent - completed < depth) {
                            sentAt[(int) (sent % depth)] = now;
                            sent++;
                            unsentBytes += message;
                        }
                    }
                    while (unsentBytes > 0) {
                        int len = (int) Math.min(unsentBytes, stream.capacity() - streamPos);
                        int n = channel.write(stream.limit(streamPos + len).position(streamPos));
                        if (n == 0) {
                            break;
                        }
                        progress = true;
                        unsentBytes -= n;
                        streamPos = (streamPos + n) % stream.capacity();
                    }
                    int n = channel.read(receive.clear());
                    if (n < 0) {
                        throw new EOFException("raw echo server closed the connection");
                    }
                    if (n > 0) {
                        progress = true;
                        received += n;
                        long now = System.nanoTime();
                        while (received >= (completed + 1) * message) {
                            m.record(sentAt[(int) (completed % depth)], now);
                            completed++;
                        }
                    }
                    if (!progress) {
                        key.interestOps(unsentBytes > 0 ? SelectionKey.OP_READ | SelectionKey.OP_WRITE : SelectionKey.OP_READ);
                        selector.select(SELECT_TIMEOUT_MS);
                        selector.selectedKeys().clear();
                    }
                }
            }
        }
    }

    @Override
    public void close() {
        synchronized (channels) {
            for (SocketChannel c : channels) {
                try {
                    c.close();
                } catch (IOException e) {
                    // Closing is best effort: the socket is gone either way.
                }
            }
            channels.clear();
        }
    }
}
