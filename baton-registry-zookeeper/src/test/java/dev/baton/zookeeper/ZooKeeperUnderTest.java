package dev.baton.zookeeper;

import dev.baton.spi.Registry;
import dev.baton.spi.RegistryFactory;
import dev.baton.testkit.registry.RegistryUnderTest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
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

    private final TestServers servers;
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
        try {
            servers.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
