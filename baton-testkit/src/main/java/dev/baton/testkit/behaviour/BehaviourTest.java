package dev.baton.testkit.behaviour;

import dev.baton.spi.TransportFactory;

/**
 * The base of the node behaviour suites ({@link EchoTest}, {@link ErrorsTest}, {@link ListenerCallTest},
 * {@link ServingStylesTest}, {@link FailureTest}, {@link CallModelTest}, {@link StreamTest}, {@link LanesTest}): whole
 * masters and nodes, every one of them on the transport the subclass names. A transport module runs a suite with a
 * subclass in its tests that implements one method ({@link BehaviourSuites} nests one per suite, for a test class per
 * transport: {@code TcpBehaviourTest}, {@code ShmBehaviourTest}, {@code LoopbackBehaviourTest}):
 *
 * <pre>{@code
 * class ShmEchoTest extends EchoTest {
 *     @Override
 *     protected TransportFactory transportFactory() {
 *         return SharedMemoryTransport.builder().mode(SharedMemory.REQUIRED).build();
 *     }
 * }
 * }</pre>
 */
public abstract class BehaviourTest {

    /**
     * The transport under test. Called once per cluster; every master and node of that cluster uses the factory
     * returned, so its transports must reach each other's listening addresses (a loopback factory is one network).
     */
    protected abstract TransportFactory transportFactory();

    /**
     * Connections per peer ({@code NodeOptions.lanes}, and as many I/O threads) of every node the suite starts: 1
     * unless a subclass runs the suite over several lanes.
     */
    protected int lanes() {
        return 1;
    }

    /** A master and {@code nodes} nodes on the transport under test. */
    protected final Cluster cluster(int nodes) {
        return Cluster.withNodes(transportFactory(), lanes(), nodes);
    }

    /** A master without nodes, on the transport under test. */
    protected final Cluster cluster() {
        return Cluster.start(transportFactory(), lanes());
    }
}
