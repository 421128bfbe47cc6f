package dev.baton.internal.rpc;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Coordination;
import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.MembershipListener;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.NodeOptions;
import dev.baton.NodeStats;
import dev.baton.ResponseListener;
import dev.baton.Server;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.internal.buffer.MessageAccess;
import dev.baton.internal.buffer.ObjectPool;
import dev.baton.internal.master.MasterRegistry;
import dev.baton.internal.tcp.TcpTransport;
import dev.baton.spi.FrameHandler;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.Registry;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportStats;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportSettings;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The node: membership view, FrontEnds ({@link Peer}) per remote rank, local servers, and the routing of
 * every call. Implements the transport's {@link FrameHandler} (frames arrive on I/O threads) and the
 * registry's listener (membership arrives on the registry's thread).
 */
public final class NodeRuntime implements Node, FrameHandler, Registry.Listener {

    private static final System.Logger LOG = System.getLogger(NodeRuntime.class.getName());
    private static final long UNCONFIRMED_GRACE_NS = 10_000_000_000L;
    private static final MessageAccess MESSAGES = MessageAccess.get();
    /** The most a blocking caller's spin grows for the size of its request (see {@link #await}). */
    private static final long MAX_SIZE_SPIN_NS = 2_000_000L;

    static final class Stats {
        final LongAdder callsStarted = new LongAdder();
        final LongAdder callsSucceeded = new LongAdder();
        final LongAdder callsFailed = new LongAdder();
        final LongAdder localCalls = new LongAdder();
        final LongAdder requestsHandled = new LongAdder();
        final LongAdder lateResponses = new LongAdder();
    }

    final Stats stats = new Stats();
    private final NodeOptions options;
    private final long nodeId = ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
    private final Transport transport;
    private final Registry registry;
    private final ExecutorService handlerExecutor;
    private final boolean ownsHandlerExecutor;
    private final DeadlineTimer timer;
    private final ExecutorService events;
    private final MembershipView view;
    private final long callerSpinNs;
    private final long defaultTimeoutNs;
    private final Map<Integer, Peer> peers = new ConcurrentHashMap<>();
    private final java.util.Set<ConnState> connections = ConcurrentHashMap.newKeySet();
    private final LocalServers localServers = new LocalServers(this);
    private final Map<String, AtomicInteger> cursors = new ConcurrentHashMap<>();
    private final AtomicLong requestIds = new AtomicLong();
    private final AtomicInteger callsInFlight = new AtomicInteger();
    private final AtomicInteger serving = new AtomicInteger();
    // Recycled call records (see PendingCall and ServerCallImpl for when they come back).
    private final ObjectPool<PendingCall> callPool = new ObjectPool<>(4096);
    private final ObjectPool<ServerCallImpl> serverCallPool = new ObjectPool<>(4096);
    private volatile Coordination coordination;     // created on first use, under this
    private volatile int rank = -1;
    private InetSocketAddress address;
    private volatile boolean closed;

    private NodeRuntime(NodeOptions options) {
        this.options = options;
        this.callerSpinNs = options.callerSpin().toNanos();
        this.defaultTimeoutNs = options.defaultTimeout().toNanos();
        TransportSettings settings = new TransportSettings(options.ioThreads(), options.maxMessageSize(),
                options.maxQueuedBytesPerPeer(), options.maxQueuedFramesPerPeer(), options.ioSpin().toNanos(), 10_000,
                options.keepaliveInterval().toMillis(), options.keepaliveTimeout().toMillis());
        this.transport = (options.transport() != null ? options.transport() : TcpTransport.factory())
                .create(new TransportContext(options.name(), nodeId, PeerIdentity.ROLE_NODE, () -> rank, this, settings));
        this.registry = options.registry() != null ? options.registry() : new MasterRegistry(options.master());
        this.ownsHandlerExecutor = options.handlerExecutor() == null;
        this.handlerExecutor = ownsHandlerExecutor
                ? Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("baton-handler-", 0).factory())
                : options.handlerExecutor();
        this.timer = new DeadlineTimer(options.name());
        this.events = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon(true)
                .name("baton-events-" + options.name()).unstarted(r));
        this.view = new MembershipView(events);
    }

    /** Starts a node: listen, join, and return once a rank is assigned. Cleans up on failure. */
    public static NodeRuntime start(NodeOptions options) {
        NodeRuntime rt = new NodeRuntime(options);
        try {
            rt.address = advertised(rt.transport.listen(options.bind()), options.master());
            NodeInfo self = rt.registry.join(rt.nodeId, rt.address, options.name(), rt, options.joinTimeout());
            rt.rank = self.rank();
            return rt;
        } catch (IOException e) {
            rt.shutdownResources();
            throw new UncheckedIOException("cannot listen on " + options.bind() + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            rt.shutdownResources();
            throw e;
        }
    }

    /**
     * The address other nodes are told to connect to. A wildcard bind (0.0.0.0, ::) is replaced by this
     * host's address on the route to the master (a connected UDP socket picks it; nothing is sent), else by
     * the host's name address: "0.0.0.0" is not an address another host can reach.
     */
    static InetSocketAddress advertised(InetSocketAddress bound, InetSocketAddress master) {
        if (bound.getAddress() == null || !bound.getAddress().isAnyLocalAddress()) {
            return bound;
        }
        InetAddress host = null;
        if (master != null && !master.isUnresolved()) {
            try (DatagramSocket probe = new DatagramSocket()) {
                probe.connect(master);
                host = probe.getLocalAddress();
            } catch (IOException | UncheckedIOException e) {
                LOG.log(System.Logger.Level.DEBUG, "no route to the master to advertise", e);
            }
        }
        if (host == null || host.isAnyLocalAddress()) {
            try {
                host = InetAddress.getLocalHost();
            } catch (UnknownHostException e) {
                host = InetAddress.getLoopbackAddress();
            }
        }
        return new InetSocketAddress(host, bound.getPort());
    }

    // ================================================================== Node API

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public long nodeId() {
        return nodeId;
    }

    @Override
    public InetSocketAddress address() {
        return address;
    }

    @Override
    public Membership membership() {
        return view.current();
    }

    @Override
    public void addMembershipListener(MembershipListener listener) {
        view.addListener(listener);
    }

    @Override
    public void removeMembershipListener(MembershipListener listener) {
        view.removeListener(listener);
    }

    @Override
    public Server.Builder newServer(String service) {
        checkOpen();
        return new ServerBuilderImpl(this, service);
    }

    @Override
    public Coordination coordination() {
        Coordination c = coordination;
        if (c == null) {
            synchronized (this) {
                c = coordination;
                if (c == null) {
                    coordination = c = registry.coordination(events);   // watchers run on the event thread
                }
            }
        }
        return c;
    }

    @Override
    public Client client(String service) {
        return new ClientImpl(this, service, CallOptions.DEFAULT, cursors.computeIfAbsent(service, s -> new AtomicInteger()));
    }

    @Override
    public NodeOptions options() {
        return options;
    }

    @Override
    public NodeStats stats() {
        TransportStats t = transport.stats();
        return new NodeStats(stats.callsStarted.sum(), stats.callsSucceeded.sum(), stats.callsFailed.sum(),
                stats.localCalls.sum(), stats.requestsHandled.sum(), stats.lateResponses.sum(),
                t.connectionsOpened(), t.openConnections(), t.protocolErrors(), t.bufferAllocations());
    }

    int maxMessageSize() {
        return options.maxMessageSize();
    }

    long callerSpinNs() {
        return callerSpinNs;
    }

    long defaultTimeoutMs() {
        return defaultTimeoutNs / 1_000_000L;
    }

    ExecutorService handlerExecutor() {
        return handlerExecutor;
    }

    DeadlineTimer timer() {
        return timer;
    }

    boolean isClosed() {
        return closed;
    }

    private void checkOpen() {
        if (closed) {
            throw Status.of(Status.Code.CLOSED, "node is closed").asException();
        }
    }

    // ================================================================== servers

    Server registerServer(String service, int serverId, ServerImpl.Entry[] handlers, boolean acceptsDealers,
                          int dealerCapacity, Duration timeout) {
        checkOpen();
        return localServers.register(registry, info -> new ServerImpl(this, info, handlers, acceptsDealers, dealerCapacity),
                service, serverId, timeout);
    }

    void removeServer(ServerImpl server) {
        localServers.remove(server);
        if (!closed) {
            try {
                registry.deregisterServer(server.info(), options.joinTimeout());
            } catch (BatonException e) {
                LOG.log(System.Logger.Level.WARNING, "could not deregister {0}: {1}", server, e.getMessage());
            }
        }
    }

    // ================================================================== calls

    /**
     * Creates and routes a call. Errors known up front complete it at once. The caller holds the starter's
     * reference on the returned call and must {@link PendingCall#release} it when done looking at it.
     */
    PendingCall start(ClientImpl client, int method, ByteBuffer request, CallOptions opts, int mode,
                      ResponseListener listener) {
        long now = System.nanoTime();
        long timeoutNs = opts.timeout() != null ? opts.timeout().toNanos() : defaultTimeoutNs;
        PendingCall call = mode == PendingCall.FUTURE ? null : callPool.poll();
        if (call == null) {
            call = new PendingCall(this);
        }
        call.init(client.service(), opts, method, request, requestIds.incrementAndGet(), now + timeoutNs, mode, listener);
        stats.callsStarted.increment();
        callsInFlight.incrementAndGet();
        if (closed) {
            call.fail(Status.of(Status.Code.CLOSED, "node is closed").withRetrySafe(true));
            return call;
        }
        if (method < 0 || method > 0xFFFF) {
            call.fail(Status.of(Status.Code.INVALID_ARGUMENT, "method must be between 0 and 65535, was " + method));
            return call;
        }
        if (request.remaining() > options.maxMessageSize()) {
            call.fail(Status.of(Status.Code.MESSAGE_TOO_LARGE, "request of " + request.remaining()
                    + " bytes exceeds the maximum message size " + options.maxMessageSize()).withRetrySafe(true));
            return call;
        }
        timer.add(call);
        route(call, client.cursor, now);
        return call;
    }

    void callEnded(PendingCall call) {
        callsInFlight.decrementAndGet();
    }

    /**
     * Runs {@code work} on the handler executor, or here when the node is shutting down and the executor
     * refuses it: for threads that must not run user code or become a connection's writer (the timer, a writer).
     */
    void runElsewhere(Runnable work) {
        try {
            handlerExecutor.execute(work);
        } catch (RejectedExecutionException shuttingDown) {
            work.run();
        }
    }

    void recycle(PendingCall call) {
        callPool.offer(call);
    }

    void recycle(ServerCallImpl call) {
        serverCallPool.offer(call);
    }

    private ServerCallImpl serverCall() {
        ServerCallImpl sc = serverCallPool.poll();
        return sc != null ? sc : new ServerCallImpl(this);
    }

    void servingEnded() {
        serving.decrementAndGet();
    }

    /**
     * Waits for a blocking call: spin briefly (a wake-up costs more than most calls), reading the call's
     * connection on this thread, then park until the outcome is delivered. Releases the starter's reference.
     */
    Message await(PendingCall call) {
        try {
            ConnState on = call.connection;
            if (!call.delivered && on != null && on.connection.readByCurrentThread()) {
                // The response can only be read by this very thread: blocking would wait out the deadline.
                call.fail(Status.of(Status.Code.INVALID_ARGUMENT, "a blocking call from the thread that reads its "
                        + "connection (an I/O thread, or a handler run while a blocked call polls) cannot get its "
                        + "response; use callAsync"));
            }
            if (!call.delivered && callerSpinNs > 0) {
                // Spin, reading the call's connection ourselves: the response is then handled on this thread and
                // neither the I/O thread nor this one has to be woken across cores. A large request cannot be
                // answered before it has crossed twice, so the spin grows with its size (1 ns per byte, about
                // the copy rate of loopback TCP here); and it lasts while this thread reads bytes of the
                // connection (a large response streaming in), ending after callerSpin without any.
                long spin = callerSpinNs + Math.min(MAX_SIZE_SPIN_NS, call.request.remaining());
                long end = System.nanoTime() + spin;
                long now;
                while (!call.delivered && (now = System.nanoTime()) - end < 0) {
                    ConnState cs = call.connection;
                    if (cs != null && cs.connection.poll()) {
                        end = Math.max(end, now + callerSpinNs);
                    } else {
                        Thread.onSpinWait();
                    }
                }
            }
            if (!call.delivered) {
                park(call);
            }
            BatonException e = call.error;
            if (e != null) {
                throw new BatonException(e.status());     // a fresh one: its stack trace is the caller's
            }
            return call.result;
        } finally {
            call.release();
        }
    }

    private void park(PendingCall call) {
        call.waiter = Thread.currentThread();
        boolean interrupted = false;
        // The deadline timer completes the call; the grace covers a stalled timer thread.
        long giveUp = call.deadlineNanos + 1_000_000_000L;
        while (!call.delivered) {
            if (Thread.interrupted()) {
                interrupted = true;
                call.cancel(Status.of(Status.Code.CANCELLED, "interrupted while waiting for the response"));
            }
            long left = giveUp - System.nanoTime();
            if (left <= 0) {
                call.fail(Status.of(Status.Code.DEADLINE_EXCEEDED, "deadline passed"));
            }
            LockSupport.parkNanos(this, Math.max(left, 1_000L));
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Picks a server for {@code call} and sends it there (in process or over a connection). */
    /** {@code now}: a recent {@link System#nanoTime()} (one clock read per call is enough; it costs ~40 ns here). */
    private void route(PendingCall call, AtomicInteger cursor, long now) {
        Membership m = view.current();
        List<ServerInfo> servers = m.servers(call.service);
        CallOptions o = call.options;
        ServerInfo target = null;
        if (o.serverId() >= 0) {
            for (ServerInfo s : servers) {
                if (s.serverId() == o.serverId()) {
                    target = s;
                    break;
                }
            }
            if (target == null) {
                call.fail(servers.isEmpty() ? noSuchService(call.service)
                        : Status.of(Status.Code.NO_SUCH_SERVER, "service '" + call.service + "' has no server "
                        + o.serverId()).withRetrySafe(true));
                return;
            }
        } else if (o.rank() >= 0) {
            if (m.node(o.rank()).isEmpty()) {
                call.fail(Status.of(Status.Code.NO_SUCH_RANK, "no node has rank " + o.rank()).withRetrySafe(true));
                return;
            }
            for (ServerInfo s : servers) {
                if (s.rank() == o.rank()) {
                    target = s;
                    break;
                }
            }
            if (target == null) {
                call.fail(Status.of(Status.Code.NO_SUCH_RANK, "rank " + o.rank() + " serves no '" + call.service + "'")
                        .withRetrySafe(true));
                return;
            }
        } else {
            if (servers.isEmpty()) {
                call.fail(noSuchService(call.service));
                return;
            }
            int n = servers.size();
            int start = cursor.getAndIncrement();
            for (int i = 0; i < n; i++) {
                ServerInfo s = servers.get(Math.floorMod(start + i, n));
                if (s.rank() == call.lastRank && n > 1) {
                    continue;
                }
                if (s.rank() == rank || peerAvailable(s.rank())) {
                    target = s;
                    break;
                }
            }
            if (target == null) {
                call.fail(Status.of(Status.Code.UNAVAILABLE, "no reachable server of '" + call.service + "' ("
                        + n + " known, all failing)").withRetrySafe(true));
                return;
            }
        }
        call.lastRank = target.rank();
        if (target.rank() == rank) {
            dispatchLocal(call, target);
        } else {
            sendRemote(call, target, now);
        }
    }

    private static Status noSuchService(String service) {
        return Status.of(Status.Code.NO_SUCH_SERVICE, "no server of service '" + service + "' is known").withRetrySafe(true);
    }

    private boolean peerAvailable(int r) {
        Peer p = peers.get(r);
        return p == null || p.available();
    }

    private Peer peer(int r) {
        Peer p = peers.get(r);
        if (p != null) {
            return p;
        }
        NodeInfo info = view.current().node(r).orElse(null);
        if (info == null) {
            return null;
        }
        return peers.computeIfAbsent(r, k -> new Peer(k, info.nodeId(), info.address(), transport));
    }

    private void sendRemote(PendingCall call, ServerInfo target, long now) {
        Peer p = peer(target.rank());
        TransportConnection c = p == null ? null : p.connection();
        if (c == null) {
            reroute(call, Status.of(Status.Code.UNAVAILABLE, "rank " + target.rank() + " is unreachable (backing off)"));
            return;
        }
        ConnState cs = ConnState.of(c);
        long left = call.deadlineNanos - now;
        if (left <= 0) {
            call.onDeadline();
            return;
        }
        PeerIdentity id = c.remoteIdentity();
        if (id != null && call.request.remaining() > id.maxMessageSize()) {
            call.fail(Status.of(Status.Code.MESSAGE_TOO_LARGE, "request of " + call.request.remaining()
                    + " bytes exceeds rank " + target.rank() + "'s maximum message size " + id.maxMessageSize())
                    .withRetrySafe(true));
            return;
        }
        call.setHeader(FrameType.REQUEST, call.requestFlags(), 0, call.requestId, target.serviceId(), target.serverId(),
                call.method, left);
        call.setPayload(call.request);
        while (true) {
            call.setTimeoutNs(Math.max(1, left));
            if (!call.oneWay()) {
                call.connection = cs;
                cs.pending.put(call.requestId, call);
            }
            call.retain();      // the transport's, until onWritten or onDropped
            int r = c.offer(call);
            if (r == TransportConnection.OFFERED) {
                if (call.isDone()) {
                    cs.pending.remove(call.requestId, call);   // completed meanwhile (deadline, cancel)
                }
                return;
            }
            call.release();     // not taken
            cs.pending.remove(call.requestId, call);
            call.connection = null;
            if (r == TransportConnection.CLOSED) {
                reroute(call, Status.of(Status.Code.UNAVAILABLE, "connection to rank " + target.rank() + " closed"));
                return;
            }
            // Only the caller's own first attempt may wait: a re-route runs on whatever thread saw the failure.
            if (call.options.failFast() || call.attempts > 0 || transport.inTransportThread()) {
                call.fail(Status.of(Status.Code.RESOURCE_EXHAUSTED, "send queue to rank " + target.rank()
                        + " is full (" + c.queuedBytes() + " bytes queued)").withRetrySafe(true));
                return;
            }
            try {
                if (!c.awaitCapacity(call.payloadSize(), call.deadlineNanos)) {
                    if (call.deadlineNanos - System.nanoTime() <= 0) {
                        call.onDeadline();
                    } else {
                        reroute(call, Status.of(Status.Code.UNAVAILABLE, "connection to rank " + target.rank() + " closed"));
                    }
                    return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                call.fail(Status.of(Status.Code.CANCELLED, "interrupted while waiting for send capacity").withRetrySafe(true));
                return;
            }
            if (call.isDone()) {
                return;
            }
            left = call.deadlineNanos - System.nanoTime();
        }
    }

    /**
     * A call that was never written (connection failed, peer unreachable), or an idempotent one whose
     * connection broke after it was written: send it to another server of the service if it named none,
     * otherwise fail it at once. Non-idempotent calls that may have run never come here.
     */
    void reroute(PendingCall call, Status cause) {
        if (call.isDone()) {
            return;
        }
        boolean addressed = call.options.serverId() >= 0 || call.options.rank() >= 0;
        call.attempts++;
        call.written = false;
        if (closed) {
            call.fail(Status.of(Status.Code.CLOSED, "the node closed before '" + call.service + "' answered")
                    .withRetrySafe(!call.maybeRan));
            return;
        }
        if (addressed || call.attempts > 3 || call.deadlineNanos - System.nanoTime() <= 0) {
            call.fail(Status.of(Status.Code.UNAVAILABLE, cause.description()).withRetrySafe(!call.maybeRan));
            return;
        }
        route(call, cursors.computeIfAbsent(call.service, s -> new AtomicInteger()), System.nanoTime());
    }

    private void dispatchLocal(PendingCall call, ServerInfo target) {
        stats.localCalls.increment();
        call.retain();      // the server call's, until it is recycled
        ServerCallImpl sc = serverCall().init(null, call, MESSAGES.lend(call.request, null), target.serviceId(),
                target.serverId(), call.method, call.requestId, rank, call.oneWay(), call.deadlineNanos);
        call.written = true;
        call.maybeRan = true;
        dispatchToServer(sc);
        if (call.oneWay()) {
            call.complete(Message.empty());
        }
    }

    // ================================================================== transport callbacks

    @Override
    public void onOpen(TransportConnection c) {
        ConnState cs = ConnState.of(c);
        PeerIdentity id = c.remoteIdentity();
        if (cs == null) {
            cs = new ConnState(c, null);
            c.attach(cs);
            if (id.role() == PeerIdentity.ROLE_NODE && id.rank() >= 0 && id.rank() != rank && !closed) {
                Peer p = peer(id.rank());
                if (p != null && p.nodeId == id.nodeId() && p.adopt(c)) {
                    cs.peer = p;
                }
            }
        } else if (cs.peer != null) {
            cs.peer.onOpened(c);
        }
        connections.add(cs);
        if (closed) {
            goAway(cs);
        }
    }

    @Override
    public void onFrame(TransportConnection c, InboundHeader h, Message payload) {
        ConnState cs = ConnState.of(c);
        switch (h.type()) {
            case FrameType.RESPONSE -> onResponse(cs, h, payload);
            case FrameType.REQUEST -> onRequest(cs, h, payload);
            case FrameType.CANCEL -> {
                MESSAGES.release(payload);
                synchronized (cs.serving) {     // a call leaves the table before it is recycled
                    ServerCallImpl sc = cs.serving.get(h.requestId());
                    if (sc != null) {
                        sc.cancelled = true;
                    }
                }
            }
            case FrameType.GOAWAY -> {
                MESSAGES.release(payload);
                cs.goingAway = true;
                Peer p = cs.peer;
                if (p != null) {
                    // The node is leaving: once this connection closes, never connect to it again (until the
                    // registry says the rank belongs to a new process, which replaces this Peer).
                    p.retire();
                }
                closeWhenIdle(cs, System.nanoTime() + options.drainTimeout().toNanos());
            }
            default -> MESSAGES.release(payload);
        }
    }

    private void onResponse(ConnState cs, InboundHeader h, Message payload) {
        PendingCall call;
        synchronized (cs.pending) {
            call = cs.pending.remove(h.requestId());
            if (call != null) {
                call.retain();      // still in the table, so not yet released by its owner
            }
        }
        if (call == null) {
            stats.lateResponses.increment();
            MESSAGES.release(payload);
            return;
        }
        try {
            if (h.status() == 0) {
                call.complete(payload);
            } else {
                String why = StandardCharsets.UTF_8.decode(payload.buffer()).toString();
                MESSAGES.release(payload);
                call.fail(Status.of(Status.Code.of(h.status()), why));
            }
        } finally {
            call.release();
        }
    }

    private void onRequest(ConnState cs, InboundHeader h, Message payload) {
        long timeoutNs = h.timeoutNs();
        long deadline = timeoutNs > 0 ? System.nanoTime() + timeoutNs : Long.MAX_VALUE;
        boolean oneWay = (h.flags() & FrameType.FLAG_ONE_WAY) != 0;
        PeerIdentity id = cs.connection.remoteIdentity();
        int inProgress = cs.inProgress.incrementAndGet();
        if (inProgress > 2 * options.maxConcurrentRequestsPerConnection()) {
            // Refusals are answers too, and they queue: a peer that keeps sending while it does not read
            // them would grow our send queue without end. It is broken or hostile: hang up.
            cs.inProgress.decrementAndGet();
            MESSAGES.release(payload);
            LOG.log(System.Logger.Level.WARNING, "closing connection {0}: {1} requests in progress, twice the limit",
                    cs.connection.remoteAddress(), inProgress);
            cs.connection.close();
            return;
        }
        ServerCallImpl sc = serverCall().init(cs, null, payload, h.serviceId(), h.serverId(), h.method(),
                h.requestId(), id == null ? -1 : id.rank(), oneWay, deadline);
        if (inProgress > options.maxConcurrentRequestsPerConnection()) {
            serving.incrementAndGet();
            sc.reject(Status.of(Status.Code.RESOURCE_EXHAUSTED, "more than " + options.maxConcurrentRequestsPerConnection()
                    + " requests in progress on this connection").withRetrySafe(true));
            sc.release();       // the dispatcher's reference: no handler will run
            return;
        }
        if (!oneWay) {
            cs.serving.put(h.requestId(), sc);
        }
        dispatchToServer(sc);
    }

    /**
     * Hands a request to the local server it names (counted as served until its answer is sent). The
     * dispatcher's reference covers the hand-off; whatever keeps the call longer (an executor, a dealer queue)
     * takes its own.
     */
    private void dispatchToServer(ServerCallImpl sc) {
        stats.requestsHandled.increment();
        serving.incrementAndGet();
        try {
            localServers.dispatch(sc);
        } finally {
            sc.release();
        }
    }

    @Override
    public void onClose(TransportConnection c, BatonException cause) {
        ConnState cs = ConnState.of(c);
        if (cs == null) {
            return;
        }
        connections.remove(cs);
        if (cs.peer != null) {
            cs.peer.onClosed(c);
        }
        Status why = closed ? Status.of(Status.Code.CLOSED, "node closed") : cause.status();
        // Written calls may have run: they fail. Unwritten ones are dropped by the transport next, and re-routed.
        // Only calls we remove are ours to fail (onWritten may race us for them); each is referenced while in
        // the table, so we take a reference under its lock.
        List<PendingCall> lost = new ArrayList<>();
        synchronized (cs.pending) {
            for (PendingCall call : cs.pending.values()) {
                if (call.written && cs.pending.remove(call.requestId, call)) {
                    call.retain();
                    lost.add(call);
                }
            }
        }
        for (PendingCall call : lost) {
            try {
                call.onConnectionLost(why);
            } finally {
                call.release();
            }
        }
        cs.serving.forEach(sc -> sc.cancelled = true);
    }

    // ================================================================== membership

    @Override
    public void onRejoined(NodeInfo self) {
        rank = self.rank();
    }

    /** A whole view from the registry: on join, after a gap in events, or after rejoining a restarted master. */
    @Override
    public void onSnapshot(Membership fresh) {
        // Nodes the snapshot lacks are carried over (see MembershipView); dropped if still unconfirmed later.
        for (NodeInfo n : view.applySnapshot(fresh, rank)) {
            timer.schedule(() -> {
                if (view.expireUnconfirmed(n)) {
                    Peer p = peers.remove(n.rank());
                    if (p != null) {
                        retire(p);
                    }
                }
            }, UNCONFIRMED_GRACE_NS);
        }
    }

    @Override
    public void onEvent(MembershipEvent e) {
        view.applyEvent(e);
        switch (e) {
            case MembershipEvent.NodeLeft left -> {
                Peer p = peers.remove(left.node().rank());
                if (p != null) {
                    retire(p);
                }
            }
            case MembershipEvent.NodeJoined joined -> {
                Peer p = peers.get(joined.node().rank());
                if (p != null && p.nodeId != joined.node().nodeId() && peers.remove(p.rank, p)) {
                    retire(p);      // the rank now belongs to another process: never reuse the old one's connection
                } else if (p != null) {
                    p.address(joined.node().address());
                }
            }
            default -> {
            }
        }
    }

    /**
     * A node that left may still be answering our calls (it drains before closing): keep its connection
     * until those calls complete or the drain timeout passes. A crashed node's connection is already closed.
     */
    private void retire(Peer p) {
        p.retire();
        TransportConnection c = p.current();
        if (c != null && c.attachment() != null) {
            closeWhenIdle(ConnState.of(c), System.nanoTime() + options.drainTimeout().toNanos());
        }
    }

    /**
     * Closes a connection once neither side waits on it: no call of ours awaits a response and no request
     * from the peer is being served (or at {@code untilNanos}). Runs on the timer thread, never under a lock.
     */
    private void closeWhenIdle(ConnState cs, long untilNanos) {
        if (cs.closeScheduled.compareAndSet(false, true)) {
            checkIdle(cs, untilNanos);
        }
    }

    private void checkIdle(ConnState cs, long untilNanos) {
        timer.schedule(() -> {
            if (closed || (cs.pending.isEmpty() && cs.inProgress.get() == 0) || System.nanoTime() - untilNanos >= 0) {
                cs.connection.close();
            } else {
                checkIdle(cs, untilNanos);
            }
        }, 5_000_000L);
    }

    List<ServerInfo> awaitServers(String service, int count, Duration timeout) throws InterruptedException {
        return view.awaitServers(service, count, timeout, () -> closed);
    }

    // ================================================================== shutdown

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        // 1. leave: every other node stops choosing our servers.
        try {
            registry.close();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "leaving the registry failed", e);
        }
        view.close();
        // 2. GOAWAY on every connection: peers send nothing new, and close their side once the calls they
        //    have in flight here are answered. Requests that were already on the way are still served.
        for (ConnState cs : connections) {
            goAway(cs);
        }
        // 3. drain: until peers have hung up and our own calls and handlers are done, or the drain timeout.
        long end = System.nanoTime() + options.drainTimeout().toNanos();
        while ((callsInFlight.get() > 0 || serving.get() > 0 || !connections.isEmpty())
                && System.nanoTime() - end < 0) {
            LockSupport.parkNanos(1_000_000L);
        }
        // 4. close: connections (pending calls fail with CLOSED), threads.
        shutdownResources();
    }

    private static void goAway(ConnState cs) {
        cs.connection.offer(new SimpleFrame(FrameType.GOAWAY, 0, 0, 0, 0, 0, 0, null));
    }

    private void shutdownResources() {
        closed = true;
        view.close();
        for (Peer p : peers.values()) {
            p.close();
        }
        peers.clear();
        transport.close();
        try {
            registry.close();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "registry close", e);
        }
        // Every call still waiting is watched by the timer: expire them now, failing them with CLOSED.
        timer.shutdown();
        events.shutdown();
        if (ownsHandlerExecutor) {
            handlerExecutor.shutdown();
        }
        try {
            events.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "Node[rank " + rank + " at " + address + "]";
    }
}
