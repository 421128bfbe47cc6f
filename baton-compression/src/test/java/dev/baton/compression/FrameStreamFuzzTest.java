package dev.baton.compression;

import com.code_intelligence.jazzer.junit.FuzzTest;

import dev.baton.BatonException;
import dev.baton.Compression;
import dev.baton.Message;
import dev.baton.Metadata;
import dev.baton.Status;
import dev.baton.spi.Compressors;
import dev.baton.spi.FrameHandler;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportSettings;
import dev.baton.spi.TransportStats;
import dev.baton.spi.connection.BufferPool;
import dev.baton.spi.connection.Handshake;
import dev.baton.spi.connection.TransportCore;
import dev.baton.fuzz.AllocationMeter;
import dev.baton.fuzz.QuietLogging;
import dev.baton.fuzz.SeedCorpus;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the receive side every transport shares: a real {@code FramedConnection} reads a byte stream (the peer's
 * opening through {@link Handshake#decode}, then frames: header checks, metadata, payloads in the read buffer and in
 * buffers of their own, compressed messages through zstd and lz4) and hands each frame to its handler. It lives in
 * this module because the compressors do: with them on the class path, compressed frames are accepted and
 * decompressed, not merely refused.
 *
 * <p>Input: byte 0, flags (bit 0: the harness writes a valid opening first, its version from bits 1-2; else the
 * stream must bring its own; bit 3: the stream is shown in place, as shared memory shows its ring, so whole plain
 * frames are parsed where they lie); byte 1, how many bytes each read returns (0: all that fits); the rest, the
 * stream. The seeds are also read both ways, and must deliver the same frames and end the same way.
 * This side reads messages of up to {@value #MAX_MESSAGE} bytes; a header may declare up to 4 GiB.
 *
 * <p>Contract checked: every malformed stream closes the connection with PROTOCOL_ERROR, nothing ever escapes the
 * reader (an exception there would close it with INTERNAL); every frame delivered is whole and within the limits
 * (its length is its payload's, at most the maximum, with metadata only on a connection that speaks it); no input
 * costs more memory than the limits allow (heap and direct, measured), so nothing is allocated for a declared size
 * before it is checked; and after the close no buffer and no receive budget stays held.
 */
@Timeout(60)
class FrameStreamFuzzTest {

    static final int MAX_MESSAGE = 1 << 20;
    /** Direct memory an input may make the process allocate: a read buffer, a large frame's, a decompressed one. */
    private static final long DIRECT_LIMIT = 4L * MAX_MESSAGE + (1 << 20);
    private static final TransportSettings SETTINGS = TransportSettings.builder().maxMessageSize(MAX_MESSAGE)
            .receiveBudgetBytes(4L * MAX_MESSAGE).keepaliveInterval(Duration.ZERO).keepaliveTimeout(Duration.ZERO)
            .build();
    private static final BufferPool POOL = new BufferPool(16L << 20);
    /** How a stream may end: malformed, closed, or (a HELLO that asks for a cluster secret this side lacks) refused. */
    private static final Set<Status.Code> CLOSES = Set.of(Status.Code.PROTOCOL_ERROR, Status.Code.CLOSED,
            Status.Code.UNAUTHENTICATED);
    @RegisterExtension
    static final QuietLogging.Extension QUIET = QuietLogging.whileTheClassRuns("dev.baton");

    @BeforeAll
    static void warm() throws IOException {
        // The seeds once, unmeasured: loading and initialising classes is not counted.
        for (byte[] seed : SeedCorpus.existing(FrameStreamFuzzTest.class,
                "anyByteStreamIsReadOrClosedAsAProtocolError")) {
            read(seed, false);
        }
    }

    @FuzzTest
    void anyByteStreamIsReadOrClosedAsAProtocolError(byte[] input) throws IOException {
        AllocationMeter.repeatIfFirstExceeds(() -> read(input, true));
    }

    private static void read(byte[] input, boolean metered) throws IOException {
        if (input.length < 2) {
            return;
        }
        int flags = Byte.toUnsignedInt(input[0]);
        byte[] stream = stream(input);
        Checking handler = new Checking();
        TransportCore core = new TransportCore(new TransportContext("fuzz", 1, PeerIdentity.ROLE_NODE, () -> 0,
                handler, SETTINGS), POOL);
        AllocationMeter meter = AllocationMeter.start();
        StreamConnection c = StreamConnection.open(core);
        handler.connection = c;
        readAll(c, stream, Byte.toUnsignedInt(input[1]), (flags & 8) != 0);
        BatonException cause = c.closeCause();
        c.closeNow();
        if (metered) {
            meter.assertAtMost(2L * MAX_MESSAGE + 64L * input.length, DIRECT_LIMIT, "reading a stream of "
                    + stream.length + " bytes");
        }
        if (cause != null) {
            assertTrue(CLOSES.contains(cause.status().code()), () -> "closed with " + cause);
        }
        TransportStats s = core.stats();
        assertEquals(0, s.receiveBytesReserved(), "receive budget still reserved after the close");
        assertEquals(0, s.connectionBufferBytes(), "buffers still held after the close");
    }

    /** Every seed, and streams of many frames, read in place and through the read buffer: same frames, same end. */
    @Test
    void framesReadInPlaceAreTheFramesReadThroughTheReadBuffer() throws IOException {
        int seeds = 0;
        for (byte[] seed : SeedCorpus.existing(FrameStreamFuzzTest.class,
                "anyByteStreamIsReadOrClosedAsAProtocolError")) {
            if (seed.length >= 2) {
                assertEquals(trace(seed, false, null), trace(seed, true, null), "seed of " + seed.length + " bytes");
                seeds++;
            }
        }
        assertTrue(seeds > 10, "only " + seeds + " seeds");
        for (boolean plainOnly : new boolean[] {false, true}) {
            byte[] stream = mixedStream(plainOnly);
            for (int chunk : new int[] {0, 1, 29, 255}) {
                byte[] input = concat(new byte[] {1 | 2 << 1, (byte) chunk}, stream);
                long[] parsedInPlace = new long[1];
                assertEquals(trace(input, false, null), trace(input, true, parsedInPlace), "chunks of " + chunk);
                if (plainOnly && chunk == 0) {
                    // Shown all at once, as a ring shows a batch: every frame but the one past the read buffer.
                    assertTrue(parsedInPlace[0] > stream.length - 80_000, parsedInPlace[0] + " of " + stream.length
                            + " bytes parsed in place");
                }
            }
        }
    }

    /**
     * What the seeds have little of, from the real encoder: many frames of 1-4 KiB and some of 20-50 KiB (taken in
     * place), one past the read buffer, and unless {@code plainOnly} some under 1 KiB, with metadata or compressed
     * (all read through the read buffer).
     */
    private static byte[] mixedStream(boolean plainOnly) throws IOException {
        java.util.Random random = new java.util.Random(7);
        List<OutboundFrame> frames = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            int size = i == 60 ? 70_000 : i % 12 == 11 ? 20_000 + random.nextInt(30_000)
                    : plainOnly || i % 3 != 0 ? 1024 + random.nextInt(3000) : random.nextInt(600);
            byte[] payload = new byte[size];
            random.nextBytes(payload);
            Frame f = new Frame(i % 2 == 0 ? FrameType.REQUEST : FrameType.RESPONSE, 0, i, 1, payload);
            if (plainOnly) {
                frames.add(f);
                continue;
            }
            if (i % 17 == 5) {
                f.setMetadata(Metadata.of("k", "v" + i));
            } else if (i % 23 == 7) {
                f.setPayload(ByteBuffer.wrap("again and again ".repeat(100).getBytes(StandardCharsets.UTF_8)));
                f.setEncoding(Compression.ZSTD.id());
            }
            frames.add(f);
        }
        return FrameStreamSeedsTest.written(ProtocolVersion.MAX, frames.toArray(OutboundFrame[]::new));
    }

    /** What reading {@code input} delivered (type, id, length, payload bytes per frame), then how it ended. */
    private static List<String> trace(byte[] input, boolean inPlace, long[] parsedInPlace) throws IOException {
        byte[] stream = stream(input);
        List<String> trace = new ArrayList<>();
        FrameHandler recording = new FrameHandler() {
            @Override
            public void onOpen(TransportConnection c) {
            }

            @Override
            public void onFrame(TransportConnection c, InboundHeader h, Message payload) {
                try (payload) {
                    trace.add(h.type() + " " + h.requestId() + " " + h.length() + " " + h.metadata() + " "
                            + Arrays.toString(payload.toByteArray()));
                }
            }

            @Override
            public void onClose(TransportConnection c, BatonException cause) {
            }
        };
        TransportCore core = new TransportCore(new TransportContext("fuzz", 1, PeerIdentity.ROLE_NODE, () -> 0,
                recording, SETTINGS), POOL);
        StreamConnection c = StreamConnection.open(core);
        readAll(c, stream, Byte.toUnsignedInt(input[1]), inPlace);
        BatonException cause = c.closeCause();
        trace.add("end " + (cause == null ? "open" : cause.status().code()) + ", " + c.unread() + " unread");
        if (parsedInPlace != null) {
            parsedInPlace[0] = c.consumedInPlace();
        }
        c.closeNow();
        return trace;
    }

    /** The stream an input describes: its bytes after the first two, behind a valid opening if its flags ask. */
    private static byte[] stream(byte[] input) {
        int flags = Byte.toUnsignedInt(input[0]);
        byte[] stream = Arrays.copyOfRange(input, 2, input.length);
        return (flags & 1) != 0 ? concat(opening(version(flags)), stream) : stream;
    }

    /** Has {@code c} read {@code stream}, {@code chunk} bytes a read, until it closes or reads no more. */
    private static void readAll(StreamConnection c, byte[] stream, int chunk, boolean inPlace) throws IOException {
        c.receive(stream, chunk);
        c.inPlace(inPlace);
        while (c.isOpen()) {
            int before = c.unread();
            c.step();
            if (c.unread() == before) {
                break;
            }
        }
    }

    static int version(int flags) {
        return switch ((flags >>> 1) & 3) {
            case 0 -> ProtocolVersion.MIN;
            case 1 -> ProtocolVersion.METADATA;
            default -> ProtocolVersion.MAX;
        };
    }

    /** A peer's opening: it reads every encoding there is and messages of up to the maximum. */
    static byte[] opening(int version) {
        ByteBuffer b = ByteBuffer.allocate(Handshake.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        Handshake.encode(b, 2, 1, PeerIdentity.ROLE_NODE, 1024, MAX_MESSAGE, version, Compressors.availableMask());
        return b.array();
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    /** Checks each frame delivered, and gives its payload back. */
    private static final class Checking implements FrameHandler {
        StreamConnection connection;

        @Override
        public void onOpen(TransportConnection c) {
        }

        @Override
        public void onFrame(TransportConnection c, InboundHeader h, Message payload) {
            try (payload) {
                assertTrue(h.type() > FrameType.HELLO && h.type() <= FrameType.MAX, "delivered type " + h.type());
                assertEquals(payload.size(), h.length(), "header length and payload size differ");
                Metadata m = h.metadata();
                int meta = m == null ? 0 : m.encodedSize();
                assertTrue(payload.size() + meta <= MAX_MESSAGE, "delivered " + payload.size() + " + " + meta
                        + " bytes, over the maximum");
                if (m != null) {
                    assertTrue(connection.remoteIdentity().speaksMetadata(), "metadata on a version-2 connection");
                    assertTrue(h.type() == FrameType.REQUEST || h.type() == FrameType.RESPONSE, "metadata on type "
                            + h.type());
                }
                assertTrue(payload.size() == 0 || payload.buffer().remaining() == payload.size(), "payload view");
            }
        }

        @Override
        public void onClose(TransportConnection c, BatonException cause) {
        }
    }

    /** An outbound frame with no follow-up, for making seeds with the real writer. */
    static final class Frame extends OutboundFrame {
        Frame(int type, int status, long requestId, int method, byte[] payload) {
            setHeader(type, 0, status, requestId, 7, -1, method, 1_000_000_000L);
            setPayload(ByteBuffer.wrap(payload));
        }

        @Override
        public void onWritten() {
        }

        @Override
        public void onDropped(BatonException cause) {
        }
    }
}
