package dev.baton.testkit.registry;

import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.NodeOptions;
import dev.baton.spi.Registry;
import dev.baton.spi.RegistryContext;
import dev.baton.spi.RegistryFactory;
import dev.baton.spi.TransportFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The nodes of one test, on the registry under test: {@link Member}s (registries joined directly) and real
 * {@link Node}s (joined with {@code NodeOptions.registry}). {@link #close()} closes all of them, newest first.
 *
 * <p>Thread-safe: tests may join from several threads at once.
 */
final class Members implements AutoCloseable {

    /** The port each member claims; nothing listens there (the registry only records addresses). */
    private static final AtomicInteger PORTS = new AtomicInteger(40_000);

    private final RegistryUnderTest fixture;
    private final RegistryFactory tracking;
    private final List<AutoCloseable> opened = new ArrayList<>();
    private final Map<String, Registry> nodeRegistries = new ConcurrentHashMap<>();

    Members(RegistryUnderTest fixture) {
        this.fixture = fixture;
        // A node's registry is made inside Node.join; remember it by node name, for cutOff.
        this.tracking = context -> {
            Registry r = fixture.factory().create(context);
            nodeRegistries.put(context.name(), r);
            return r;
        };
    }

    /** A registry from the fixture's factory, not joined yet; closed with the others. */
    Registry create(String name) {
        Registry r = fixture.factory().create(new RegistryContext(name, TransportFactory.tcp()));
        track(r);
        return r;
    }

    /** A new member: a registry from the factory, joined as {@code name} with a fresh node id and address. */
    Member join(String name) {
        Registry r = create(name);
        MembershipRecorder recorder = new MembershipRecorder(name);
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", 1 + PORTS.getAndIncrement() % 65_000);
        long nodeId = ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
        NodeInfo self = r.join(new NodeInfo(-1, nodeId, address, name, "test-host/" + name), recorder,
                Member.CALL_TIMEOUT);
        return new Member(name, r, recorder, self);
    }

    /** Options of a node that joins through the registry under test; names must be unique within a test. */
    NodeOptions.Builder options(String name) {
        return NodeOptions.builder()
                .registry(tracking)
                .name(name)
                .joinTimeout(Member.CALL_TIMEOUT)
                .defaultTimeout(Duration.ofSeconds(10))
                .drainTimeout(Duration.ofSeconds(2));
    }

    /** A node joined through the registry under test. */
    Node node(String name) {
        return node(options(name).build());
    }

    Node node(NodeOptions options) {
        Node n = Node.join(options);
        track(n);
        return n;
    }

    /** The registry that {@code node} (made by {@link #node}) joined through. */
    Registry registryOf(Node node) {
        return Objects.requireNonNull(nodeRegistries.get(node.options().name()), "not a node of this test");
    }

    private synchronized void track(AutoCloseable c) {
        opened.add(c);
    }

    /** Closes every node and registry, newest first; the first failure is thrown after all were closed. */
    @Override
    public void close() {
        List<AutoCloseable> all;
        synchronized (this) {
            all = new ArrayList<>(opened);
            opened.clear();
        }
        RuntimeException failed = null;
        for (int i = all.size() - 1; i >= 0; i--) {
            try {
                all.get(i).close();
            } catch (Exception e) {
                if (failed == null) {
                    failed = new IllegalStateException("closing " + all.get(i) + " failed", e);
                } else {
                    failed.addSuppressed(e);
                }
            }
        }
        if (failed != null) {
            throw failed;
        }
    }
}
