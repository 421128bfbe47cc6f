package dev.baton;

import dev.baton.spi.ClusterSecret;
import dev.baton.spi.FrameType;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.connection.Handshake;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cluster secret, with a real master and nodes on loopback and peers written by hand: members with the secret
 * join and call; a process without it, or with another, can neither join, nor connect to a node, nor call; a peer
 * that stalls, reflects, sends garbage or speaks an older version is refused with a reason; a node without a secret
 * is unchanged for everyone without one.
 */
@Timeout(60)
class ClusterSecretTest {

    private static final byte[] SECRET = "correct horse battery staple".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OTHER = "another secret, just as long".getBytes(StandardCharsets.US_ASCII);
    private static final long TEN_SECONDS_NS = 10_000_000_000L;

    private static Master master(byte[] secret) {
        MasterOptions.Builder b = MasterOptions.builder().port(0);
        return Master.start(secret == null ? b.build() : b.clusterSecret(secret).build());
    }

    private static NodeOptions.Builder node(Master master, String name, byte[] secret) {
        NodeOptions.Builder b = NodeOptions.builder().master(master.address()).name(name)
                .joinTimeout(Duration.ofSeconds(5)).defaultTimeout(Duration.ofSeconds(10));
        return secret == null ? b : b.clusterSecret(secret);
    }

    /** A transport factory whose handshakes time out after {@code timeout}. */
    private static TransportFactory handshakeTimeout(Duration timeout) {
        return ctx -> TransportFactory.tcp().create(new TransportContext(ctx.name(), ctx.nodeId(), ctx.role(),
                ctx.rank(), ctx.handler(), ctx.settings().toBuilder().handshakeTimeout(timeout).build()));
    }

    @Test
    void nodesWithTheSameSecretJoinAndCallAndTheirCallersProvedIt() throws Exception {
        try (Master m = master(SECRET);
             Node server = Node.join(node(m, "server", SECRET).build());
             Node caller = Node.join(node(m, "caller", SECRET).build())) {
            AtomicReference<Caller> seen = new AtomicReference<>();
            server.newServer("echo").inline(0, call -> {
                seen.set(call.caller());
                call.reply(call.request().buffer());
            }).start();
            Client echo = caller.client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            assertArrayEquals(new byte[]{1, 2, 3}, echo.call(0, new byte[]{1, 2, 3}));
            Caller c = seen.get();
            assertEquals(caller.rank(), c.rank());
            assertEquals(caller.nodeId(), c.nodeId());
            assertEquals(Caller.Role.NODE, c.role());
            assertTrue(c.provedClusterSecret());
            assertFalse(c.inProcess());
            // The same node calling its own server: in process, and this node has the secret.
            Client own = server.client("echo");
            assertArrayEquals(new byte[]{4}, own.call(0, new byte[]{4}));
            assertTrue(seen.get().inProcess());
            assertTrue(seen.get().provedClusterSecret());
            assertEquals(server.rank(), seen.get().rank());
        }
    }

    @Test
    void withoutSecretsTheCallerProvedNothing() throws Exception {
        try (Cluster c = Cluster.withNodes(2)) {
            AtomicReference<Caller> seen = new AtomicReference<>();
            c.node(0).newServer("echo").inline(0, call -> {
                seen.set(call.caller());
                call.reply(call.request().buffer());
            }).start();
            Client echo = c.node(1).client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            echo.call(0, new byte[]{1});
            assertEquals(c.node(1).rank(), seen.get().rank());
            assertFalse(seen.get().provedClusterSecret());
            assertTrue(seen.get().address() != null);
        }
    }

    @Test
    void aNodeWithoutTheSecretCannotJoin() throws Exception {
        try (Master m = master(SECRET)) {
            BatonException e = assertThrows(BatonException.class, () -> Node.join(node(m, "stranger", null).build()));
            assertEquals(Status.Code.UNAUTHENTICATED, e.code());
            assertTrue(e.getMessage().contains("requires a cluster secret this node does not have"), e.getMessage());
            assertEquals(0, m.membership().nodes().size());
        }
    }

    @Test
    void aNodeWithAnotherSecretCannotJoin() throws Exception {
        try (Master m = master(SECRET)) {
            BatonException e = assertThrows(BatonException.class, () -> Node.join(node(m, "stranger", OTHER).build()));
            assertEquals(Status.Code.UNAUTHENTICATED, e.code());
            assertTrue(e.getMessage().contains("did not prove the cluster secret"), e.getMessage());
            assertEquals(0, m.membership().nodes().size());
        }
    }

    @Test
    void aNodeWithASecretRefusesAMasterWithoutOne() throws Exception {
        try (Master m = master(null)) {
            BatonException e = assertThrows(BatonException.class, () -> Node.join(node(m, "careful", SECRET).build()));
            assertEquals(Status.Code.UNAUTHENTICATED, e.code());
            assertTrue(e.getMessage().contains("has no cluster secret; this node requires one"), e.getMessage());
        }
    }

    /**
     * Members of one master whose data ports disagree on the secret (as nodes of a ZooKeeper registry given different
     * secrets would): a call between them fails with UNAUTHENTICATED, naming the peer, and never runs.
     */
    @Test
    void aCallToANodeWithAnotherSecretFailsUnauthenticated() throws Exception {
        ClusterSecret other = ClusterSecret.of(OTHER);
        TransportFactory otherDataPort = ctx -> TransportFactory.tcp().create(ctx.name().endsWith("-ctl") ? ctx
                : new TransportContext(ctx.name(), ctx.nodeId(), ctx.role(), ctx.rank(), ctx.handler(),
                        ctx.settings().toBuilder().clusterSecret(other).build()));
        try (Master m = master(SECRET);
             Node server = Node.join(node(m, "server", SECRET).transport(otherDataPort).build());
             Node caller = Node.join(node(m, "caller", SECRET).build())) {
            AtomicInteger ran = new AtomicInteger();
            server.newServer("echo").inline(0, call -> {
                ran.incrementAndGet();
                call.reply(call.request().buffer());
            }).start();
            Client echo = caller.client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            BatonException e = assertThrows(BatonException.class, () -> echo.call(0, new byte[]{1}));
            assertEquals(Status.Code.UNAUTHENTICATED, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("cannot connect to rank " + server.rank())
                    && e.getMessage().contains("did not prove the cluster secret"), e.getMessage());
            assertTrue(e.status().retrySafe());
            assertEquals(0, ran.get());
        }
    }

    @Test
    void anObserverWithoutTheSecretCannotFollow() throws Exception {
        try (Master m = master(SECRET)) {
            BatonException e = assertThrows(BatonException.class, () -> Node.observe(node(m, "peek", null).build()));
            assertEquals(Status.Code.UNAUTHENTICATED, e.code());
        }
    }

    @Test
    void aProbeNeedsTheSecretForANodesDataPortAndTheMaster() throws Exception {
        try (Master m = master(SECRET);
             Node n = Node.join(node(m, "n", SECRET).build());
             Probe without = Probe.tcp();
             Probe wrong = Probe.over(TransportFactory.tcp().withClusterSecret(ClusterSecret.of(OTHER)));
             Probe with = Probe.over(TransportFactory.tcp().withClusterSecret(ClusterSecret.of(SECRET)))) {
            for (InetSocketAddress target : new InetSocketAddress[]{n.address(), m.address()}) {
                BatonException e = assertThrows(BatonException.class, () -> without.health(target, Duration.ofSeconds(5)));
                assertEquals(Status.Code.UNAUTHENTICATED, e.code(), e.getMessage());
                assertTrue(e.getMessage().contains("requires a cluster secret this node does not have"), e.getMessage());
                e = assertThrows(BatonException.class, () -> wrong.health(target, Duration.ofSeconds(5)));
                assertEquals(Status.Code.UNAUTHENTICATED, e.code(), e.getMessage());
                assertTrue(e.getMessage().contains("did not prove the cluster secret"), e.getMessage());
                assertTrue(with.health(target, Duration.ofSeconds(5)).serving());
            }
        }
    }

    @Test
    void aPeerWithoutTheSecretIsClosedBeforeItsRequestRuns() throws Exception {
        try (Master m = master(SECRET); Node n = Node.join(node(m, "n", SECRET).build())) {
            AtomicInteger ran = new AtomicInteger();
            Server s = n.newServer("echo").inline(0, call -> {
                ran.incrementAndGet();
                call.reply(call.request().buffer());
            }).start();
            try (RawPeer peer = new RawPeer(n.address())) {
                peer.sendOpening(ProtocolVersion.MAX, 0, 77);
                peer.send(RawPeer.request(1, s.serviceId(), s.serverId(), 0, TEN_SECONDS_NS, new byte[]{1}));
                peer.flush();
                assertTrue(peer.closedWithin(5_000), "refused at its HELLO");
            }
            assertEquals(0, ran.get());
        }
    }

    @Test
    void aPeerThatNeverProvesIsClosedWithinTheHandshakeTimeout() throws Exception {
        try (Master m = master(SECRET);
             Node n = Node.join(node(m, "n", SECRET).transport(handshakeTimeout(Duration.ofSeconds(1))).build())) {
            try (RawPeer peer = new RawPeer(n.address())) {
                // Says it has a secret, sends its challenge, and never its proof.
                peer.sendOpening(ProtocolVersion.MAX, FrameType.FLAG_CLUSTER_SECRET, 77);
                peer.send(RawPeer.frame(FrameType.CHALLENGE, 32, new byte[32]));
                peer.flush();
                long start = System.nanoTime();
                assertTrue(peer.closedWithin(5_000));
                long tookMs = (System.nanoTime() - start) / 1_000_000L;
                assertTrue(tookMs >= 800 && tookMs < 4_000, "closed after " + tookMs + " ms");
            }
        }
    }

    @Test
    void garbageOrAnOversizedFrameInPlaceOfTheChallengeIsRefusedAtOnce() throws Exception {
        try (Master m = master(SECRET); Node n = Node.join(node(m, "n", SECRET).build())) {
            byte[][] bad = {
                    RawPeer.frame(FrameType.CHALLENGE, Integer.MAX_VALUE, new byte[32]),       // declares 2 GiB
                    RawPeer.frame(FrameType.PROOF, 32, new byte[32]),                          // proof first
                    RawPeer.frame(FrameType.REQUEST, 32, new byte[32]),                        // no challenge
                    new byte[72]};                                                             // zeros
            for (byte[] frame : bad) {
                try (RawPeer peer = new RawPeer(n.address())) {
                    peer.sendOpening(ProtocolVersion.MAX, FrameType.FLAG_CLUSTER_SECRET, 77);
                    peer.send(frame);
                    peer.flush();
                    assertTrue(peer.closedWithin(3_000));
                }
            }
            // And the node is none the worse: a member still joins and is served.
            try (Node other = Node.join(node(m, "other", SECRET).build())) {
                Cluster.startEcho(n, "echo");
                Client echo = other.client("echo");
                echo.awaitServers(1, Duration.ofSeconds(5));
                assertArrayEquals(new byte[]{9}, echo.call(0, new byte[]{9}));
            }
        }
    }

    @Test
    void aReflectedProofOrChallengeOrOpeningIsRefused() throws Exception {
        try (Master m = master(SECRET); Node n = Node.join(node(m, "n", SECRET).build())) {
            // 1. The node's own proof sent back: it proves the node accepted, over the node's nonce first.
            try (RawPeer peer = new RawPeer(n.address())) {
                byte[] theirs = peer.readBytes(Handshake.LENGTH);
                byte[] challenge = peer.readBytes(72);
                assertEquals(FrameType.CHALLENGE, challenge[4]);
                peer.sendOpening(ProtocolVersion.MAX, FrameType.FLAG_CLUSTER_SECRET, 77);
                byte[] nonce = new byte[32];
                Arrays.fill(nonce, (byte) 5);
                peer.send(RawPeer.frame(FrameType.CHALLENGE, 32, nonce));
                peer.flush();
                byte[] proof = peer.readBytes(72);
                assertEquals(FrameType.PROOF, proof[4], "the node answers the challenge");
                peer.send(proof);
                peer.flush();
                assertTrue(peer.closedWithin(3_000), "a reflected proof does not verify");
                assertEquals(Handshake.LENGTH, theirs.length);
            }
            // 2. The node's own opening and challenge sent back (claiming its node id).
            try (RawPeer peer = new RawPeer(n.address())) {
                byte[] theirs = peer.readBytes(Handshake.LENGTH);
                byte[] challenge = peer.readBytes(72);
                peer.send(theirs);
                peer.send(challenge);
                peer.flush();
                assertTrue(peer.closedWithin(3_000));
            }
            // 3. Its own id, but the node's challenge sent back as ours.
            try (RawPeer peer = new RawPeer(n.address())) {
                peer.readBytes(Handshake.LENGTH);
                byte[] challenge = peer.readBytes(72);
                peer.sendOpening(ProtocolVersion.MAX, FrameType.FLAG_CLUSTER_SECRET, 77);
                peer.send(challenge);
                peer.flush();
                assertTrue(peer.closedWithin(3_000));
            }
        }
    }

    @Test
    void aVersion5PeerIsRefusedByANodeWithASecretAndServedByOneWithout() throws Exception {
        try (Master m = master(SECRET); Node n = Node.join(node(m, "n", SECRET).build());
             RawPeer peer = new RawPeer(n.address())) {
            peer.sendOpening(ProtocolVersion.CONNECTION_GOAWAY, 0, 77);
            assertTrue(peer.closedWithin(5_000), "a version-5 peer cannot prove the secret");
        }
        try (Cluster c = Cluster.withNodes(1)) {
            Server s = Cluster.startEcho(c.node(0), "echo");
            try (RawPeer peer = new RawPeer(c.node(0).address())) {
                PeerIdentity them = peer.handshake(ProtocolVersion.CONNECTION_GOAWAY);
                assertEquals(ProtocolVersion.CONNECTION_GOAWAY, them.protocolVersion());
                peer.send(RawPeer.request(1, s.serviceId(), s.serverId(), 0, TEN_SECONDS_NS, new byte[]{7}));
                peer.flush();
                RawPeer.Frame f = peer.read();
                assertEquals(FrameType.RESPONSE, f.type());
                assertArrayEquals(new byte[]{7}, f.payload());
            }
        }
    }

    @Test
    void aNodeWithASecretNamesAVersion5MasterAsTheReason() throws Exception {
        TransportFactory version5 = ctx -> TransportFactory.tcp().create(new TransportContext(ctx.name(), ctx.nodeId(),
                ctx.role(), ctx.rank(), ctx.handler(), ctx.settings().toBuilder().protocolVersion(5).build()));
        try (Master old = Master.start(MasterOptions.builder().port(0).transport(version5).build())) {
            BatonException e = assertThrows(BatonException.class, () -> Node.join(node(old, "n", SECRET).build()));
            assertEquals(Status.Code.UNAUTHENTICATED, e.code());
            assertTrue(e.getMessage().contains("speaks protocol version 5, which cannot prove a cluster secret"),
                    e.getMessage());
        }
    }

    @Test
    void aSecretNeedsProtocolVersion6() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dev.baton.spi.TransportSettings
                .builder().protocolVersion(5).clusterSecret(ClusterSecret.of(SECRET)).build());
        assertTrue(e.getMessage().contains("protocolVersion"), e.getMessage());
    }

    @Test
    void theSecretNeverShowsInTextAndProofsAreDirectional() throws Exception {
        ClusterSecret s = ClusterSecret.of(SECRET);
        assertEquals("ClusterSecret[hidden]", s.toString());
        String settings = dev.baton.spi.TransportSettings.builder().clusterSecret(s).build().toString();
        assertTrue(settings.contains("clusterSecret=set") && !settings.contains("horse"), settings);
        byte[] a = new byte[72];
        byte[] b = new byte[72];
        b[0] = 1;
        byte[] na = new byte[32];
        byte[] nb = new byte[32];
        nb[0] = 2;
        byte[] proof = s.proof(true, a, b, na, nb);
        assertTrue(s.verifies(proof, true, a, b, na, nb));
        assertFalse(s.verifies(proof, false, a, b, na, nb), "the other side's proof differs");
        assertFalse(s.verifies(proof, false, b, a, nb, na), "reflected, it proves nothing");
        assertFalse(ClusterSecret.of(OTHER).verifies(proof, true, a, b, na, nb));
        assertThrows(IllegalArgumentException.class, () -> ClusterSecret.of(new byte[15]));
    }

    @Test
    void aSecretFileMustBeOwnerOnlyAndLongEnough(@TempDir Path dir) throws IOException {
        Path good = write(dir.resolve("good"), "0123456789abcdef\n", "rw-------");
        assertEquals("ClusterSecret[hidden]", ClusterSecret.read(good).toString());
        Path crlf = write(dir.resolve("crlf"), "0123456789abcdef\r\n", "r--------");
        ClusterSecret.read(crlf);
        Path open = write(dir.resolve("open"), "0123456789abcdef0123", "rw-r--r--");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClusterSecret.read(open));
        assertTrue(e.getMessage().contains("chmod 600") && e.getMessage().contains(open.toString()), e.getMessage());
        Path group = write(dir.resolve("group"), "0123456789abcdef0123", "rw-r-----");
        assertThrows(IllegalArgumentException.class, () -> ClusterSecret.read(group));
        Path shortOne = write(dir.resolve("short"), "0123456789abcde\n", "rw-------");
        e = assertThrows(IllegalArgumentException.class, () -> ClusterSecret.read(shortOne));
        assertTrue(e.getMessage().contains("at least 16 bytes"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ClusterSecret.read(dir.resolve("missing")));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NodeOptions.builder().clusterSecretFile(open));
        assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
        // The same secret from a file and from bytes proves alike.
        try (Master m = Master.start(MasterOptions.builder().port(0).clusterSecretFile(good).build());
             Node n = Node.join(node(m, "n", "0123456789abcdef".getBytes(StandardCharsets.US_ASCII)).build())) {
            assertEquals(0, n.rank());
        }
    }

    private static Path write(Path file, String content, String permissions) throws IOException {
        Files.writeString(file, content, StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(permissions));
        return file;
    }

    @Test
    void theHandshakeWithoutSecretsIsUnchangedOnTheWire() throws Exception {
        try (Cluster c = Cluster.withNodes(1); RawPeer peer = new RawPeer(c.node(0).address())) {
            peer.sendOpening(ProtocolVersion.MAX, 0, 77);
            byte[] theirs = peer.readBytes(Handshake.LENGTH);
            ByteBuffer b = ByteBuffer.wrap(theirs).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(0, b.get(8 + 5), "no cluster-secret flag in the HELLO");
            assertEquals(Handshake.LENGTH, theirs.length);
            peer.socket.setSoTimeout(300);
            assertThrows(java.net.SocketTimeoutException.class, () -> peer.socket.getInputStream().read(),
                    "no byte after the HELLO (no challenge), and the connection stays open");
        }
    }
}
