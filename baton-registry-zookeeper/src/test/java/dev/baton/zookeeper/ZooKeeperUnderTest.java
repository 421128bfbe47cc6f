package dev.baton.zookeeper;

import dev.baton.spi.Registry;
import dev.baton.spi.RegistryFactory;
import dev.baton.testkit.registry.RegistryUnderTest;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;

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
 * A real ZooKeeper server (Curator's {@link TestingServer}, in this JVM) as the registry under test. Each node
 * reaches it through a {@link SeverableProxy} of its own, so a test can cut one node off; a restart stops the
 * server and starts it again on the same port with the same data (ZooKeeper keeps its state, unlike the
 * master).
 */
final class ZooKeeperUnderTest implements RegistryUnderTest {

    /** Short, so that expiry tests are quick; the server's tick (100 ms) allows sessions of 0.2 to 2 s. */
    static final Duration SESSION = Duration.ofSeconds(2);
    private static final int TICK_MS = 100;
    private static final AtomicInteger CLUSTERS = new AtomicInteger();

    private final TestingServer server;
    private final String root = "/baton/test-" + CLUSTERS.incrementAndGet();
    private final Map<Registry, SeverableProxy> proxies = Collections.synchronizedMap(new IdentityHashMap<>());
    private final List<SeverableProxy> all = Collections.synchronizedList(new ArrayList<>());

    ZooKeeperUnderTest() {
        try {
            InstanceSpec spec = new InstanceSpec(null, -1, -1, -1, true, -1, TICK_MS, -1);
            server = new TestingServer(spec, true);
        } catch (Exception e) {
            throw new IllegalStateException("could not start a ZooKeeper test server", e);
        }
    }

    String connectString() {
        return server.getConnectString();
    }

    String root() {
        return root;
    }

    @Override
    public RegistryFactory factory() {
        return context -> {
            SeverableProxy proxy;
            try {
                proxy = new SeverableProxy(server.getPort());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            all.add(proxy);
            Registry r = ZooKeeperRegistry.builder(proxy.connectString(), root).sessionTimeout(SESSION).build()
                    .create(context);
            proxies.put(r, proxy);
            return r;
        };
    }

    @Override
    public void stop() {
        try {
            server.stop();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void start() {
        try {
            server.restart();
        } catch (Exception e) {
            throw new IllegalStateException("could not restart the ZooKeeper test server", e);
        }
    }

    @Override
    public AutoCloseable cutOff(Registry registry) {
        SeverableProxy p = Objects.requireNonNull(proxies.get(registry), "not made by this fixture's factory");
        p.sever();
        return p::heal;
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
            server.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
