package dev.baton.tracker;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A tracker that misbehaves on cue, on loopback: each connection it accepts is handed, with its number (0, 1,
 * ...), to a script running on a thread of its own. {@link #close()} closes the listening socket and every
 * accepted one, and waits (boundedly) for the threads. For tests only.
 */
final class FakeTracker implements AutoCloseable {

    /** What the fake does with one connection; returning (or throwing) leaves the socket to {@link #close()}. */
    interface Script {
        void run(int index, Socket socket, InputStream in, OutputStream out) throws IOException, InterruptedException;
    }

    private final ServerSocket listener;
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();
    private final List<Thread> threads = new CopyOnWriteArrayList<>();
    private final AtomicInteger count = new AtomicInteger();
    private final Thread acceptor;

    FakeTracker(Script script) throws IOException {
        listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = Thread.ofPlatform().daemon(true).name("fake-tracker-accept").start(() -> {
            while (!listener.isClosed()) {
                Socket s;
                try {
                    s = listener.accept();
                } catch (IOException closed) {
                    return;
                }
                accepted.add(s);
                int index = count.getAndIncrement();
                threads.add(Thread.ofPlatform().daemon(true).name("fake-tracker-" + index).start(() -> {
                    try {
                        script.run(index, s, s.getInputStream(), s.getOutputStream());
                    } catch (IOException | InterruptedException e) {
                        // the peer or close() ended it
                    }
                }));
            }
        });
    }

    InetSocketAddress address() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    /** Connections accepted so far. */
    int accepted() {
        return count.get();
    }

    /** Reads the 4-byte magic; echoes it after {@code delayMs} if {@code echo}. */
    static void magic(InputStream in, OutputStream out, boolean echo, long delayMs)
            throws IOException, InterruptedException {
        byte[] magic = in.readNBytes(4);
        if (magic.length < 4) {
            throw new IOException("closed before the magic");
        }
        if (echo) {
            Thread.sleep(delayMs);
            out.write(magic);
            out.flush();
        }
    }

    /** Reads one frame and returns its text. */
    static String frame(InputStream in) throws IOException {
        byte[] len = in.readNBytes(4);
        if (len.length < 4) {
            throw new IOException("closed");
        }
        int n = len[0] & 0xFF | (len[1] & 0xFF) << 8 | (len[2] & 0xFF) << 16 | (len[3] & 0xFF) << 24;
        return new String(in.readNBytes(n), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Writes one frame holding {@code json}. */
    static void reply(OutputStream out, String json) throws IOException {
        byte[] body = json.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        out.write(RawPeer.le(body.length));
        out.write(body);
        out.flush();
    }

    /** Waits (at most 30 s) until the peer closes: true if it did. */
    static boolean awaitPeerClose(Socket s, InputStream in, CountDownLatch closed) throws IOException {
        s.setSoTimeout(30_000);
        try {
            while (in.read() >= 0) {
                // discard
            }
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException reset) {
            // a reset is a close too
        }
        closed.countDown();
        return true;
    }

    @Override
    public void close() throws IOException {
        listener.close();
        join(acceptor);
        for (Socket s : accepted) {
            s.close();
        }
        threads.forEach(FakeTracker::join);
    }

    private static void join(Thread t) {
        try {
            t.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
