package dev.baton.zookeeper;

import dev.baton.BatonException;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Mistakes a user can make in configuring the registry give clear, typed errors when the node joins. */
@Timeout(60)
class ZooKeeperConfigurationTest {

    private TestingServer server;
    private CuratorFramework admin;

    @BeforeEach
    void startServer() throws Exception {
        server = new TestingServer(true);
        admin = CuratorFrameworkFactory.builder().connectString(server.getConnectString())
                .retryPolicy(new RetryOneTime(100))
                .authorization("digest", "admin:secret".getBytes(StandardCharsets.UTF_8))
                .build();
        admin.start();
    }

    @AfterEach
    void stopServer() throws Exception {
        admin.close();
        server.close();
    }

    private Node join(String root) {
        return join(ZooKeeperRegistry.of(server.getConnectString(), root));
    }

    private static Node join(dev.baton.spi.RegistryFactory registry) {
        return Node.join(NodeOptions.builder().registry(registry).joinTimeout(Duration.ofSeconds(3)).build());
    }

    private static BatonException fails(Status.Code code, Executable e) {
        BatonException thrown = assertThrows(BatonException.class, e);
        assertEquals(code, thrown.code(), thrown.toString());
        return thrown;
    }

    @Test
    void aRootThatIsNotAnAbsolutePathIsRefusedWhenTheRegistryIsBuilt() {
        for (String bad : List.of("baton", "/", "/baton/", "//x", "/a/../b", "")) {
            fails(Status.Code.INVALID_ARGUMENT, () -> ZooKeeperRegistry.of(server.getConnectString(), bad));
        }
    }

    @Test
    void aRootThatHoldsSomethingElseIsRefused() throws Exception {
        admin.create().creatingParentsIfNeeded().forPath("/apps/other/config", "x".getBytes(StandardCharsets.UTF_8));
        BatonException e = fails(Status.Code.INVALID_ARGUMENT, () -> join("/apps/other"));
        assertTrue(e.getMessage().contains("not a Baton cluster"), e.getMessage());
        assertEquals(List.of("config"), admin.getChildren().forPath("/apps/other"), "nothing was written there");
    }

    @Test
    void aRootOfAnotherLayoutVersionIsRefusedNamingBoth() throws Exception {
        admin.create().creatingParentsIfNeeded().forPath("/baton/future/layout",
                "baton-registry/999".getBytes(StandardCharsets.UTF_8));
        BatonException e = fails(Status.Code.INVALID_ARGUMENT, () -> join("/baton/future"));
        assertTrue(e.getMessage().contains("baton-registry/999") && e.getMessage().contains(ZkLayout.VERSION),
                e.getMessage());
    }

    @Test
    void aclsThatRefuseTheClientGiveInvalidArgumentAndTheRightAuthorizationJoins() throws Exception {
        Id owner = new Id("digest", DigestAuthenticationProvider.generateDigest("admin:secret"));
        admin.create().withACL(List.of(new ACL(ZooDefs.Perms.ALL, owner))).forPath("/locked");
        BatonException e = fails(Status.Code.INVALID_ARGUMENT, () -> join("/locked/cluster"));
        assertTrue(e.getMessage().contains("refused access"), e.getMessage());

        try (Node node = join(ZooKeeperRegistry.builder(server.getConnectString(), "/locked/cluster")
                .authorization("digest", "admin:secret".getBytes(StandardCharsets.UTF_8)).build())) {
            assertEquals(0, node.rank());
        }
    }

    @Test
    void aClusterJoinedWithAuthorizationIsClosedToOtherClients() throws Exception {
        byte[] user = "cluster:pw".getBytes(StandardCharsets.UTF_8);
        try (Node a = join(ZooKeeperRegistry.builder(server.getConnectString(), "/baton/private")
                .authorization("digest", user).build());
             Node b = join(ZooKeeperRegistry.builder(server.getConnectString(), "/baton/private")
                     .authorization("digest", user).build())) {
            assertEquals(List.of(0, 1), List.of(a.rank(), b.rank()), "the same identity shares the cluster");
            a.coordination().put("k", new byte[] {1});
            assertEquals(1, b.coordination().get("k").orElseThrow()[0]);
            try (CuratorFramework stranger = CuratorFrameworkFactory.newClient(server.getConnectString(),
                    new RetryOneTime(100))) {
                stranger.start();
                assertThrows(org.apache.zookeeper.KeeperException.NoAuthException.class,
                        () -> stranger.getChildren().forPath("/baton/private/members"));
                assertEquals(List.of("private"), stranger.getChildren().forPath("/baton"),
                        "the root's parent stays open to other clusters");
            }
            fails(Status.Code.INVALID_ARGUMENT, () -> join("/baton/private"));
        }
    }

    @Test
    void anUnreachableEnsembleFailsWithUnavailableWithinTheJoinTimeout() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        long t0 = System.nanoTime();
        BatonException e = fails(Status.Code.UNAVAILABLE,
                () -> join(ZooKeeperRegistry.of("127.0.0.1:" + closedPort, "/baton/nowhere")));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 3_000 + 2_000, "failed after " + ms + " ms");
        assertTrue(e.getMessage().contains("127.0.0.1:" + closedPort), e.getMessage());
    }

    @Test
    void twoClustersShareOneEnsembleUnderDifferentRoots() {
        try (Node a = join("/baton/one"); Node b = join("/baton/two"); Node c = join("/baton/one")) {
            assertEquals(List.of(0, 0, 1), List.of(a.rank(), b.rank(), c.rank()));
            assertEquals(1, b.membership().nodes().size());
        }
    }
}
