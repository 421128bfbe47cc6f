package dev.baton.tracker.internal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class FrameDecoderTest {

    private final List<String> frames = new ArrayList<>();
    private int magics;
    private final FrameDecoder.Sink sink = new FrameDecoder.Sink() {
        @Override
        public void onMagic() {
            magics++;
        }

        @Override
        public void onFrame(byte[] body, int length) {
            frames.add(new String(body, 0, length, StandardCharsets.UTF_8));
        }
    };

    private static byte[] stream(String... jsons) {
        ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(TvmWire.TRACKER_MAGIC);
        for (String j : jsons) {
            byte[] body = j.getBytes(StandardCharsets.UTF_8);
            b.putInt(body.length).put(body);
        }
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    @Test
    void splitsTheMagicAndFramesWhateverThePieces() throws ProtocolException {
        byte[] all = stream("[1]", "[3, \"k\", [9091, \"k:0.1\"], null]", "[6]");
        for (int piece = 1; piece <= all.length; piece++) {
            frames.clear();
            magics = 0;
            FrameDecoder d = new FrameDecoder(TvmWire.MAX_FRAME_BYTES);
            for (int i = 0; i < all.length; i += piece) {
                d.feed(ByteBuffer.wrap(all, i, Math.min(piece, all.length - i)), 0, sink);
            }
            assertEquals(1, magics);
            assertEquals(List.of("[1]", "[3, \"k\", [9091, \"k:0.1\"], null]", "[6]"), frames, "pieces of " + piece);
            assertFalse(d.midFrame());
        }
    }

    @Test
    void knowsWhenAFrameBeganAndWhenItIsUnfinished() throws ProtocolException {
        FrameDecoder d = new FrameDecoder(TvmWire.MAX_FRAME_BYTES);
        byte[] all = stream("[1]");
        d.feed(ByteBuffer.wrap(all, 0, 2), 100, sink);
        assertTrue(d.midFrame(), "half the magic");
        assertEquals(100, d.frameStartNs());
        d.feed(ByteBuffer.wrap(all, 2, 2), 200, sink);
        assertFalse(d.midFrame());
        assertTrue(d.magicSeen());
        d.feed(ByteBuffer.wrap(all, 4, 5), 300, sink);
        assertTrue(d.midFrame());
        assertEquals(300, d.frameStartNs());
        d.feed(ByteBuffer.wrap(all, 9, 2), 400, sink);
        assertEquals(300, d.frameStartNs(), "the whole frame is timed, not each piece");
        assertFalse(d.midFrame());
        assertEquals(List.of("[1]"), frames);
    }

    @Test
    void refusesABadMagicAndBadLengths() {
        FrameDecoder bad = new FrameDecoder(TvmWire.MAX_FRAME_BYTES);
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> bad.feed(ByteBuffer.wrap(new byte[]{0x71, (byte) 0xF2, 0x0F, 0}), 0, sink));
        assertEquals(ProtocolException.Kind.BAD_MAGIC, e.kind());
        assertEquals(0, magics);

        for (int length : new int[]{0, -1, Integer.MIN_VALUE, 101}) {
            FrameDecoder d = new FrameDecoder(100);
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(TvmWire.TRACKER_MAGIC)
                    .putInt(length).flip();
            ProtocolException le = assertThrows(ProtocolException.class, () -> d.feed(b, 0, sink));
            assertEquals(ProtocolException.Kind.BAD_LENGTH, le.kind(), "length " + length);
        }
    }

    @Test
    void holdsOnlyWhatArrivedOfALargeFrame() throws ProtocolException {
        FrameDecoder d = new FrameDecoder(TvmWire.MAX_FRAME_BYTES);
        ByteBuffer b = ByteBuffer.allocate(18).order(ByteOrder.LITTLE_ENDIAN).putInt(TvmWire.TRACKER_MAGIC)
                .putInt(TvmWire.MAX_FRAME_BYTES).put(new byte[10]).flip();
        d.feed(b, 0, sink);
        assertTrue(d.heldBytes() <= 4096, "holds " + d.heldBytes() + " bytes for 10 received");
        d.feed(ByteBuffer.wrap(new byte[100_000]), 0, sink);
        assertTrue(d.heldBytes() < 300_000, "holds " + d.heldBytes());
    }
}
