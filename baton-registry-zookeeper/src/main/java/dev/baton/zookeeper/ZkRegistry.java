package dev.baton.zookeeper;

import dev.baton.BatonException;
import dev.baton.Coordination;
import dev.baton.Membership;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.spi.Registry;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Stat;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A node's registry on a ZooKeeper ensemble (see {@link ZooKeeperRegistry} and {@link ZkLayout}).
 *
 * <h2>Sessions</h2>
 * The node is a member while its ZooKeeper session lives. A disconnection shorter than the session timeout
 * changes nothing but a resynchronisation of the view when it ends (notifications may have been missed). When
 * the session ends (expired, or Curator gave it up after a session timeout without a connection), ZooKeeper has
 * removed the node everywhere; once connected again with a new session the node joins again: its old rank
 * when still free (it is, unless an administrator deleted it by hand), its servers with their old ids, then a
 * fresh snapshot and {@link Listener#onRejoined}. Data-plane connections to other nodes never depend on it.
 *
 * <h2>Threads</h2>
 * One worker thread ({@code baton-zk-NAME}) creates the ZooKeeper client (so ZooKeeper's own threads are named
 * after it) and does the slow work that notifications ask for: resynchronising, rejoining, removing stale
 * entries. The listener is called on ZooKeeper's event thread for changes and on the calling or worker thread for
 * snapshots, one at a time ({@link ZkMembershipView}'s lock).
 */
final class ZkRegistry implements Registry {

    private static final System.Logger LOG = System.getLogger(ZkRegistry.class.getName());
    /**
     * How long close waits for the worker: a rejoin stops between steps and its calls are interrupted, so this is
     * a bound on one ZooKeeper round trip, not the usual wait.
     */
    /** Between attempts to read a snapshot after one failed. */
    private static final long RESYNC_RETRY_MS = 200;
    private static final Duration WORKER_STOP_TIMEOUT = Duration.ofSeconds(10);

    private final ZooKeeperRegistry.ZkSettings settings;
    private final String name;
    private final ZkLayout layout;
    private final ExecutorService worker;
    private final Map<String, ServerInfo> servers = new ConcurrentHashMap<>();
    /** The ACL of the znodes this node creates (its creator's alone when it authenticates). */
    private final List<ACL> acl;
    private final ZkHandles handles = new ZkHandles();

    private volatile CuratorFramework client;
    private volatile ZkAllocator allocator;
    private volatile ZkMembershipView view;
    private volatile NodeInfo self;
    private volatile long session;
    /** While a rejoin brings this node's servers back: new registrations wait (UNAVAILABLE, retry-safe). */
    private volatile boolean rejoining;
    private Listener listener;
    private Duration timeout = Duration.ofSeconds(10);
    private ZkCoordination coordination;
    private volatile boolean closed;

    ZkRegistry(ZooKeeperRegistry.ZkSettings settings, String name) {
        this.settings = settings;
        this.name = name;
        this.layout = new ZkLayout(settings.root());
        this.acl = ZkAllocator.aclFor(settings.authScheme() != null);
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "baton-zk-" + name);
            t.setDaemon(true);
            return t;
        });
    }

    // ------------------------------------------------------------------ joining

    @Override
    public NodeInfo join(NodeInfo wanted, Listener listener, Duration timeout) {
        return start(wanted, listener, timeout);
    }

    /**
     * Follows the members znode without an entry of its own: the observer takes no rank and no other node sees
     * it. A new session (after an expiry) watches again and resynchronises; there is nothing to re-create.
     */
    @Override
    public void observe(String observerName, long observerId, Listener listener, Duration timeout) {
        start(null, listener, timeout);
    }

    /** Connects and follows the membership; joins as {@code wanted} unless it is null (an observer). */
    private NodeInfo start(NodeInfo wanted, Listener listener, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            checkOpen();
            this.listener = listener;
            this.timeout = timeout;
        }
        try {
            client = onWorker(() -> handles.newClient(settings, layout, acl, timeout));
            awaitConnected(deadline);
            allocator = new ZkAllocator(client, layout, acl);
            prepareRoot();
            ZkMembershipView v = new ZkMembershipView(layout.members, listener, this::nodeGone, this::resyncLater);
            view = v;
            watchMembers(v);
            if (wanted != null) {
                self = createNodeEntry(wanted, -1, deadline);
            } else {
                session = sessionId();      // what a reconnection compares with: same session, or a new one
            }
            readSnapshot(v);
            client.getConnectionStateListenable().addListener((c, state) -> onConnectionState(state), worker);
            if (wanted != null) {
                worker.execute(this::removeStaleEntries);
            }
            return self;
        } catch (RuntimeException e) {
            closeClient();
            throw e;
        }
    }

    private void prepareRoot() {
        try {
            ZkRoot.prepare(client, layout);
        } catch (BatonException e) {
            throw e;
        } catch (Exception e) {
            throw failure("preparing root " + layout.root, e);
        }
    }

    private void watchMembers(ZkMembershipView v) {
        try {
            // On ZooKeeper's handle, not through Curator: Curator's watcher wrapper drops the event's zxid.
            client.getZookeeperClient().getZooKeeper().addWatch(layout.members, v::onWatch,
                    AddWatchMode.PERSISTENT_RECURSIVE);
        } catch (Exception e) {
            throw failure("watching " + layout.members, e);
        }
    }

    /**
     * Creates this session's node entry with {@code requestedRank} when it is free, or a new rank; returns
     * the node as joined. A retried attempt finds the entry it made before.
     */
    private NodeInfo createNodeEntry(NodeInfo wanted, int requestedRank, long deadline) {
        long s = sessionId();
        for (int attempt = 0; attempt < ZkAllocator.MAX_ATTEMPTS; attempt++) {
            awaitConnected(deadline);
            try {
                for (String child : attempt == 0 ? List.<String>of() : client.getChildren().forPath(layout.members)) {
                    if (ZkLayout.parse(child) instanceof ZkLayout.NodeEntry n && n.session() == s) {
                        session = s;    // an earlier attempt made it, and lost the answer
                        return n.node();
                    }
                }
                int rank = requestedRank >= 0 && attempt == 0 ? requestedRank : allocator.nextRank();
                NodeInfo node = wanted.withRank(rank);
                ZkLayout.NodeEntry entry = new ZkLayout.NodeEntry(s, node);
                try {
                    allocator.multi(List.of(
                            Op.create(layout.rank(rank), new byte[0], allocator.acl(), CreateMode.EPHEMERAL),
                            Op.create(layout.member(entry.name()), new byte[0], allocator.acl(),
                                    CreateMode.EPHEMERAL)));
                    session = s;
                    return node;
                } catch (KeeperException.NodeExistsException taken) {
                    if (requestedRank >= 0) {
                        LOG.log(System.Logger.Level.WARNING, "rank {0} is taken; joining with a new rank", rank);
                    }
                }
            } catch (BatonException e) {
                throw e;
            } catch (Exception e) {
                if (!(e instanceof KeeperException.ConnectionLossException) || System.nanoTime() > deadline) {
                    throw failure("joining", e);
                }
            }
        }
        throw Status.of(Status.Code.UNAVAILABLE, "could not take a rank in " + layout.ranks).asException();
    }

    private void readSnapshot(ZkMembershipView v) {
        try {
            Stat stat = new Stat();
            List<String> children = client.getChildren().storingStatIn(stat).forPath(layout.members);
            v.install(stat.getPzxid(), children);
        } catch (Exception e) {
            throw failure("reading the membership", e);
        }
    }

    // ------------------------------------------------------------------ servers

    @Override
    public ServerInfo registerServer(String service, int serverId, Duration timeout) {
        if (service == null || service.isEmpty()) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "service name must not be empty").asException();
        }
        checkOpen();
        if (rejoining || (self != null && sessionId() != session)) {
            // Its old servers come back first, with their ids: a new one registered meanwhile could take one. A new
            // session whose rejoin has not started yet counts too: the old session's entries may still stand, and
            // a server registered against them would be in before the node's own are back.
            throw Status.of(Status.Code.UNAVAILABLE, name + " is joining ZooKeeper again; its servers come back "
                    + "first").withRetrySafe(true).asException();
        }
        ServerInfo info = register(service, serverId, -1);
        servers.put(key(info), info);
        return info;
    }

    private ServerInfo register(String service, int requested, int requestedServiceId) {
        checkConnected();
        NodeInfo me = self;
        try {
            int serviceId = allocator.serviceId(service, requestedServiceId);
            for (int attempt = 0; attempt < ZkAllocator.MAX_ATTEMPTS; attempt++) {
                int serverId = allocator.takeServerId(service, requested);
                ServerInfo info = new ServerInfo(service, serviceId, serverId, me.rank());
                ZkLayout.ServerEntry entry = new ZkLayout.ServerEntry(session, info);
                try {
                    allocator.multi(List.of(Op.check(layout.member(new ZkLayout.NodeEntry(session, me).name()), -1),
                            Op.create(layout.serverGuard(service, serverId), new byte[0], allocator.acl(),
                                    CreateMode.EPHEMERAL),
                            Op.create(layout.member(entry.name()), new byte[0], allocator.acl(),
                                    CreateMode.PERSISTENT)));
                    return info;
                } catch (KeeperException.NodeExistsException taken) {
                    if (requested >= 0) {
                        throw Status.of(Status.Code.ALREADY_EXISTS, "service '" + service + "' already has server id "
                                + requested).asException();
                    }
                } catch (KeeperException.NoNodeException gone) {
                    throw Status.of(Status.Code.UNAVAILABLE, "this node's ZooKeeper session ended; it is joining "
                            + "again").withRetrySafe(true).asException();
                }
            }
            throw Status.of(Status.Code.RESOURCE_EXHAUSTED, "no free server id for '" + service + "'").asException();
        } catch (BatonException e) {
            throw e;
        } catch (Exception e) {
            throw failure("registering a server of '" + service + "'", e);
        }
    }

    @Override
    public void deregisterServer(ServerInfo server, Duration timeout) {
        checkOpen();
        ServerInfo ours = servers.get(key(server));
        if (ours == null || !ours.equals(server)) {
            throw Status.of(Status.Code.NO_SUCH_SERVER, "no server " + server.serverId() + " of '" + server.service()
                    + "' on this node").asException();
        }
        checkConnected();
        try {
            allocator.multi(List.of(Op.delete(layout.serverGuard(server.service(), server.serverId()), -1),
                    Op.delete(layout.member(new ZkLayout.ServerEntry(session, server).name()), -1)));
            servers.remove(key(server));
        } catch (KeeperException.NoNodeException gone) {
            servers.remove(key(server));
            throw Status.of(Status.Code.NO_SUCH_SERVER, "server " + server.serverId() + " of '" + server.service()
                    + "' is not registered").asException();
        } catch (Exception e) {
            throw failure("removing a server of '" + server.service() + "'", e);
        }
    }

    private static String key(ServerInfo s) {
        return s.service() + "/" + s.serverId();
    }

    // ------------------------------------------------------------------ sessions

    private void onConnectionState(ConnectionState state) {
        if (closed) {
            return;
        }
        switch (state) {
            case SUSPENDED -> LOG.log(System.Logger.Level.WARNING, "{0}: lost the connection to ZooKeeper; the last "
                    + "membership stays in use", name);
            case LOST -> LOG.log(System.Logger.Level.WARNING, "{0}: the ZooKeeper session ended; the node will join "
                    + "again when ZooKeeper is back", name);
            case RECONNECTED -> recover();
            default -> { }
        }
    }

    /** Connected again (worker thread): the same session resynchronises, a new one joins again. */
    private void recover() {
        if (closed) {
            return;
        }
        try {
            ZkMembershipView v = view;
            if (sessionId() == session) {
                resync(v);
                return;
            }
            v.hold();
            watchMembers(v);
            NodeInfo old = self;
            if (old == null) {          // an observer: nothing of its own to bring back
                session = sessionId();
                readSnapshot(v);
                return;
            }
            rejoining = true;
            awaitOldSessionGone(old);
            stopIfClosing();
            NodeInfo rejoined = createNodeEntry(old, old.rank(), System.nanoTime() + timeout.toNanos());
            self = rejoined;
            for (ServerInfo s : List.copyOf(servers.values())) {
                stopIfClosing();
                try {
                    ServerInfo again = register(s.service(), s.serverId(), s.serviceId());
                    servers.put(key(again), again);
                } catch (BatonException e) {
                    LOG.log(System.Logger.Level.WARNING,
                            "{0}: server {1} of ''{2}'' could not be registered again: {3}",
                            name, s.serverId(), s.service(), e.getMessage());
                }
            }
            rejoining = false;
            stopIfClosing();
            readSnapshot(v);
            LOG.log(System.Logger.Level.INFO, "{0}: joined ZooKeeper again as rank {1}", name, rejoined.rank());
            listener.onRejoined(rejoined);
        } catch (RuntimeException e) {
            rejoining = false;  // registering fails on its own until the next reconnection rejoins
            if (closed || Thread.currentThread().isInterrupted()) {
                return;         // closing: the rejoin is abandoned
            }
            LOG.log(System.Logger.Level.WARNING, "{0}: could not join ZooKeeper again ({1}); retrying on the next "
                    + "reconnection", name, e.getMessage());
            resync(view);       // the view keeps following the cluster meanwhile
        }
    }

    /** A rejoin stops between its steps once the registry closes (close waits for it before closing the client). */
    private void stopIfClosing() {
        if (closed || Thread.currentThread().isInterrupted()) {
            throw Status.of(Status.Code.CLOSED, "registry closed").asException();
        }
    }

    /**
     * Curator may give a session up (LOST) before the ensemble expires it: until the ensemble does, the old
     * session's ephemeral znodes (node entry, rank, server ids) still stand and would make this node lose its
     * rank and server ids. They all go in one transaction, so waiting for the node entry is enough; bounded by
     * the session timeout and a little more.
     */
    private void awaitOldSessionGone(NodeInfo old) {
        String entry = layout.member(new ZkLayout.NodeEntry(session, old).name());
        long until = System.nanoTime() + settings.sessionTimeout().plusSeconds(2).toNanos();
        try {
            while (!closed && client.checkExists().forPath(entry) != null && System.nanoTime() < until) {
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            throw failure("waiting for the old session to end", e);
        }
    }

    private void resyncLater() {
        if (!closed) {
            worker.execute(() -> resync(view));
        }
    }

    /**
     * Holds the view's notifications and reads a new snapshot (worker thread). A snapshot that cannot be read is
     * tried again every {@link #RESYNC_RETRY_MS} ms until one is read, the session ends (its recovery reads one)
     * or the registry closes: the held view must never stay frozen.
     */
    private void resync(ZkMembershipView v) {
        if (closed || v != view) {
            return;
        }
        v.hold();
        try {
            readSnapshot(v);
        } catch (BatonException e) {
            LOG.log(System.Logger.Level.WARNING, "{0}: could not resynchronise the membership ({1}); trying again",
                    name, e.getMessage());
            CompletableFuture.delayedExecutor(RESYNC_RETRY_MS, TimeUnit.MILLISECONDS, worker)
                    .execute(() -> resync(v));
        }
    }

    /** A node left (under the view's lock): the lowest-ranked member removes the entries it left behind. */
    private void nodeGone(long goneSession, Membership after) {
        NodeInfo me = self;
        if (!closed && me != null && !after.nodes().isEmpty() && after.nodes().getFirst().rank() == me.rank()) {
            worker.execute(this::removeStaleEntries);
        }
    }

    /** Deletes server entries whose node has left (best effort; any node may do it, deletions are idempotent). */
    private void removeStaleEntries() {
        ZkMembershipView v = view;
        if (closed || v == null) {
            return;
        }
        try {
            for (String child : client.getChildren().forPath(layout.members)) {
                if (ZkLayout.parse(child) instanceof ZkLayout.ServerEntry s && !v.isMember(s.session())) {
                    try {
                        client.delete().forPath(layout.member(child));
                    } catch (KeeperException.NoNodeException done) {
                        // another node removed it
                    }
                }
            }
        } catch (Exception e) {
            LOG.log(System.Logger.Level.DEBUG, "stale entries stay for now: {0}", e.getMessage());
        }
    }

    // ------------------------------------------------------------------ coordination, stats, close

    @Override
    public synchronized Coordination coordination(Executor events) {
        if (coordination == null) {
            if (client == null) {
                throw Status.of(Status.Code.UNAVAILABLE, "join first").asException();
            }
            coordination = new ZkCoordination(client, layout.coordination, events, timeout);
            if (closed) {
                coordination.close();
            }
        }
        return coordination;
    }

    @Override
    public int openConnections() {
        CuratorFramework c = client;
        return c != null && c.getZookeeperClient().isConnected() ? 1 : 0;
    }

    /**
     * Leaves: the node entry goes first (one transaction, so every node removes its servers and then the node),
     * then this node's server entries, then the session. Bounded: if ZooKeeper does not answer, the session's
     * end removes the node anyway and the others clean up.
     */
    @Override
    public void close() {
        ZkCoordination k;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            k = coordination;
        }
        if (k != null) {
            k.close();
        }
        ZkMembershipView v = view;
        if (v != null) {
            v.close();
        }
        CuratorFramework c = client;
        NodeInfo me = self;
        if (c != null && me != null && c.getZookeeperClient().isConnected()) {
            try {
                allocator.multi(List.of(Op.delete(layout.member(new ZkLayout.NodeEntry(session, me).name()), -1),
                        Op.delete(layout.rank(me.rank()), -1)));
                for (ServerInfo s : servers.values()) {
                    allocator.multi(List.of(Op.delete(layout.serverGuard(s.service(), s.serverId()), -1),
                            Op.delete(layout.member(new ZkLayout.ServerEntry(session, s).name()), -1)));
                }
            } catch (Exception e) {
                LOG.log(System.Logger.Level.DEBUG, "leaving ZooKeeper by closing the session: {0}", e.getMessage());
            }
        }
        closeClient();
    }

    /**
     * Stops the worker first (a rejoin in progress would otherwise make Curator open a new ZooKeeper handle, and
     * its threads, after the close), then closes the client and with it the handle's threads.
     */
    private void closeClient() {
        worker.shutdownNow();
        try {
            if (!worker.awaitTermination(WORKER_STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.log(System.Logger.Level.WARNING, "{0}: the registry's worker did not stop within {1} ms", name,
                        WORKER_STOP_TIMEOUT.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        CuratorFramework c = client;
        if (c != null) {
            c.close();
        }
        handles.closeAll();     // a handle Curator made while it was closing (see ZkHandles)
    }

    // ------------------------------------------------------------------ plumbing

    private void checkOpen() {
        if (closed) {
            throw Status.of(Status.Code.CLOSED, "registry closed").asException();
        }
    }

    private long sessionId() {
        try {
            return client.getZookeeperClient().getZooKeeper().getSessionId();
        } catch (Exception e) {
            throw failure("reading the session", e);
        }
    }

    /**
     * Registry calls fail at once while ZooKeeper is away, as they do while the master is: a caller that wants to
     * wait retries (the error is retry-safe).
     */
    private void checkConnected() {
        if (!client.getZookeeperClient().isConnected()) {
            throw Status.of(Status.Code.UNAVAILABLE, "not connected to ZooKeeper at " + settings.connectString())
                    .withRetrySafe(true).asException();
        }
    }

    private void awaitConnected(long deadline) {
        long ms = Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
        try {
            if (!client.blockUntilConnected((int) Math.min(Integer.MAX_VALUE, ms), TimeUnit.MILLISECONDS)) {
                throw Status.of(Status.Code.UNAVAILABLE, "ZooKeeper at " + settings.connectString() + " is not "
                        + (settings.tls() == null ? "reachable" : "reachable over TLS (ZooKeeper's client logs why a "
                        + "handshake failed)")).withRetrySafe(true).asException();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.of(Status.Code.UNAVAILABLE, "interrupted while waiting for ZooKeeper").asException();
        }
    }

    private <T> T onWorker(java.util.concurrent.Callable<T> task) {
        try {
            return worker.submit(task).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.of(Status.Code.UNAVAILABLE, "interrupted while starting the ZooKeeper client").asException();
        } catch (ExecutionException e) {
            throw failure("starting the ZooKeeper client", e.getCause());
        }
    }

    /** A ZooKeeper or Curator failure as Baton's typed error. */
    BatonException failure(String what, Throwable e) {
        if (e instanceof BatonException b) {
            return b;
        }
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        // The same classification as the coordination side's (ZkOps), so both report a code alike.
        Status.Code code = switch (e) {
            case KeeperException.NoAuthException x -> Status.Code.INVALID_ARGUMENT;
            case KeeperException.AuthFailedException x -> Status.Code.INVALID_ARGUMENT;
            case KeeperException k when ZkOps.isConnectionProblem(k.code()) -> Status.Code.UNAVAILABLE;
            case InterruptedException x -> Status.Code.UNAVAILABLE;
            default -> Status.Code.INTERNAL;
        };
        String why = code == Status.Code.INVALID_ARGUMENT
                ? "ZooKeeper refused access to " + layout.root + " (check the ACLs and the authorization)"
                : "ZooKeeper at " + settings.connectString() + ": " + e;
        return Status.of(code, what + " failed: " + why).withCause(e).asException();
    }
}
