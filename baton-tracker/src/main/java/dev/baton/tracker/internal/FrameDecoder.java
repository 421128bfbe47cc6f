package dev.baton.tracker.internal;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Splits one connection's inbound bytes into the magic and then frames (see {@link TvmWire} for the layout),
 * whatever pieces the socket hands over. Pure: no I/O and no clock of its own (the caller passes the time), so
 * that the stall rule can be tested without sockets. Not thread-safe: one per connection, used by its loop.
 *
 * <p>A frame's body is held in an array that grows as bytes arrive (from 4 KiB, doubling, up to the announced
 * length), so a peer that announces 1 MiB and sends 10 bytes holds 4 KiB, not 1 MiB.
 */
final class FrameDecoder {

    /** Receives what the decoder finds. */
    interface Sink {
        /** The magic arrived and was right. */
        void onMagic() throws ProtocolException;

        /** A whole frame: {@code body[0, length)}. The array is reused after this returns. */
        void onFrame(byte[] body, int length) throws ProtocolException;
    }

    private static final int FIRST_BODY_BYTES = 4096;
    /** Bodies up to this size keep their array for the next frame; larger ones give it back to the GC. */
    private static final int RETAINED_BODY_BYTES = 16 * 1024;

    private final int maxFrameBytes;
    private final byte[] word = new byte[4];
    private int wordFill;
    private boolean magicSeen;
    /** -1 while reading a length word, else the body length being read. */
    private int bodyLength = -1;
    private byte[] body = new byte[0];
    private int bodyFill;
    /** When the first byte of the unfinished frame (or of the magic) arrived; valid while {@link #midFrame()}. */
    private long frameStartNs;
    private boolean midFrame;

    FrameDecoder(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
    }

    /** True once the magic was received. */
    boolean magicSeen() {
        return magicSeen;
    }

    /** True when part of a frame (or of the magic) has arrived and the rest has not. */
    boolean midFrame() {
        return midFrame;
    }

    /** When the unfinished frame began ({@link System#nanoTime()} terms); meaningful only while {@link #midFrame()}. */
    long frameStartNs() {
        return frameStartNs;
    }

    /** Bytes this decoder holds for an unfinished frame body (its array's size). */
    int heldBytes() {
        return body.length;
    }

    /**
     * Consumes all of {@code in}, calling {@code sink} for the magic and for each whole frame. Throws
     * {@link ProtocolException} for a bad magic or a bad length (the caller closes the connection), or whatever
     * the sink throws; after a throw the decoder must not be used again.
     */
    void feed(ByteBuffer in, long nowNs, Sink sink) throws ProtocolException {
        while (in.hasRemaining()) {
            if (!midFrame) {
                midFrame = true;
                frameStartNs = nowNs;
            }
            if (bodyLength < 0) {
                int n = Math.min(4 - wordFill, in.remaining());
                in.get(word, wordFill, n);
                wordFill += n;
                if (wordFill < 4) {
                    return;
                }
                wordFill = 0;
                int value = (word[0] & 0xFF) | (word[1] & 0xFF) << 8 | (word[2] & 0xFF) << 16 | (word[3] & 0xFF) << 24;
                if (!magicSeen) {
                    if (value != TvmWire.TRACKER_MAGIC) {
                        throw new ProtocolException(ProtocolException.Kind.BAD_MAGIC,
                                "bad magic 0x" + Integer.toHexString(value) + " (the tracker's is 0x2f271)");
                    }
                    magicSeen = true;
                    midFrame = false;
                    sink.onMagic();
                    continue;
                }
                if (value <= 0 || value > maxFrameBytes) {
                    throw new ProtocolException(ProtocolException.Kind.BAD_LENGTH,
                            "frame length " + value + " (must be 1.." + maxFrameBytes + ")");
                }
                bodyLength = value;
                bodyFill = 0;
                if (body.length < Math.min(value, FIRST_BODY_BYTES)) {
                    body = new byte[Math.min(value, FIRST_BODY_BYTES)];
                }
            }
            int n = Math.min(bodyLength - bodyFill, in.remaining());
            if (bodyFill + n > body.length) {
                body = Arrays.copyOf(body, (int) Math.min(bodyLength, Math.max(2L * body.length, bodyFill + n)));
            }
            in.get(body, bodyFill, n);
            bodyFill += n;
            if (bodyFill < bodyLength) {
                return;
            }
            int length = bodyLength;
            bodyLength = -1;
            midFrame = false;
            sink.onFrame(body, length);
            if (body.length > RETAINED_BODY_BYTES) {
                body = new byte[0];
            }
        }
    }
}
