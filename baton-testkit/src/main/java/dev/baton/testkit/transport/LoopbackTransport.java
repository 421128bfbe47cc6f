package dev.baton.testkit.transport;

import dev.baton.Status;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.TransportSettings;
import dev.baton.spi.TransportStats;
import dev.baton.spi.connection.BufferPool;
import dev.baton.spi.connection.FramedConnection;
import dev.baton.spi.connection.Handshake;
import dev.baton.spi.connection.TransportCore;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * An in-memory transport: nodes and masters in one JVM talk through bounded byte pipes instead of sockets. Built on
 * the SPI's connection core ({@link FramedConnection}, {@link TransportCore}) exactly as the TCP transport is, so it
 * speaks the same handshake, keepalive, back-pressure and close protocol, lends pooled buffers the same way, and is
 * the proof that the SPI and the core suffice for a transport outside baton-core. Tests use it to run whole
 * clusters without sockets, and to run the node behaviour suites over a second transport.
 *
 * <pre>{@code
 * TransportFactory loopback = LoopbackTransport.factory();     // one in-JVM network
 * try (Master master = Master.start(MasterOptions.builder().transport(loopback).build());
 *      Node node = Node.join(NodeOptions.builder().master(master.address()).transport(loopback).build())) {
 *     ...
 * }
 * }</pre>
 *
 * <h2>The network</h2>
 * Each {@link #factory()} call makes a new, isolated network; every transport that factory creates listens and
 * connects in it, and in no other (so tests running at once cannot reach each other). {@link #listen} registers an
 * address in the network's own port space (port 0 picks a free one); {@link #connect} to a registered address
 * makes a pair of connections joined by two pipes of {@code pipeCapacityBytes} each; a connect to an address
 * nothing listens on closes at once with UNAVAILABLE, as a refused TCP connect does.
 *
 * <h2>Threads</h2>
 * {@link TransportSettings#ioThreads()} loops, named {@code baton-loopback-<name>-<i>}; connections are spread
 * over them round-robin. A loop reads its connections when bytes arrive, writes them when a full pipe has room
 * again, and ticks them every 25 ms (handshake and keepalive timeouts). The accepting side is the listening
 * transport: it admits each connection into its handshake ({@link TransportCore#admitHandshake}) and refuses it
 * (the connecting side closes with UNAVAILABLE) over {@link TransportSettings#maxPendingHandshakes()}.
 *
 * <h2>Memory</h2>
 * Each connection holds its two pipes (a ring each way) for its whole life; frames are read into and sent from
 * the core's pooled buffers, so steady traffic allocates no buffer per frame, and signalling readiness allocates
 * nothing.
 *
 * <p>Thread-safe. {@link #close()} closes every connection (each peer sees its end of stream), stops the loops
 * (waiting up to 2 s for each) and gives back its listening addresses; it is idempotent.
 */
public final class LoopbackTransport implements Transport {

    /** The capacity of each direction of a connection, unless the factory says otherwise: 64 KiB. */
    public static final int DEFAULT_PIPE_CAPACITY = 64 * 1024;
    /** The smallest pipe: this side's whole handshake ({@value Handshake#LENGTH} bytes) must fit in one write. */
    public static final int MIN_PIPE_CAPACITY = 256;
    /** The buffer pool of each transport, as the TCP transport's: 64 MiB retained at most. */
    private static final long POOL_BYTES = 64L << 20;
    private static final long LOOP_STOP_TIMEOUT_MS = 2_000;

    private final TransportCore core;
    private final LoopbackNetwork network;
    private final int pipeCapacity;
    private final LoopbackLoop[] loops;
    private final AtomicInteger nextLoop = new AtomicInteger();
    private final List<Integer> ports = new ArrayList<>();     // guarded by this
    private volatile boolean closed;                            // written under this

    private LoopbackTransport(TransportContext context, LoopbackNetwork network, int pipeCapacity) {
        this.core = new TransportCore(context, new BufferPool(POOL_BYTES));
        this.network = network;
        this.pipeCapacity = pipeCapacity;
        TransportSettings s = context.settings();
        loops = new LoopbackLoop[s.ioThreads()];
        for (int i = 0; i < loops.length; i++) {
            loops[i] = new LoopbackLoop("baton-loopback-" + context.name() + "-" + i, s.ioSpin().toNanos());
        }
        for (LoopbackLoop l : loops) {
            l.start();
        }
    }

    /** A factory of loopback transports on a new network, with pipes of {@value #DEFAULT_PIPE_CAPACITY} bytes. */
    public static TransportFactory factory() {
        return factory(DEFAULT_PIPE_CAPACITY);
    }

    /**
     * A factory of loopback transports on a new network, whose connections carry each direction through a pipe of
     * {@code pipeCapacityBytes} (a power of two, at least {@value #MIN_PIPE_CAPACITY}; small pipes make every
     * large frame a series of partial writes).
     */
    public static TransportFactory factory(int pipeCapacityBytes) {
        if (Integer.bitCount(pipeCapacityBytes) != 1 || pipeCapacityBytes < MIN_PIPE_CAPACITY) {
            throw new IllegalArgumentException("pipeCapacityBytes must be a power of two of at least "
                    + MIN_PIPE_CAPACITY + ", was " + pipeCapacityBytes);
        }
        LoopbackNetwork network = new LoopbackNetwork();
        return context -> new LoopbackTransport(context, network, pipeCapacityBytes);
    }

    @Override
    public InetSocketAddress listen(InetSocketAddress bind) throws IOException {
        synchronized (this) {
            ensureOpen();
            InetSocketAddress bound = network.bind(bind, this);
            ports.add(bound.getPort());
            return bound;
        }
    }

    @Override
    public TransportConnection connect(InetSocketAddress remote, Function<TransportConnection, Object> attachment) {
        ensureOpen();
        if (remote.isUnresolved()) {
            remote = new InetSocketAddress(remote.getHostString(), remote.getPort());   // DNS, on the caller
        }
        LoopbackConnection c = new LoopbackConnection(core, nextLoop(), remote.toString(), true, null);
        c.attach(attachment.apply(c));
        core.track(c);
        if (closed) {
            c.close();      // close() ran since ensureOpen, and its closeAll may have missed c
            return c;
        }
        LoopbackTransport server = remote.isUnresolved() ? null : network.lookup(remote);
        if (server == null) {
            c.refuse("nothing listens there (connection refused)");
            return c;
        }
        BytePipe up = new BytePipe(pipeCapacity);       // this side writes, the accepted side reads
        BytePipe down = new BytePipe(pipeCapacity);
        up.ends(c, null);
        down.ends(null, c);
        c.join(down, up);
        if (!server.accept(up, down, network.nextClientAddress())) {
            c.refuse("the peer refused it (closed, or too many connections in their handshake)");
            return c;
        }
        c.start();
        return c;
    }

    /**
     * The accepting side of a connect: admits it into its handshake and makes its connection over the pipes the
     * connecting side made. False (nothing made) when this transport is closed or the admission refused.
     */
    private boolean accept(BytePipe in, BytePipe out, String from) {
        InetAddress fromAddress = InetAddress.getLoopbackAddress();
        synchronized (this) {       // against close(): a connection is either refused or tracked before closeAll
            if (closed || !core.admitHandshake(fromAddress)) {
                return false;
            }
            LoopbackConnection s;
            try {
                s = new LoopbackConnection(core, nextLoop(), from, false, fromAddress);
            } catch (RuntimeException | Error e) {
                core.releaseAdmission(fromAddress);
                throw e;
            }
            in.ends(null, s);
            out.ends(s, null);
            s.join(in, out);
            core.track(s);
            s.start();
            return true;
        }
    }

    @Override
    public boolean inTransportThread() {
        if (FramedConnection.isPollingThread()) {
            return true;    // a caller polling a connection dispatches like a loop thread and must not block either
        }
        for (LoopbackLoop l : loops) {
            if (l.inLoop()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public TransportStats stats() {
        return core.stats();
    }

    private LoopbackLoop nextLoop() {
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
            for (int port : ports) {
                network.unbind(port, this);
            }
            ports.clear();
        }
        core.closeAll();
        for (LoopbackLoop l : loops) {
            l.shutdown(LOOP_STOP_TIMEOUT_MS);
        }
    }

    @Override
    public String toString() {
        return "LoopbackTransport[" + core.context().name() + "]";
    }
}
