package dev.baton.testkit.registry.master;

import dev.baton.Status;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.TransportStats;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * The transport of one node's master connection, which a test can sever: the node then sends nothing more to
 * the master (no lease ping, no request) and cannot connect to it, as if it were frozen or cut off by a
 * partition, until {@link #heal()}. The master, hearing nothing, lets the node's lease lapse.
 *
 * <p>Works through the SPI only: it wraps the node's own transport factory (what the master's registry
 * receives in its {@code RegistryContext}). Thread-safe.
 */
final class SeverableTransport implements TransportFactory {

    private final TransportFactory delegate;
    private final List<Connection> connections = new CopyOnWriteArrayList<>();
    private volatile boolean severed;

    SeverableTransport(TransportFactory delegate) {
        this.delegate = delegate;
    }

    /** From now on, the node's master connections carry nothing from the node, and new ones fail. */
    void sever() {
        severed = true;
        connections.removeIf(c -> !c.isOpen());
        for (Connection c : connections) {
            c.silence();
        }
    }

    /** New connections work again (the node reconnects on its own). */
    void heal() {
        severed = false;
    }

    @Override
    public Transport create(TransportContext context) {
        Transport t = delegate.create(context);
        return new Transport() {
            @Override
            public InetSocketAddress listen(InetSocketAddress bind) throws IOException {
                return t.listen(bind);
            }

            @Override
            public TransportConnection connect(InetSocketAddress remote, Function<TransportConnection, Object> attachment) {
                if (severed) {
                    throw Status.of(Status.Code.UNAVAILABLE, "cut off from " + remote + " by the test")
                            .withRetrySafe(true).asException();
                }
                Connection c = new Connection(t.connect(remote, attachment));
                connections.add(c);
                return c;
            }

            @Override
            public boolean inTransportThread() {
                return t.inTransportThread();
            }

            @Override
            public TransportStats stats() {
                return t.stats();
            }

            @Override
            public void close() {
                t.close();
            }
        };
    }

    /** A connection that, once silenced, neither pings nor sends (and so never renews the node's lease). */
    private final class Connection implements TransportConnection {
        private final TransportConnection c;

        Connection(TransportConnection c) {
            this.c = c;
        }

        void silence() {
            c.keepalive(Duration.ZERO, Duration.ZERO);
        }

        @Override
        public int offer(OutboundFrame frame) {
            return severed ? BACK_PRESSURED : c.offer(frame);     // refused: the caller keeps the frame
        }

        @Override
        public void keepalive(Duration interval, Duration timeout) {
            if (!severed) {
                c.keepalive(interval, timeout);
            }
        }

        @Override
        public boolean awaitCapacity(int bytes, long deadlineNanos) throws InterruptedException {
            return c.awaitCapacity(bytes, deadlineNanos);
        }

        @Override
        public boolean poll() {
            return c.poll();
        }

        @Override
        public boolean readByCurrentThread() {
            return c.readByCurrentThread();
        }

        @Override
        public PeerIdentity remoteIdentity() {
            return c.remoteIdentity();
        }

        @Override
        public String remoteAddress() {
            return c.remoteAddress();
        }

        @Override
        public boolean isOpen() {
            return c.isOpen();
        }

        @Override
        public dev.baton.BatonException closeCause() {
            return c.closeCause();
        }

        @Override
        public long queuedBytes() {
            return c.queuedBytes();
        }

        @Override
        public void close() {
            connections.remove(this);
            c.close();
        }

        @Override
        public Object attachment() {
            return c.attachment();
        }

        @Override
        public void attach(Object attachment) {
            c.attach(attachment);
        }
    }
}
