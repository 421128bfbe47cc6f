package dev.baton.spi;

import java.nio.ByteBuffer;

/**
 * One compression algorithm of the wire protocol, provided by an optional module (baton-compression provides zstd
 * and lz4) and found with the {@link java.util.ServiceLoader}; see {@link Compressors}. A node advertises in its
 * handshake the encodings it has a compressor for, and a sender compresses a message only for a peer that
 * advertised its encoding (docs/protocol.md#compression).
 *
 * <p>Implementations are thread-safe and allocate nothing large per call (the buffers are the caller's). Both
 * methods read {@code src} from its position to its limit and write {@code dst} from its position, without moving
 * either buffer's position or limit. The buffers may be heap or direct.
 */
public interface Compressor {

    /** The encoding's number on the wire: {@code dev.baton.Compression#id()}, 1 to 15. */
    int id();

    /** The encoding's name, as {@code dev.baton.Compression} names it ("zstd", "lz4"). */
    String name();

    /** The largest output {@link #compress} can produce for {@code sourceLength} input bytes. */
    int maxCompressedLength(int sourceLength);

    /**
     * Compresses {@code src}'s remaining bytes into {@code dst} (which has at least
     * {@link #maxCompressedLength} bytes remaining) and returns the compressed length.
     *
     * @throws RuntimeException if it cannot (the sender then sends the message uncompressed)
     */
    int compress(ByteBuffer src, ByteBuffer dst);

    /**
     * Decompresses {@code src}'s remaining bytes into {@code dst}, writing at most {@code dst.remaining()} bytes, and
     * returns how many it wrote. Must never write past {@code dst}'s limit nor read past {@code src}'s, whatever the
     * input: the input comes from the network.
     *
     * @throws IllegalArgumentException if the input is malformed or decompresses to more than {@code dst.remaining()}
     */
    int decompress(ByteBuffer src, ByteBuffer dst);
}
