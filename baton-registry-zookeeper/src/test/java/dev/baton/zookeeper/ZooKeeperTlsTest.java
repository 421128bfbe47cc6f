package dev.baton.zookeeper;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;
import dev.baton.TlsOptions;
import dev.baton.spi.RegistryFactory;
import dev.baton.testkit.tls.TestPki;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The registry over TLS, against a ZooKeeper server in its own process that speaks nothing but TLS on its client
 * port and requires client certificates: nodes join, find and call each other through it; its ACLs see each
 * node's certificate subject as an identity; a node without an accepted certificate, or without TLS, is refused
 * with UNAVAILABLE within its join timeout; a certificate rotated on disk is presented from the next connection; the
 * key stores written for ZooKeeper are gone when the node closes.
 */
@Timeout(120)
class ZooKeeperTlsTest {

    private static final int ECHO = 0;
    private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration REFUSED_JOIN_TIMEOUT = Duration.ofSeconds(2);
    private static final String DIGEST = "cluster:secret";

    private static TestPki pki;
    private static TestPki.Ca ca;
    private static LocalZooKeeper zookeeper;

    private final List<Node> nodes = new ArrayList<>();

    @BeforeAll
    static void startZooKeeper() throws Exception {
        pki = TestPki.create();
        ca = pki.ca("cluster-ca");
        zookeeper = new LocalZooKeeper(1, Duration.ofMillis(200));
        // ZooKeeper's client checks the server's name as it resolved it: 127.0.0.1 is "localhost" to it.
        zookeeper.tls(pki.options(pki.issue(ca, "localhost"), ca));
        zookeeper.startAll();
    }

    @AfterAll
    static void stopZooKeeper() throws Exception {
        zookeeper.close();
        pki.close();
    }

    @AfterEach
    void closeNodes() {
        nodes.forEach(Node::close);
    }

    private Node join(String name, String root, RegistryFactory registry, TlsOptions transport, Duration timeout) {
        NodeOptions.Builder b = NodeOptions.builder().name(name).joinTimeout(timeout).registry(registry);
        Node n = Node.join((transport == null ? b : b.tls(transport)).build());
        nodes.add(n);
        return n;
    }

    private static ZooKeeperRegistry.Builder registry(String root) {
        return ZooKeeperRegistry.builder(zookeeper.connectString(), root).sessionTimeout(Duration.ofSeconds(4));
    }

    @Test
    void nodesJoinAndCallThroughAnEnsembleThatSpeaksOnlyTlsAndItsAclsSeeEachCertificate() throws Exception {
        String root = "/baton/tls-calls";
        TlsOptions a = pki.options(pki.issue(ca, "node-a"), ca);
        TlsOptions b = pki.options(pki.issue(ca, "node-b"), ca);
        Node nodeA = join("a", root, registry(root).tls(a).authorization("digest", bytes(DIGEST)).build(), a,
                JOIN_TIMEOUT);
        Node nodeB = join("b", root, registry(root).tls(b).authorization("digest", bytes(DIGEST)).build(), b,
                JOIN_TIMEOUT);
        assertEquals(List.of(0, 1), List.of(nodeA.rank(), nodeB.rank()));
        nodeA.newServer("echo").inline(ECHO, call -> call.reply(call.request().buffer())).start();
        Client echo = nodeB.client("echo");
        assertEquals(1, echo.awaitServers(1, Duration.ofSeconds(10)).size());
        assertArrayEquals(bytes("over TLS"), echo.call(ECHO, bytes("over TLS")));

        // The root was made by node-a for its creator: ZooKeeper names it by its certificate and by the digest.
        try (CuratorFramework raw = rawClient(a, DIGEST)) {
            List<ACL> acl = raw.getACL().forPath(root);
            Set<Id> ids = acl.stream().map(ACL::getId).collect(Collectors.toSet());
            assertTrue(ids.contains(new Id("x509", "CN=node-a")), acl.toString());
            assertTrue(ids.stream().anyMatch(id -> id.getScheme().equals("digest")), acl.toString());
        }
        // A client with a certificate of the cluster but not the cluster's digest cannot read the cluster.
        try (CuratorFramework stranger = rawClient(pki.options(pki.issue(ca, "stranger"), ca), null)) {
            assertThrows(KeeperException.NoAuthException.class, () -> stranger.getChildren().forPath(root));
        }
    }

    /**
     * TLS to ZooKeeper, the cluster secret between the nodes: their connections prove the secret and each node's
     * member key (a server sees its caller's key), though ZooKeeper records no principal to check a rank against.
     */
    @Test
    void nodesWithTheClusterSecretAloneBetweenThemProveTheirKeysThroughZooKeeperToo() throws Exception {
        String root = "/baton/tls-secret";
        byte[] secret = bytes("correct horse battery staple");
        List<Node> pair = new ArrayList<>();
        for (String name : List.of("a", "b")) {
            TlsOptions tls = pki.options(pki.issue(ca, "node-" + name), ca);
            Node n = Node.join(NodeOptions.builder().name(name).joinTimeout(JOIN_TIMEOUT).clusterSecret(secret)
                    .registry(registry(root).tls(tls).build()).build());
            nodes.add(n);
            pair.add(n);
        }
        pair.get(1).newServer("whoami").inline(ECHO, call -> call.reply(
                bytes(call.caller().principal().getName()))).start();
        Client whoami = pair.get(0).client("whoami");
        assertEquals(1, whoami.awaitServers(1, Duration.ofSeconds(10)).size());
        String caller = new String(whoami.call(ECHO, new byte[0]), StandardCharsets.UTF_8);
        assertTrue(caller.startsWith(dev.baton.spi.MemberKey.PRINCIPAL_PREFIX), caller);
        assertEquals("", pair.get(1).membership().node(pair.get(0).rank()).orElseThrow().principal(),
                "members write their own entries: nothing proved is recorded");
    }

    @Test
    void aNodeWithACertificateOfAnotherCaOrWithoutTlsIsRefusedWithinItsJoinTimeout() {
        String root = "/baton/tls-refused";
        TestPki.Ca other = pki.ca("other-ca");
        TlsOptions foreign = pki.options(pki.issue(other, "intruder"), ca);
        for (RegistryFactory registry : List.of(registry(root).tls(foreign).build(), registry(root).build())) {
            long t0 = System.nanoTime();
            BatonException refused = assertThrows(BatonException.class,
                    () -> join("intruder", root, registry, null, REFUSED_JOIN_TIMEOUT));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertEquals(Status.Code.UNAVAILABLE, refused.code(), refused.toString());
            assertTrue(ms < REFUSED_JOIN_TIMEOUT.toMillis() + 3_000, "refused after " + ms + " ms");
        }
    }

    @Test
    void badTlsSettingsAreRefusedWithTheirReason() {
        TestPki.Issued pinner = pki.issue(ca, "pinner");
        TlsOptions pinnedOnly = TlsOptions.builder().certificate(pinner.certFile(), pinner.keyFile())
                .pinSha256(TestPki.fingerprint(ca.certificate())).build();
        BatonException pinned = assertThrows(BatonException.class,
                () -> join("pinner", "/baton/tls-bad", registry("/baton/tls-bad").tls(pinnedOnly).build(), null,
                        REFUSED_JOIN_TIMEOUT));
        assertEquals(Status.Code.INVALID_ARGUMENT, pinned.code(), pinned.toString());
        assertTrue(pinned.getMessage().contains("pinned"), pinned.getMessage());

        IllegalArgumentException following = assertThrows(IllegalArgumentException.class,
                () -> registry("/baton/tls-bad").tls(pinnedOnly).followEnsembleChanges(true).build());
        assertTrue(following.getMessage().contains("plain client ports"), following.getMessage());
    }

    @Test
    void theKeyStoresWrittenForZooKeeperAreDeletedWhenTheNodeCloses() throws Exception {
        String root = "/baton/tls-stores";
        Set<Path> before = storeDirectories();
        TlsOptions a = pki.options(pki.issue(ca, "node-a"), ca);
        Node node = join("a", root, registry(root).tls(a).build(), null, JOIN_TIMEOUT);
        Set<Path> during = storeDirectories();
        during.removeAll(before);
        assertEquals(1, during.size(), "one directory of key stores while the node runs: " + during);
        Path dir = during.iterator().next();
        assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir)));
        node.close();
        assertTrue(Files.notExists(dir), dir + " is left after the node closed");
    }

    @Test
    void aCertificateRotatedOnDiskIsPresentedAtTheNextConnection() throws Exception {
        String root = "/baton/tls-rotation";
        Path dir = Files.createTempDirectory(pki.dir(), "rotating-");
        Path cert = dir.resolve("node.crt");
        Path key = dir.resolve("node.key");
        TestPki.Issued first = pki.issue(ca, "node-a");
        TestPki.Issued second = pki.issue(ca, "node-a-rotated");
        Files.copy(first.certFile(), cert);
        Files.copy(first.keyFile(), key);
        TlsOptions tls = TlsOptions.builder().certificate(cert, key).trustedCertificates(ca.certFile()).build();
        Node node = join("a", root, registry(root).tls(tls).authorization("digest", bytes(DIGEST)).build(), null,
                JOIN_TIMEOUT);
        node.newServer("before").inline(ECHO, call -> call.reply(call.request().buffer())).start();

        Files.copy(second.certFile(), cert, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(second.keyFile(), key, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        zookeeper.kill(0);
        zookeeper.start(0);
        ZooKeeperProcessTest.startWithin(node, "after", Duration.ofSeconds(30));   // once connected again
        try (CuratorFramework raw = rawClient(pki.options(pki.issue(ca, "reader"), ca), DIGEST)) {
            assertTrue(x509Ids(raw, root + "/services/before").contains("CN=node-a"));
            assertEquals(Set.of("CN=node-a-rotated"), x509Ids(raw, root + "/services/after"),
                    "the znode made after the reconnection names the rotated certificate");
        }
    }

    private static Set<String> x509Ids(CuratorFramework client, String path) throws Exception {
        return client.getACL().forPath(path).stream().map(ACL::getId).filter(id -> id.getScheme().equals("x509"))
                .map(Id::getId).collect(Collectors.toSet());
    }

    private static Set<Path> storeDirectories() throws IOException {
        try (Stream<Path> tmp = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return tmp.filter(p -> p.getFileName().toString().startsWith("baton-zk-tls-"))
                    .collect(Collectors.toCollection(java.util.HashSet::new));
        }
    }

    /** A Curator client of the test's own over TLS with {@code tls}, authenticated with {@code digest} if given. */
    private static CuratorFramework rawClient(TlsOptions tls, String digest) throws Exception {
        ZkTlsStores stores = ZkTlsStores.inTemporaryDirectory(tls);
        CuratorFrameworkFactory.Builder b = CuratorFrameworkFactory.builder().connectString(zookeeper.connectString())
                .retryPolicy(new RetryNTimes(0, 0)).zkClientConfig(ZkHandles.tlsClientConfig(stores))
                .ensembleTracker(false);
        CuratorFramework c = (digest == null ? b : b.authorization("digest", bytes(digest))).build();
        c.start();
        if (!c.blockUntilConnected(10, TimeUnit.SECONDS)) {
            c.close();
            stores.close();
            throw new IllegalStateException("the test's own client did not connect over TLS");
        }
        // The stores are read at connection: they may go now.
        stores.close();
        return c;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
