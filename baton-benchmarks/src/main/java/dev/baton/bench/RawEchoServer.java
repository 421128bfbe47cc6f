package dev.baton.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The floor's server: NIO, one thread per connection, echoing length-prefixed messages. Its threads wait in
 * blocking reads, or in busy-poll mode ({@code --busy-poll}) spin on non-blocking ones ({@link BusyPoll}).
 *
 * <pre>
 * message: | length: i32, big-endian | length payload bytes |
 * </pre>
 *
 * Like an RPC server it answers whole messages only: it reads as much as the socket has, sends back every
 * complete message in the buffer with one write (a batch, when several arrived together), and keeps the
 * incomplete rest for the next read. No parsing beyond the length, no copy beyond moving that rest to the front.
 *
 * <p>Thread-safe; {@link #close()} closes every socket and waits for the threads: a thread waiting in a read, blocked
 * or spinning, sees its socket closed and ends.
 */
final class RawEchoServer implements AutoCloseable {

    private static final int INITIAL_BUFFER = 4 << 20;

    private final ServerSocketChannel listener;
    private final boolean busyPoll;
    private final Thread acceptor;
    private final List<SocketChannel> connections = new CopyOnWriteArrayList<>();
    private final List<Thread> threads = new CopyOnWriteArrayList<>();

    private RawEchoServer(ServerSocketChannel listener, boolean busyPoll) {
        this.listener = listener;
        this.busyPoll = busyPoll;
        this.acceptor = Thread.ofPlatform().name("raw-echo-accept").unstarted(this::accept);
    }

    /** Listens on a free loopback port; with {@code busyPoll} its connections are served spinning. */
    static RawEchoServer start(boolean busyPoll) throws IOException {
        ServerSocketChannel l = ServerSocketChannel.open();
        try {
            l.bind(new InetSocketAddress("127.0.0.1", 0));
        } catch (IOException e) {
            l.close();
            throw e;
        }
        RawEchoServer s = new RawEchoServer(l, busyPoll);
        s.acceptor.start();
        return s;
    }

    InetSocketAddress address() throws IOException {
        return (InetSocketAddress) listener.getLocalAddress();
    }

    private void accept() {
        try {
            while (true) {
                SocketChannel c = listener.accept();
                c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                if (busyPoll) {
                    c.configureBlocking(false);
                }
                connections.add(c);
                Thread t = Thread.ofPlatform().name("raw-echo-" + connections.size()).start(() -> echo(c, busyPoll));
                threads.add(t);
            }
        } catch (IOException e) {
            // Closed: no more connections.
        }
    }

    /** Serves one connection until it closes; {@code busyPoll}: the channel is non-blocking and polled. */
    private static void echo(SocketChannel c, boolean busyPoll) {
        ByteBuffer buf = ByteBuffer.allocateDirect(INITIAL_BUFFER);
        try (c) {
            while ((busyPoll ? BusyPoll.read(c, buf) : c.read(buf)) >= 0) {
                int end = buf.position();
                int p = 0;
                while (end - p >= 4) {
                    int len = buf.getInt(p);
                    if (end - p - 4 < len) {
                        if (4 + len > buf.capacity()) {
                            buf = grow(buf, 4 + len);
                        }
                        break;
                    }
                    p += 4 + len;
                }
                if (p == 0) {
                    continue;
                }
                ByteBuffer out = buf.duplicate().position(0).limit(p);
                if (busyPoll) {
                    BusyPoll.write(c, out);
                } else {
                    while (out.hasRemaining()) {
                        c.write(out);
                    }
                }
                buf.limit(end).position(p);
                buf.compact();
            }
        } catch (IOException e) {
            // The client went away, the server closed, or (busy-polling) the thread was interrupted: done.
        }
    }

    private static ByteBuffer grow(ByteBuffer buf, int need) {
        ByteBuffer bigger = ByteBuffer.allocateDirect(Math.max(need, buf.capacity() * 2));
        bigger.put(buf.flip());
        return bigger;
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (SocketChannel c : connections) {
            c.close();
        }
        try {
            acceptor.join(5_000);
            for (Thread t : threads) {
                t.join(5_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
