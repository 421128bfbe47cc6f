package dev.baton.testkit.transport;

import dev.baton.Metadata;
import dev.baton.Status;
import dev.baton.spi.FrameType;
import dev.baton.spi.ProtocolVersion;
import dev.baton.testkit.transport.ConformanceFixture.Endpoint;
import dev.baton.testkit.transport.ConformanceFixture.Link;
import dev.baton.testkit.transport.RecordingHandler.Received;

import java.nio.ByteBuffer;
import java.util.List;

import static dev.baton.spi.TransportConnection.OFFERED;
import static dev.baton.testkit.transport.ConformanceFixture.WAIT;
import static dev.baton.testkit.transport.ConformanceFixture.settings;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The checks of {@link TransportConformanceTest} on metadata and protocol versions (docs/protocol.md#metadata):
 * metadata arrives with its frame whatever the payload's size and path, a frame without it has none, and a peer
 * that speaks version 2 negotiates the connection down and is never sent metadata.
 */
final class MetadataChecks {

    private static final Metadata TRACE = Metadata.of("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
            .withBinary("token-bin", new byte[] {0, 1, 2, (byte) 0xFF});

    private final ConformanceFixture fx;

    MetadataChecks(ConformanceFixture fx) {
        this.fx = fx;
    }

    void metadataArrivesInFrontOfEveryPayloadSizeAndAFrameWithoutHasNone() throws Exception {
        Endpoint server = fx.endpoint("server");
        Endpoint client = fx.endpoint("client");
        Link link = fx.open(client, server);
        assertEquals(ProtocolVersion.MAX, link.client().remoteIdentity().protocolVersion());
        int[] sizes = {0, 10, 5_000, 200_000};      // empty, copied next to the header, written in place, large frame
        for (int i = 0; i < sizes.length; i++) {
            TrackedFrame f = fx.frame(FrameType.REQUEST, i + 1, sizes[i]);
            f.setMetadata(TRACE);
            assertEquals(OFFERED, f.offerOn(link.client()));
        }
        Metadata big = Metadata.EMPTY.withBinary("blob-bin", new byte[Metadata.MAX_ENCODED_SIZE - 12]);
        TrackedFrame atLimit = fx.frame(FrameType.RESPONSE, 10, 100);
        atLimit.setMetadata(big);
        assertEquals(OFFERED, atLimit.offerOn(link.client()));
        assertEquals(OFFERED, fx.frame(FrameType.REQUEST, 11, 10).offerOn(link.client()));
        for (int i = 0; i < sizes.length; i++) {
            Received r = server.handler().awaitFrame(i + 1, WAIT);
            assertEquals(TRACE, r.metadata(), "metadata of a " + sizes[i] + "-byte frame");
            assertArrayEquals(ConformanceFixture.payload(i + 1, sizes[i]).array(), r.payload(),
                    "the payload after the metadata, " + sizes[i] + " bytes");
        }
        Received limit = server.handler().awaitFrame(10, WAIT);
        assertEquals(big, limit.metadata(), "metadata of the largest size allowed");
        assertEquals(100, limit.payload().length);
        assertNull(server.handler().awaitFrame(11, WAIT).metadata(), "no metadata sent, none received");
        assertEquals(0, server.transport().stats().protocolErrors());
    }

    void aPeerOfVersionTwoNegotiatesDownAndIsNeverSentMetadata() throws Exception {
        Endpoint server = fx.endpoint("server", settings().protocolVersion(2).build());
        Endpoint client = fx.endpoint("client");
        Link link = fx.open(client, server);
        assertEquals(2, link.client().remoteIdentity().protocolVersion(), "the lower of the two versions");
        assertEquals(2, link.server().remoteIdentity().protocolVersion());
        assertFalse(link.client().remoteIdentity().speaksMetadata());

        TrackedFrame withMetadata = fx.frame(FrameType.REQUEST, 1, 10);
        withMetadata.setMetadata(TRACE);
        assertEquals(OFFERED, withMetadata.offerOn(link.client()));
        assertEquals(OFFERED, fx.frame(FrameType.REQUEST, 2, 10).offerOn(link.client()));
        withMetadata.awaitEnd(WAIT);
        assertFalse(withMetadata.written(), "never sent to a peer that would read it as payload");
        assertEquals(Status.Code.UNIMPLEMENTED, withMetadata.dropCause().code());
        assertTrue(withMetadata.dropCause().status().retrySafe(), "nothing was sent: retry-safe");
        Received r = server.handler().awaitFrame(2, WAIT);
        assertNull(r.metadata());
        assertArrayEquals(ConformanceFixture.payload(2, 10).array(), r.payload());
        assertEquals(List.of(2L), server.handler().frames().stream().map(Received::requestId).toList());
        assertTrue(link.client().isOpen() && link.server().isOpen(), "the connection is unharmed");
    }

    /** Frames whose metadata and payload fit the peer's maximum only apart fail alone with MESSAGE_TOO_LARGE. */
    void metadataCountsAgainstThePeersMaxMessageSize() throws Exception {
        Endpoint server = fx.endpoint("server", settings().maxMessageSize(64 << 10).build());
        Endpoint client = fx.endpoint("client");
        Link link = fx.open(client, server);
        TrackedFrame over = fx.frame(FrameType.REQUEST, 1, (64 << 10) - 10);
        over.setMetadata(TRACE);
        assertEquals(OFFERED, over.offerOn(link.client()));
        assertEquals(OFFERED, fx.frame(FrameType.REQUEST, 2, 64 << 10).offerOn(link.client()));
        over.awaitEnd(WAIT);
        assertFalse(over.written());
        assertEquals(Status.Code.MESSAGE_TOO_LARGE, over.dropCause().code());
        assertEquals(ByteBuffer.wrap(ConformanceFixture.payload(2, 64 << 10).array()),
                ByteBuffer.wrap(server.handler().awaitFrame(2, WAIT).payload()));
        assertEquals(0, server.transport().stats().protocolErrors());
    }
}
