package dev.baton.testkit.tls;

import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Status;
import dev.baton.TlsOptions;
import dev.baton.testkit.Wait;
import dev.baton.testkit.behaviour.Cluster;
import dev.baton.spi.TransportFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    /**
     * Three nodes of {@code master}'s cluster, {@code node-a} serving "echo", {@code node-b} and {@code node-c}
     * calling it, each over {@code tls} of a certificate from {@code issue}; the first calls made.
     */
    EchoTrio echoTrio(Master master, Function<String, TestPki.Issued> issue,
                      Function<TestPki.Issued, TlsOptions> tls) throws Exception {
        Node a = join(master, "node-a", tls.apply(issue.apply("node-a")));
        TestPki.Issued bCert = issue.apply("node-b");
        Node b = join(master, "node-b", tls.apply(bCert));
        Node c = join(master, "node-c", tls.apply(issue.apply("node-c")));
        add(Cluster.startEcho(a, "echo"));
        EchoTrio trio = new EchoTrio(master, a, bCert, b.client("echo"), c.client("echo"));
        trio.fromB().awaitServers(1, Duration.ofSeconds(10));
        trio.fromC().awaitServers(1, Duration.ofSeconds(10));
        assertEquals("before", trio.echoFromB());
        assertEquals("before", trio.echoFromC());
        return trio;
    }

    /** What {@link #echoTrio} made. */
    record EchoTrio(Master master, Node a, TestPki.Issued bCert, Client fromB, Client fromC) {

        String echoFromB() {
            return new String(fromB.call(Cluster.ECHO, "before".getBytes()));
        }

        String echoFromC() {
            return new String(fromC.call(Cluster.ECHO, "before".getBytes()));
        }

        /**
         * Waits until node-b, whose certificate was just revoked, is cut: its calls to node-a fail (UNAVAILABLE or
         * UNAUTHENTICATED) and the master has dropped it from the membership.
         */
        void awaitBCut() {
            AtomicReference<BatonException> cut = new AtomicReference<>();
            Wait.until(() -> {
                try {
                    echoFromB();
                    return false;
                } catch (BatonException e) {
                    cut.set(e);
                    return true;
                }
            }, Duration.ofSeconds(20), () -> "node-b's calls to node-a failing after its certificate was revoked");
            assertTrue(cut.get().status().code() == Status.Code.UNAVAILABLE
                    || cut.get().status().code() == Status.Code.UNAUTHENTICATED, cut.get().getMessage());
            Wait.until(() -> master.membership().nodes().stream().noneMatch(n -> n.name().equals("node-b")),
                    Duration.ofSeconds(20), () -> "node-b out of the master's membership " + master.membership().nodes());
        }
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
