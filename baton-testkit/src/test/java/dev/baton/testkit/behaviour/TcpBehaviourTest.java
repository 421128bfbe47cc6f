package dev.baton.testkit.behaviour;

import dev.baton.spi.TransportFactory;

/** The node behaviour suites over Baton's TCP transport. */
class TcpBehaviourTest extends BehaviourSuites {

    @Override
    protected TransportFactory transport() {
        return TransportFactory.tcp();
    }
}
