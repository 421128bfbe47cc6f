package dev.baton.zookeeper;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A loopback TCP forwarder between one ZooKeeper client and its server that a test can cut, as a partition or
 * a frozen process would: {@link #sever()} closes every forwarded connection and refuses new ones until
 * {@link #heal()}. The target port stays the same across server restarts.
 */
final class SeverableProxy implements AutoCloseable {

    private final ServerSocket listener;
    private final int targetPort;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean severed;
    private volatile boolean closed;

    SeverableProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        this.acceptor = Thread.ofPlatform().daemon().name("zk-proxy-accept-" + port()).start(this::acceptLoop);
    }

    int port() {
        return listener.getLocalPort();
    }

    String connectString() {
        return "127.0.0.1:" + port();
    }

    void sever() {
        severed = true;
        dropAll();
    }

    void heal() {
        severed = false;
    }

    private void acceptLoop() {
        while (!closed) {
            Socket in;
            try {
                in = listener.accept();
            } catch (IOException e) {
                return;
            }
            if (severed) {
                quietly(in);
                continue;
            }
            try {
                Socket out = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                open.add(in);
                open.add(out);
                Thread.ofVirtual().name("zk-proxy-up").start(() -> pump(in, out));
                Thread.ofVirtual().name("zk-proxy-down").start(() -> pump(out, in));
            } catch (IOException e) {
                quietly(in);        // the server is down: the client sees a refused connection
            }
        }
    }

    private void pump(Socket from, Socket to) {
        byte[] buffer = new byte[16 * 1024];
        try (InputStream is = from.getInputStream(); OutputStream os = to.getOutputStream()) {
            for (int n; (n = is.read(buffer)) >= 0; ) {
                os.write(buffer, 0, n);
            }
        } catch (IOException e) {
            // one side closed: close both
        } finally {
            quietly(from);
            quietly(to);
        }
    }

    private void dropAll() {
        for (Socket s : open) {
            quietly(s);
        }
    }

    private void quietly(Socket s) {
        open.remove(s);
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            listener.close();
        } catch (IOException ignored) {
            // closing
        }
        dropAll();
        try {
            acceptor.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
