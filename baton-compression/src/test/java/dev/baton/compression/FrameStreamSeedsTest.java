package dev.baton.compression;

import dev.baton.Compression;
import dev.baton.Message;
import dev.baton.Metadata;
import dev.baton.spi.FrameHandler;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportSettings;
import dev.baton.spi.connection.BufferPool;
import dev.baton.spi.connection.FrameLayout;
import dev.baton.spi.connection.TransportCore;
import dev.baton.fuzz.SeedCorpus;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Writes the seeds of {@link FrameStreamFuzzTest}: streams of every frame kind as the real writer of a connection
 * encodes them (requests, responses, errors, one-way calls, cancels, pings, stream frames, metadata, messages
 * compressed with zstd and lz4, a frame larger than the read buffer), in one piece and a byte at a time, for each
 * protocol version; and hand-made hostile headers that declare sizes up to 4 GiB. Runs only with
 * {@code -Dbaton.fuzz.writeSeeds=true} (see docs/security.md#fuzzing).
 */
@Timeout(60)
@EnabledIfSystemProperty(named = SeedCorpus.PROPERTY, matches = "true")
class FrameStreamSeedsTest {

    private static final int ZSTD = Compression.ZSTD.id();
    private static final int LZ4 = Compression.LZ4.id();

    @Test
    void writesTheFrameStreamSeeds() throws IOException {
        SeedCorpus seeds = SeedCorpus.of(FrameStreamFuzzTest.class, "anyByteStreamIsReadOrClosedAsAProtocolError");
        for (int flags : new int[] {1, 1 | 1 << 1, 1 | 2 << 1}) {
            int version = FrameStreamFuzzTest.version(flags);
            byte[] frames = written(version, everyKind(version));
            assertTrue(frames.length > 0);
            seeds.write("v" + version + "-every-kind", input(flags, 0, frames));
            seeds.write("v" + version + "-every-kind-bytewise", input(flags, 1, frames));
            // Without the harness's opening: the peer's own, then the frames.
            seeds.write("v" + version + "-with-opening", input(0, 7, FrameStreamFuzzTest.concat(
                    FrameStreamFuzzTest.opening(version), frames)));
        }
        int v = ProtocolVersion.MAX;
        int flags = 1 | 2 << 1;
        seeds.write("zstd", input(flags, 0, written(v, compressed(ZSTD))));
        seeds.write("lz4", input(flags, 0, written(v, compressed(LZ4))));
        seeds.write("lz4-chunked", input(flags, 13, written(v, compressed(LZ4))));
        byte[] large = written(v, new OutboundFrame[] {frame(FrameType.REQUEST, 0, 9, new byte[70_000])});
        seeds.write("large-frame", input(flags, 0, large));
        seeds.write("large-frame-partial", input(flags, 0, java.util.Arrays.copyOf(large, 3000)));
        // Hostile headers: sizes no allocation may follow.
        seeds.write("declares-4-gib", input(flags, 0, header(0xFFFF_FFFF, FrameType.REQUEST, 0, 0, 0)));
        seeds.write("declares-2-gib", input(flags, 0, header(0x7FFF_FFFF, FrameType.REQUEST, 0, 0, 0)));
        seeds.write("declares-max-plus-1", input(flags, 0, header(FrameStreamFuzzTest.MAX_MESSAGE + 1,
                FrameType.RESPONSE, 0, 0, 0)));
        seeds.write("declares-max", input(flags, 0, header(FrameStreamFuzzTest.MAX_MESSAGE, FrameType.REQUEST, 0, 0,
                0)));
        seeds.write("metadata-declares-2-gib", input(flags, 0, header(64, FrameType.REQUEST, 0, 0x7FFF_FFFF, 0)));
        seeds.write("zstd-declares-2-gib", input(flags, 0, withBody(header(12, FrameType.REQUEST, ZSTD, 0, 0),
                new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x7F, 1, 2, 3, 4, 5, 6, 7, 8})));
        seeds.write("lz4-declares-max", input(flags, 0, withBody(header(12, FrameType.REQUEST, LZ4, 0, 0),
                new byte[] {0, 0, 0x10, 0, 1, 2, 3, 4, 5, 6, 7, 8})));
        seeds.write("not-a-peer", input(0, 0, "GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
    }

    private static OutboundFrame[] everyKind(int version) {
        OutboundFrame withMetadata = frame(FrameType.REQUEST, 0, 3, "with metadata".getBytes(StandardCharsets.UTF_8));
        if (version >= ProtocolVersion.METADATA) {
            withMetadata.setMetadata(Metadata.of("trace-id", "4bf92f3577b34da6").withBinary("bin", new byte[] {1, 2}));
        }
        OutboundFrame oneWay = frame(FrameType.REQUEST, 0, 4, new byte[] {1});
        oneWay.setHeader(FrameType.REQUEST, FrameType.FLAG_ONE_WAY, 0, 4, 7, 2, 1, 0);
        OutboundFrame streamData = frame(FrameType.STREAM_DATA, 0, 5, new byte[] {5, 6, 7});
        streamData.setHeader(FrameType.STREAM_DATA, FrameType.FLAG_TO_SERVER, 0, 5, 7, 0, 1, 0);
        return new OutboundFrame[] {
                frame(FrameType.REQUEST, 0, 1, "hello".getBytes(StandardCharsets.UTF_8)),
                frame(FrameType.RESPONSE, 0, 1, "world".getBytes(StandardCharsets.UTF_8)),
                frame(FrameType.RESPONSE, 5, 2, "no such server".getBytes(StandardCharsets.UTF_8)),
                withMetadata, oneWay, streamData,
                frame(FrameType.STREAM_CREDIT, 0, 5, new byte[0]),
                frame(FrameType.CANCEL, 0, 1, new byte[0]),
                frame(FrameType.PING, 0, 77, new byte[0]),
                frame(FrameType.PONG, 0, 77, new byte[0]),
                frame(FrameType.GOAWAY, 0, 0, new byte[0]),
        };
    }

    private static OutboundFrame[] compressed(int encoding) {
        byte[] text = "the same words again and again, ".repeat(80).getBytes(StandardCharsets.UTF_8);
        OutboundFrame request = frame(FrameType.REQUEST, 0, 11, text);
        request.setEncoding(encoding);
        OutboundFrame response = frame(FrameType.RESPONSE, 0, 11, text);
        response.setEncoding(encoding);
        request.setMetadata(Metadata.of("k", "v"));
        return new OutboundFrame[] {request, response};
    }

    private static FrameStreamFuzzTest.Frame frame(int type, int status, long id, byte[] payload) {
        return new FrameStreamFuzzTest.Frame(type, status, id, 1, payload);
    }

    /** What a connection that speaks {@code version} writes for {@code frames}: the real encoder. */
    static byte[] written(int version, OutboundFrame[] frames) throws IOException {
        TransportSettings settings = TransportSettings.builder().maxMessageSize(FrameStreamFuzzTest.MAX_MESSAGE)
                .keepaliveInterval(Duration.ZERO).keepaliveTimeout(Duration.ZERO).build();
        TransportCore core = new TransportCore(new TransportContext("seeds", 1, PeerIdentity.ROLE_NODE, () -> 0,
                new Ignoring(), settings), new BufferPool(1 << 20));
        StreamConnection c = StreamConnection.open(core);
        c.receive(FrameStreamFuzzTest.opening(version), 0);
        c.step();
        assertTrue(c.isOpen() && c.remoteIdentity() != null, "the seed connection did not open");
        c.takeWritten();
        for (OutboundFrame f : frames) {
            c.offer(f);
        }
        byte[] b = c.takeWritten();
        c.closeNow();
        return b;
    }

    private static byte[] input(int flags, int chunk, byte[] stream) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(flags);
        out.write(chunk);
        out.writeBytes(stream);
        return out.toByteArray();
    }

    private static byte[] header(int length, int type, int encoding, int metadataLength, int status) {
        ByteBuffer b = ByteBuffer.allocate(FrameLayout.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        FrameLayout.putHeader(b, length, type, 0, status, 1, 7, -1, 1, 0);
        b.put(FrameLayout.OFF_ENCODING, (byte) encoding).putInt(FrameLayout.OFF_METADATA_LENGTH, metadataLength);
        return b.array();
    }

    private static byte[] withBody(byte[] header, byte[] body) {
        return FrameStreamFuzzTest.concat(header, body);
    }

    private static final class Ignoring implements FrameHandler {
        @Override
        public void onOpen(TransportConnection c) {
        }

        @Override
        public void onFrame(TransportConnection c, InboundHeader h, Message payload) {
            payload.close();
        }

        @Override
        public void onClose(TransportConnection c, dev.baton.BatonException cause) {
        }
    }
}
