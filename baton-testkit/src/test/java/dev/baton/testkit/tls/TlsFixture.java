package dev.baton.testkit.tls;

import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.TlsOptions;
import dev.baton.spi.TransportFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What the TLS tests share: a development PKI with one CA ({@code CN=cluster-ca}), masters, nodes and bare peers
 * made with it, and everything a test opened, closed after it, the last opened first.
 */
final class TlsFixture implements AutoCloseable {

    final TestPki pki = TestPki.create();
    final TestPki.Ca ca = pki.ca("cluster-ca");
    private final List<AutoCloseable> open = new ArrayList<>();

    /** Has {@code closeable} closed at the end of the test, before what was opened earlier; returns it. */
    <T extends AutoCloseable> T add(T closeable) {
        open.add(closeable);
        return closeable;
    }

    /** A master presenting a certificate of its own, {@code CN=master}, and trusting the CA. */
    Master master() {
        return add(Master.start(MasterOptions.builder().tls(pki.options(pki.issue(ca, "master"), ca)).build()));
    }

    /** A node named {@code name} of {@code master}'s cluster over {@code tls}: calls wait 20 s, the join 5 s. */
    NodeOptions.Builder nodeOptions(Master master, String name, TlsOptions tls) {
        return NodeOptions.builder().master(master.address()).name(name).tls(tls)
                .defaultTimeout(Duration.ofSeconds(20)).joinTimeout(Duration.ofSeconds(5));
    }

    Node join(Master master, String name, TlsOptions tls) {
        return add(Node.join(nodeOptions(master, name, tls).build()));
    }

    /** A bare transport over {@code tls} (see {@link TlsPeer}). */
    TlsPeer peer(TlsOptions tls, String name) {
        return add(new TlsPeer(TransportFactory.tls(tls), name));
    }

    @Override
    public void close() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        pki.close();
    }
}
