package dev.baton.testkit.transport;

import dev.baton.BatonException;
import dev.baton.Status;
import dev.baton.spi.ClusterSecret;
import dev.baton.spi.FrameType;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportSettings;
import dev.baton.testkit.transport.ConformanceFixture.Endpoint;
import dev.baton.testkit.transport.ConformanceFixture.Link;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static dev.baton.spi.TransportConnection.OFFERED;
import static dev.baton.testkit.transport.ConformanceFixture.WAIT;
import static dev.baton.testkit.transport.ConformanceFixture.settings;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checks of {@link TransportConformanceTest} on the cluster secret (docs/security.md#cluster-secret): ends that
 * share it open, each seeing the other proved it, and frames offered during the handshake go out after it; an end
 * without it, or with another, is refused before it opens: the opener's connection closes with UNAUTHENTICATED, its
 * early frames are dropped unsent, and the other end's handler never sees the connection open.
 */
final class SecretChecks {

    private static final ClusterSecret SECRET = ClusterSecret.of(
            "the conformance suite's secret".getBytes(StandardCharsets.US_ASCII));
    private static final ClusterSecret OTHER = ClusterSecret.of(
            "another secret, as long as it".getBytes(StandardCharsets.US_ASCII));

    private final ConformanceFixture fx;

    SecretChecks(ConformanceFixture fx) {
        this.fx = fx;
    }

    private static TransportSettings with(ClusterSecret secret) {
        return settings().clusterSecret(secret).build();
    }

    void endsThatShareTheSecretOpenAndEachSeesTheOtherProvedIt() throws Exception {
        Endpoint server = fx.endpoint("server", with(SECRET));
        Endpoint client = fx.endpoint("client", with(SECRET));
        TransportConnection c = client.connect(server);
        TrackedFrame early = fx.frame(FrameType.REQUEST, 1, 100);
        assertEquals(OFFERED, early.offerOn(c), "frames offered during the handshake wait for it");
        assertArrayEquals(ConformanceFixture.payload(1, 100).array(), server.handler().awaitFrame(1, WAIT).payload());
        Link link = new Link(c, server.handler().opened().get(0));
        assertTrue(link.client().remoteIdentity().provedClusterSecret());
        assertTrue(link.server().remoteIdentity().provedClusterSecret());
        assertEquals(0, server.transport().stats().protocolErrors());
    }

    void anEndWithoutTheSecretOrWithAnotherIsRefusedBeforeItOpens() throws Exception {
        Endpoint server = fx.endpoint("server", with(SECRET));
        refused(fx.endpoint("none"), server, "requires a cluster secret this node does not have");
        refused(fx.endpoint("other", with(OTHER)), server, "did not prove the cluster secret");
        refused(fx.endpoint("careful", with(SECRET)), fx.endpoint("open"), "has no cluster secret");
    }

    private void refused(Endpoint client, Endpoint server, String why) throws InterruptedException {
        TransportConnection c = client.connect(server);
        TrackedFrame early = fx.frame(FrameType.REQUEST, 7, 10);
        int offered = early.offerOn(c);
        BatonException cause = client.handler().awaitClosed(c, WAIT);
        assertEquals(Status.Code.UNAUTHENTICATED, cause.code(), cause.getMessage());
        assertTrue(cause.getMessage().contains(why), cause.getMessage());
        if (offered == OFFERED) {
            assertFalse(early.awaitEnd(WAIT).written(), "dropped, never sent");
            assertEquals(Status.Code.UNAUTHENTICATED, early.dropCause().code());
        }
        assertFalse(client.handler().opened().contains(c), "the opener never saw it open");
        assertEquals(List.of(), server.handler().opened(), "nor did the other end");
        assertEquals(List.of(), server.handler().frames());
    }
}
