package dev.baton.internal.rpc;

import dev.baton.Server;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.spi.Registry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * The servers this node hosts, by service id, and the hand-off of each request to one of them.
 *
 * <p>A request can arrive for a server whose registration is still completing: the registry has told
 * other nodes, but our own registration call has not returned yet. Such requests are parked (not refused)
 * while a registration is in flight, and dispatched again when it ends.
 *
 * <p>Thread-safe: the table is concurrent; the parked list is guarded by itself.
 */
final class LocalServers {

    /**
     * The servers of one service hosted here: an array replaced on every change (copy on write), so a request
     * looks its server up by index, allocating nothing (an iterator per lookup would be garbage per call).
     */
    private static final class Service {
        private static final ServerImpl[] NONE = new ServerImpl[0];
        private volatile ServerImpl[] servers = NONE;
        private final AtomicInteger cursor = new AtomicInteger();

        synchronized void add(ServerImpl s) {
            ServerImpl[] now = Arrays.copyOf(servers, servers.length + 1);
            now[now.length - 1] = s;
            servers = now;
        }

        synchronized void remove(ServerImpl s) {
            ServerImpl[] now = servers;
            for (int i = 0; i < now.length; i++) {
                if (now[i] == s) {
                    ServerImpl[] fewer = new ServerImpl[now.length - 1];
                    System.arraycopy(now, 0, fewer, 0, i);
                    System.arraycopy(now, i + 1, fewer, i, now.length - i - 1);
                    servers = fewer;
                    return;
                }
            }
        }

        ServerImpl[] all() {
            return servers;
        }

        ServerImpl byId(int serverId) {
            ServerImpl[] now = servers;
            for (int i = 0; i < now.length; i++) {
                if (now[i].serverId() == serverId) {
                    return now[i];
                }
            }
            return null;
        }

        ServerImpl next() {
            ServerImpl[] now = servers;
            return now.length == 0 ? null : now[Math.floorMod(cursor.getAndIncrement(), now.length)];
        }
    }

    private final NodeRuntime node;
    private final IntTable<Service> services = new IntTable<>();
    private final AtomicInteger registrationsInFlight = new AtomicInteger();
    private final List<ServerCallImpl> parked = new ArrayList<>();   // guarded by itself

    LocalServers(NodeRuntime node) {
        this.node = node;
    }

    /** Registers with {@code registry}, then makes the server reachable here. */
    Server register(Registry registry, Function<ServerInfo, ServerImpl> create, String service, int serverId,
                    Duration timeout) {
        registrationsInFlight.incrementAndGet();
        try {
            ServerInfo info = registry.registerServer(service, serverId, timeout);
            ServerImpl server = create.apply(info);
            services.computeIfAbsent(info.serviceId(), id -> new Service()).add(server);
            return server;
        } finally {
            registrationsInFlight.decrementAndGet();
            redispatchParked();
        }
    }

    /** Every server hosted here (for the node's close). */
    List<ServerImpl> all() {
        List<ServerImpl> out = new ArrayList<>();
        for (Service s : services.values()) {
            out.addAll(Arrays.asList(s.all()));
        }
        return out;
    }

    void remove(ServerImpl server) {
        Service s = services.get(server.serviceId());
        if (s != null) {
            s.remove(server);
        }
    }

    /** Finds the server a request names (or the next one of its service) and hands it the call. */
    void dispatch(ServerCallImpl sc) {
        Service s = services.get(sc.serviceIdRequested());
        ServerImpl server = null;
        if (s != null) {
            server = sc.serverIdRequested() >= 0 ? s.byId(sc.serverIdRequested()) : s.next();
        }
        if (server == null || server.isClosed()) {
            if (registrationsInFlight.get() > 0 && park(sc)) {
                return;
            }
            int rank = node.rank();
            node.counters().requestRefused();
            sc.refuse(s == null
                    ? Status.of(Status.Code.NO_SUCH_SERVICE, "rank " + rank + " serves no service with id "
                    + sc.serviceIdRequested())
                    : Status.of(Status.Code.NO_SUCH_SERVER, "rank " + rank + " has no server " + sc.serverIdRequested()
                    + " of service id " + sc.serviceIdRequested()));
            return;
        }
        server.dispatch(sc);
    }

    private boolean park(ServerCallImpl sc) {
        synchronized (parked) {
            if (registrationsInFlight.get() == 0) {
                return false;
            }
            sc.retain();        // parked's, until dispatched again
            parked.add(sc);
            return true;
        }
    }

    private void redispatchParked() {
        List<ServerCallImpl> again;
        synchronized (parked) {
            if (parked.isEmpty()) {
                return;
            }
            again = new ArrayList<>(parked);
            parked.clear();
        }
        for (ServerCallImpl sc : again) {
            try {
                dispatch(sc);
            } finally {
                sc.release();
            }
        }
    }
}
