package dev.baton.spi.connection;

import dev.baton.spi.Compressor;
import dev.baton.spi.Compressors;
import dev.baton.spi.FrameType;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.PeerIdentity;

import java.nio.ByteBuffer;

/**
 * Compression of messages on a connection (docs/protocol.md#compression): which frames the writer compresses, and
 * the compressing and decompressing themselves, into pooled direct buffers. A compressed message is a u32 length
 * (the message's, decompressed) followed by the compressor's output.
 *
 * <p>Compressing is an optimisation the sender may always skip: a frame is sent as it is when its encoding is not
 * one both sides read, it is smaller than the threshold, it is not a request or successful response, compressing
 * fails, or the result is not smaller. Decompressing is a check of untrusted input: the declared length is checked
 * against the receiver's maximum before anything is allocated, the compressor writes at most that many bytes, and
 * anything else than exactly that many is an error.
 */
final class MessageCompression {

    private static final System.Logger LOG = System.getLogger(MessageCompression.class.getName());
    private static volatile boolean compressFailureLogged;

    private final TransportCore core;
    private final BufferPool pool;
    private final int localEncodings;
    private final int threshold;

    MessageCompression(TransportCore core) {
        this.core = core;
        this.pool = core.pool();
        this.localEncodings = core.settings().acceptedEncodings();
        this.threshold = core.settings().compressionThreshold();
    }

    /** True when this side reads encoding {@code id} (told to the peer in the handshake). */
    boolean reads(int id) {
        return id > 0 && id <= Compressors.MAX_ID && (localEncodings & (1 << id)) != 0;
    }

    /** The encoding {@code frame} may ask the peer to answer with (header offset 27): its wish if both sides read it. */
    int responseEncoding(OutboundFrame frame, PeerIdentity peer) {
        int enc = frame.frameEncoding();
        return enc != 0 && frame.frameType() == FrameType.REQUEST && reads(enc) && peer != null
                && peer.acceptsEncoding(enc) ? enc : 0;
    }

    /**
     * The encoding {@code frame}'s message goes with: its wish when every condition holds (see the class comment but
     * the size gain, which only {@link #compress} knows), else 0.
     */
    int encodingFor(OutboundFrame frame, PeerIdentity peer, int size) {
        int enc = frame.frameEncoding();
        if (enc == 0 || size < threshold || peer == null || !peer.acceptsEncoding(enc) || !reads(enc)) {
            return 0;
        }
        int type = frame.frameType();
        return type == FrameType.REQUEST || (type == FrameType.RESPONSE && frame.frameStatus() == 0) ? enc : 0;
    }

    /**
     * {@code payload}'s remaining bytes compressed with encoding {@code enc}, behind their length, in a pooled buffer
     * (position 0, limit its end) the caller recycles; null when it is not smaller or compressing failed.
     */
    ByteBuffer compress(int enc, ByteBuffer payload) {
        Compressor c = Compressors.forId(enc);
        int size = payload.remaining();
        ByteBuffer src = payload;
        ByteBuffer staged = null;
        ByteBuffer out = null;
        try {
            if (!payload.isDirect()) {
                staged = pool.acquire(size);
                staged.put(0, payload, payload.position(), size).limit(size).position(0);
                src = staged;
            }
            int bound = FrameLayout.COMPRESSED_PREFIX + c.maxCompressedLength(size);
            out = pool.acquire(bound);
            out.limit(bound).position(FrameLayout.COMPRESSED_PREFIX);
            int n = c.compress(src.duplicate(), out.slice());
            if (n <= 0 || FrameLayout.COMPRESSED_PREFIX + n >= size) {
                pool.recycle(out);
                return null;        // no gain: the message goes as it is
            }
            out.putInt(0, size).limit(FrameLayout.COMPRESSED_PREFIX + n).position(0);
            core.compressed(size, out.remaining());
            return out;
        } catch (RuntimeException e) {
            if (out != null) {
                pool.recycle(out);
            }
            if (!compressFailureLogged) {
                compressFailureLogged = true;
                LOG.log(System.Logger.Level.WARNING, "{0} could not compress a message of {1} bytes, sent uncompressed "
                        + "(logged once): {2}", c.name(), size, e.toString());
            }
            return null;
        } finally {
            if (staged != null) {
                pool.recycle(staged);
            }
        }
    }

    /**
     * Decompresses the compressed message {@code src}[{@code offset}, {@code offset + length}) of encoding {@code enc}
     * into a pooled buffer of its declared length (position 0, limit that length), which the caller lends on. Throws
     * {@link IllegalArgumentException} with the reason when the message is malformed or declares more than
     * {@code maxLength} bytes; nothing is allocated then, or it was given back.
     */
    ByteBuffer decompress(int enc, ByteBuffer src, int offset, int length, int maxLength) {
        Compressor c = Compressors.forId(enc);
        if (length < FrameLayout.COMPRESSED_PREFIX) {
            throw new IllegalArgumentException(c.name() + " message of " + length + " bytes has no length prefix");
        }
        long declared = Integer.toUnsignedLong(src.getInt(offset));
        if (declared > maxLength) {
            throw new IllegalArgumentException(c.name() + " message of " + length + " bytes declares " + declared
                    + " bytes once decompressed, more than the maximum " + maxLength);
        }
        int size = (int) declared;
        ByteBuffer out = pool.acquire(Math.max(size, 1));
        out.limit(size).position(0);
        ByteBuffer in = src.duplicate().limit(offset + length).position(offset + FrameLayout.COMPRESSED_PREFIX);
        int n;
        try {
            n = c.decompress(in, out.duplicate());
        } catch (RuntimeException malformed) {
            pool.recycle(out);
            throw new IllegalArgumentException("malformed " + c.name() + " message of " + length + " bytes: "
                    + malformed.getMessage(), malformed);
        }
        if (n != size) {
            pool.recycle(out);
            throw new IllegalArgumentException(c.name() + " message declares " + size + " bytes once decompressed but "
                    + "holds " + n);
        }
        core.decompressed();
        return out;
    }
}
