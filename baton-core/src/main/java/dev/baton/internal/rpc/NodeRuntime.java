package dev.baton.internal.rpc;

import dev.baton.Authorizer;
import dev.baton.BatonException;
import dev.baton.Caller;
import dev.baton.Client;
import dev.baton.Coordination;
import dev.baton.Health;
import dev.baton.Membership;
import dev.baton.MembershipListener;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.NodeOptions;
import dev.baton.NodeStats;
import dev.baton.NodeStatus;
import dev.baton.Server;
import dev.baton.ServerInterceptor;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.spi.HostIdentity;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.Registry;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.Compressors;
import dev.baton.spi.TransportSettings;
import dev.baton.spi.TransportStats;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The node: its facade ({@link Node}) and lifecycle. A call passes through five roles, each entered once per
 * direction, each in its own class:
 *
 * <ol>
 *   <li>routing, {@link CallRouter}: which server (pure over the membership and the peers);</li>
 *   <li>sending, {@link CallSender}: the call record, the in-process hand-off or the offer to a connection,
 *       back-pressure, re-routing;</li>
 *   <li>waiting, {@link CallWaiter}: a blocking caller spins (reading its connection), then parks;</li>
 *   <li>inbound dispatch, {@link InboundDispatcher}: the transport's frame handler, responses to calls and
 *       requests to local servers;</li>
 *   <li>the peer table, {@link PeerTable}: the registry's listener, lazy connections, retirement.</li>
 * </ol>
 *
 * This class wires them, owns the threads and the transport and registry, and closes them in order.
 */
public final class NodeRuntime implements Node {

    private static final System.Logger LOG = System.getLogger(NodeRuntime.class.getName());

    private final NodeOptions options;
    private final long nodeId = ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
    private final NodeCounters counters = new NodeCounters();
    private final ExecutorService handlerExecutor;
    private final boolean ownsHandlerExecutor;
    private final ExecutorService events;
    private final MembershipView view;
    private final DeadlineTimer timer;
    private final PeerTable peers;
    private final LocalServers localServers = new LocalServers(this);
    private final InboundDispatcher inbound;
    private final CallSender sender;
    private final CallWaiter waiter;
    private final Transport transport;
    private final Registry registry;
    private volatile Coordination coordination;     // created on first use, under this
    private volatile int rank = -1;
    private InetSocketAddress address;
    private String hostId = "";
    private final long startedNanos = System.nanoTime();
    private volatile boolean closed;
    /** Follows the cluster without joining it: no rank, no port, no servers. */
    private final boolean observer;
    private final ToolRequestHandler toolRequests;
    /** The options' authorizer at the servers' door; null without one. */
    private final CallAuthorization authorization;
    /** This node as the caller of its in-process calls; remade when the rank changes. */
    private volatile Caller localCaller;

    private NodeRuntime(NodeOptions options, TransportFactory transportFactory, Registry registry,
                        ToolRequestHandler toolRequests, boolean observer) {
        this.options = options;
        this.toolRequests = toolRequests;
        this.observer = observer;
        this.authorization = options.authorizer() == null ? null : new CallAuthorization(options.authorizer());
        this.ownsHandlerExecutor = options.handlerExecutor() == null;
        this.handlerExecutor = ownsHandlerExecutor
                ? Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("baton-handler-", 0).factory())
                : options.handlerExecutor();
        this.events = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon(true)
                .name("baton-events-" + options.name()).unstarted(r));
        this.view = new MembershipView(events);
        this.timer = new DeadlineTimer(options.name(), this::afterExpiries,
                () -> counters.callsStarted() + counters.requestsReceived.sum());
        this.peers = new PeerTable(this, view, timer);
        this.inbound = new InboundDispatcher(this, peers, localServers, counters, timer);
        this.sender = new CallSender(this, peers, inbound, counters, timer);
        timer.start();
        this.waiter = new CallWaiter(options.callerSpin().toNanos());
        this.registry = registry;
        this.transport = transportFactory.create(new TransportContext(options.name(), nodeId,
                observer ? PeerIdentity.ROLE_TOOL : PeerIdentity.ROLE_NODE, () -> rank, inbound, transportSettings(options)));
        peers.useTransport(transport);
    }

    /** The data transport's settings, from the node's options. */
    static TransportSettings transportSettings(NodeOptions o) {
        return TransportSettings.builder()
                .ioThreads(o.ioThreads())
                .maxMessageSize(o.maxMessageSize())
                .maxQueuedBytes(o.maxQueuedBytesPerPeer())
                .maxQueuedFrames(o.maxQueuedFramesPerPeer())
                .maxConcurrentRequests(o.maxConcurrentRequestsPerConnection())
                .ioSpin(o.ioSpin())
                .keepaliveInterval(o.keepaliveInterval())
                .keepaliveTimeout(o.keepaliveTimeout())
                .compressionThreshold(o.compressionThreshold())
                .acceptedEncodings(o.acceptCompression() ? Compressors.availableMask() : 0)
                .build();
    }

    /**
     * Starts a node: listen, join, and return once a rank is assigned. Cleans up on failure.
     *
     * @param transportFactory the data transport (the options' or the default)
     * @param registry         where the node joins (made from the options' registry factory or the default)
     * @param toolRequests     answers tools' requests on service id 0 of the data port
     */
    public static NodeRuntime start(NodeOptions options, TransportFactory transportFactory, Registry registry,
                                    ToolRequestHandler toolRequests) {
        return start(options, transportFactory, registry, toolRequests, false);
    }

    /**
     * Starts an observer ({@link Node#observe}): it follows the registry's membership and makes calls, but
     * listens on no port, takes no rank and serves nothing. Cleans up on failure.
     */
    public static NodeRuntime observe(NodeOptions options, TransportFactory transportFactory, Registry registry,
                                      ToolRequestHandler toolRequests) {
        return start(options, transportFactory, registry, toolRequests, true);
    }

    private static NodeRuntime start(NodeOptions options, TransportFactory transportFactory, Registry registry,
                                     ToolRequestHandler toolRequests, boolean observer) {
        NodeRuntime rt;
        try {
            rt = new NodeRuntime(options, transportFactory, registry, toolRequests, observer);
        } catch (RuntimeException e) {
            registry.close();
            throw e;
        }
        try {
            rt.hostId = HostIdentity.current();
            if (observer) {
                rt.registry.observe(options.name(), rt.nodeId, rt.peers, options.joinTimeout());
                return rt;
            }
            rt.address = advertised(rt.transport.listen(options.bind()), options.master());
            NodeInfo self = rt.registry.join(new NodeInfo(-1, rt.nodeId, rt.address, options.name(), rt.hostId),
                    rt.peers, options.joinTimeout());
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
     * The address other nodes are told to connect to. A wildcard bind (0.0.0.0, ::) is replaced by this host's
     * address on the route to the master (a connected UDP socket picks it; nothing is sent), else by the host's
     * name address: "0.0.0.0" is not an address another host can reach.
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
        if (observer) {
            throw new IllegalStateException("an observer node serves nothing (it has no rank and no port); start a"
                    + " node with Node.join to serve '" + service + "'");
        }
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
        return new ClientImpl(sender, waiter, this, service, dev.baton.CallOptions.DEFAULT, sender.cursor(service),
                options.clientInterceptors().toArray(new dev.baton.ClientInterceptor[0]));
    }

    @Override
    public NodeOptions options() {
        return options;
    }

    @Override
    public NodeStats stats() {
        TransportStats t = transport.stats();
        return new NodeStats(counters.callsStarted(), counters.callsSucceeded.sum(), counters.callsFailed.sum(),
                counters.localCalls.sum(), counters.requestsReceived.sum(), counters.requestsHandled.sum(),
                counters.requestsRefused.sum(), counters.lateResponses.sum(), t.connectionsOpened(),
                t.openConnections(), registry.openConnections(), t.pendingHandshakes(), t.refusedConnections(),
                t.protocolErrors(), t.queuedBytes(), t.connectionBufferBytes(), t.pooledBufferBytes(),
                t.receiveBytesReserved(), t.bufferAllocations(), peers.paths(), t.bytesRead(), t.bytesWritten(),
                counters.reroutes.sum(), counters.failuresByCode(), counters.latency());
    }

    /** For a tool's HEALTH request. */
    public Health health() {
        if (closed) {
            return new Health(false, "node", "closing");
        }
        return new Health(true, "node", registry.openConnections() > 0 ? ""
                : "the registry is unreachable: serving with the last membership");
    }

    /** For a tool's NODE_STATUS request. */
    public NodeStatus status() {
        return new NodeStatus(new NodeInfo(rank, nodeId, address != null ? address
                : InetSocketAddress.createUnresolved("observer", 0), options.name(), hostId),
                Duration.ofNanos(System.nanoTime() - startedNanos), stats());
    }

    @Override
    public void callRecorder(dev.baton.spi.CallRecorder recorder) {
        sender.recorder(recorder);
    }

    // ================================================================== for the roles

    /** The timer finished a round of expiries: hand their deliveries off. Timer thread. */
    private void afterExpiries() {
        sender.flushDeliveries();
    }

    /** The servers' authorization, or null when the options set no authorizer. */
    CallAuthorization authorization() {
        return authorization;
    }

    /**
     * Throws PERMISSION_DENIED unless the caller on {@code c}, a connection to this node's data port, may see
     * {@code what} of this node ({@code described}, for the message: "read the node's status"). Without an
     * authorizer, returns at once. Called on the I/O thread that read the question, before it is answered.
     */
    public void checkObserve(TransportConnection c, Authorizer.Observation what, String described) {
        CallAuthorization a = authorization;
        if (a == null) {
            return;
        }
        String refusal = a.observeRefusal(ConnState.of(c).caller(), what, described);
        if (refusal != null) {
            throw Status.of(Status.Code.PERMISSION_DENIED, refusal).asException();
        }
    }

    /** This node as the caller of a call it made to its own server. */
    Caller localCaller() {
        Caller c = localCaller;
        int r = rank;
        if (c == null || c.rank() != r) {
            c = new Caller(nodeId, r, observer ? Caller.Role.TOOL : Caller.Role.NODE, null, null,
                    options.clusterSecret() != null, true);
            localCaller = c;
        }
        return c;
    }

    /** A handshake's role as a {@link Caller.Role}. */
    static Caller.Role role(int wireRole) {
        return switch (wireRole) {
            case PeerIdentity.ROLE_NODE -> Caller.Role.NODE;
            case PeerIdentity.ROLE_MASTER -> Caller.Role.MASTER;
            default -> Caller.Role.TOOL;
        };
    }

    ToolRequestHandler toolRequests() {
        return toolRequests;
    }

    NodeCounters counters() {
        return counters;
    }

    long callerSpinNs() {
        return options.callerSpin().toNanos();
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

    boolean inTransportThread() {
        return transport.inTransportThread();
    }

    /** The registry gave this node a new rank (it rejoined a restarted master). */
    void rankChanged(int newRank) {
        rank = newRank;
    }

    private void checkOpen() {
        if (closed) {
            throw Status.of(Status.Code.CLOSED, "node is closed").asException();
        }
    }

    Server registerServer(String service, int serverId, ServerImpl.Entry[] handlers, ServerInterceptor[] interceptors,
                          boolean acceptsDealers,
                          int dealerCapacity, Duration timeout) {
        checkOpen();
        return localServers.register(registry, info -> new ServerImpl(this, info, handlers, interceptors, acceptsDealers,
                        dealerCapacity),
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
        // 2. GOAWAY on every connection: peers send nothing new, and close their side once the calls they have in
        //    flight here are answered. Requests that were already on the way are still served.
        peers.goAwayAll();
        // 3. drain: until peers have hung up and our own calls and handlers are done, or the drain timeout.
        long end = System.nanoTime() + options.drainTimeout().toNanos();
        while ((sender.callsInFlight() > 0 || inbound.serving() > 0 || !peers.noConnections())
                && System.nanoTime() - end < 0) {
            LockSupport.parkNanos(1_000_000L);
        }
        // 4. close: requests no dealer took are refused (retry-safe), then connections (pending calls fail with
        //    CLOSED) and threads.
        for (ServerImpl s : localServers.all()) {
            s.refuseQueued();
        }
        shutdownResources();
    }

    private void shutdownResources() {
        closed = true;
        view.close();
        peers.closeAll();
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
        return observer ? "Node[observer " + options.name() + "]" : "Node[rank " + rank + " at " + address + "]";
    }
}
