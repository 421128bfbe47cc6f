package dev.baton.testkit.registry.master;

import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.spi.Registry;
import dev.baton.spi.RegistryContext;
import dev.baton.spi.RegistryFactory;
import dev.baton.testkit.registry.RegistryUnderTest;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The master as the registry under test: a {@link Master} on loopback with a short lease. A restart closes it
 * and starts a new, empty one on the same address; a node is cut off by severing the transport of its master
 * connection ({@link SeverableTransport}), so its lease lapses.
 */
final class MasterUnderTest implements RegistryUnderTest {

    /**
     * Shorter than the default (3 s), so that expiry tests are quick, yet long enough that a JVM stalled for a
     * second on a loaded machine keeps its nodes (a 600 ms lease lost them).
     */
    static final Duration LEASE = Duration.ofSeconds(2);

    private final MasterOptions options;
    private final Map<Registry, SeverableTransport> transports = Collections.synchronizedMap(new IdentityHashMap<>());
    private Master master;

    MasterUnderTest() {
        master = Master.start(MasterOptions.builder().leaseTimeout(LEASE).build());
        // Restarts reuse the port the first master got.
        options = MasterOptions.builder().bind(master.address()).leaseTimeout(LEASE).build();
    }

    @Override
    public RegistryFactory factory() {
        InetSocketAddress address = options.bind();
        return context -> {
            SeverableTransport transport = new SeverableTransport(context.transports());
            Registry r = Master.registry(address).create(new RegistryContext(context.name(), transport));
            transports.put(r, transport);
            return r;
        };
    }

    @Override
    public void stop() {
        master.close();
    }

    @Override
    public void start() {
        master = Master.start(options);
    }

    @Override
    public AutoCloseable cutOff(Registry registry) {
        SeverableTransport t = Objects.requireNonNull(transports.get(registry), "not made by this fixture's factory");
        t.sever();
        return t::heal;
    }

    /**
     * The master closes the connection of a node it heard nothing from for the lease (the node's last ping
     * went out before it was cut off), on its next tick, and tells every node at once. A second and a half of
     * slack covers a loaded machine.
     */
    @Override
    public Duration sessionExpiry() {
        return LEASE.plusMillis(1_500);
    }

    @Override
    public void close() {
        master.close();
    }
}
