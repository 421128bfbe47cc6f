package dev.baton.testkit.behaviour;

import dev.baton.spi.TransportFactory;
import dev.baton.testkit.transport.LoopbackTransport;

/** The node behaviour suites over the in-memory loopback transport (a new network per cluster). */
class LoopbackBehaviourTest extends BehaviourSuites {

    @Override
    protected TransportFactory transport() {
        return LoopbackTransport.factory();
    }
}
