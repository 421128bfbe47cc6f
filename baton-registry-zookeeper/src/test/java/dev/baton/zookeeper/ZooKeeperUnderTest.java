package dev.baton.zookeeper;

import dev.baton.spi.Registry;
import dev.baton.spi.RegistryFactory;
import dev.baton.testkit.registry.RegistryUnderTest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Real ZooKeeper servers in this JVM ({@link TestServers}: a standalone server or a three-member ensemble) as the
 * registry under test. Each node reaches every member through a {@link SeverableProxy} of its own, so a test can
 * cut one node off; a restart stops every member and starts it again on the same port with the same data
 * (ZooKeeper keeps its state, unlike the master).
 */
final class ZooKeeperUnderTest implements RegistryUnderTest {

    /** Short, so that expiry tests are quick; the server's tick (100 ms) allows sessions of 0.2 to 2 s. */
    static final Duration SESSION = Duration.ofSeconds(2);
    private static final int TICK_MS = TestServers.TICK_MS;
    private static final AtomicInteger CLUSTERS = new AtomicInteger();

    /** Servers the conformance tests share, standalone (false) and ensemble (true); see {@link #shared}. */
    private static final Map<Boolean, Shared> SHARED = new HashMap<>();

    private final TestServers servers;
    private final Shared shared;            // null when this fixture owns its servers
    private final String root = "/baton/test-" + CLUSTERS.incrementAndGet();
    private final Map<Registry, List<SeverableProxy>> proxies = Collections.synchronizedMap(new IdentityHashMap<>());
    private final List<SeverableProxy> all = Collections.synchronizedList(new ArrayList<>());

    /** On a standalone server. */
    ZooKeeperUnderTest() {
        this(false);
    }

    /** On a three-member ensemble ({@code ensemble}) or a standalone server. */
    ZooKeeperUnderTest(boolean ensemble) {
        servers = start(ensemble);
        shared = null;
    }

    private ZooKeeperUnderTest(Shared shared) {
        this.servers = shared.servers;
        this.shared = shared;
    }

    /** Servers several fixtures use in turn; {@code down} while a test has stopped them. */
    private static final class Shared {
        final TestServers servers;
        volatile boolean down;

        Shared(TestServers servers) {
            this.servers = servers;
        }
    }

    /**
     * A fixture on servers shared with the other fixtures made so, one test after another, each under a root of its
     * own: starting a three-member ensemble per test was most of the conformance suite's time. A test that stopped
     * them and failed before starting them again leaves them to be started here. {@link #closeShared} ends them.
     */
    static synchronized ZooKeeperUnderTest shared(boolean ensemble) {
        Shared s = SHARED.computeIfAbsent(ensemble, e -> new Shared(start(e)));
        if (s.down) {
            try {
                s.servers.startAll();
            } catch (Exception e) {
                throw new IllegalStateException("could not restart the shared ZooKeeper test servers", e);
            }
            s.down = false;
        }
        return new ZooKeeperUnderTest(s);
    }

    /** Closes the servers {@link #shared} started. */
    static synchronized void closeShared() throws IOException {
        for (Shared s : SHARED.values()) {
            s.servers.close();
        }
        SHARED.clear();
    }

    /**
     * The servers' ports are picked free before they bind, so another process may take one in between: a failed
     * start is tried again, a few times.
     */
    private static TestServers start(boolean ensemble) {
        Exception last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                return ensemble ? TestServers.ensemble(3) : TestServers.standalone();
            } catch (Exception e) {
                last = e;
            }
        }
        throw new IllegalStateException("could not start ZooKeeper test servers", last);
    }

    /** The members' own addresses (no proxy). */
    String connectString() {
        return String.join(",", servers.ports().stream().map(p -> "127.0.0.1:" + p).toList());
    }

    String root() {
        return root;
    }

    @Override
    public RegistryFactory factory() {
        return context -> {
            List<SeverableProxy> mine = new ArrayList<>();
            try {
                for (int port : servers.ports()) {
                    mine.add(new SeverableProxy(port));
                }
            } catch (IOException e) {
                mine.forEach(SeverableProxy::close);
                throw new UncheckedIOException(e);
            }
            all.addAll(mine);
            String connect = String.join(",", mine.stream().map(SeverableProxy::connectString).toList());
            // The proxies' addresses, not the ones the ensemble announces: otherwise a node could not be cut off.
            Registry r = ZooKeeperRegistry.builder(connect, root).sessionTimeout(SESSION).followEnsembleChanges(false)
                    .build().create(context);
            proxies.put(r, mine);
            return r;
        };
    }

    @Override
    public void stop() {
        if (shared != null) {
            shared.down = true;
        }
        try {
            servers.stopAll();
        } catch (Exception e) {
            throw new IllegalStateException("could not stop the ZooKeeper test servers", e);
        }
    }

    @Override
    public void start() {
        try {
            servers.startAll();
            if (shared != null) {
                shared.down = false;
            }
        } catch (Exception e) {
            throw new IllegalStateException("could not restart the ZooKeeper test servers", e);
        }
    }

    @Override
    public AutoCloseable cutOff(Registry registry) {
        List<SeverableProxy> mine = Objects.requireNonNull(proxies.get(registry), "not made by this fixture's factory");
        mine.forEach(SeverableProxy::sever);
        return () -> mine.forEach(SeverableProxy::heal);
    }

    /**
     * The server expires a silent session after its timeout, on its next tick, and tells every watcher at once.
     * A second and a half of slack covers a loaded machine.
     */
    @Override
    public Duration sessionExpiry() {
        return SESSION.plusMillis(TICK_MS).plusMillis(1_500);
    }

    @Override
    public void close() {
        synchronized (all) {
            all.forEach(SeverableProxy::close);
        }
        if (shared != null) {
            return;     // the servers stay for the next test
        }
        try {
            servers.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
