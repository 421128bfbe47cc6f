package dev.baton.spi.connection;

import dev.baton.Message;

import java.nio.ByteBuffer;

/**
 * Large message bodies carried beside a connection's byte stream rather than in it: what a transport with memory
 * both sides can reach (shared memory) offers its {@link FramedConnection} through
 * {@link FramedConnection#outOfBandBodies()}. The stream then carries, for such a body, only the frame's header, its
 * metadata, and a short descriptor the transport wrote, under encoding {@link FrameLayout#ENCODING_OUT_OF_BAND}
 * (docs/protocol.md#out-of-band-bodies); the reader gets the body from the descriptor, lent in place.
 *
 * <p>So a large body costs one copy on the sender (into memory the reader can see) and none on the reader, and
 * small frames behind it in the stream wait only for its descriptor, not for its bytes.
 *
 * <p>Only the message of a REQUEST or of a successful RESPONSE, uncompressed and at least {@link #threshold()}
 * bytes, goes out of band; everything else, and a body {@link #put} declines, goes through the stream as always.
 */
public interface OutOfBandBodies {

    /** The most bytes a descriptor may have: a frame under the out-of-band encoding with more is a protocol error. */
    int MAX_DESCRIPTOR = 256;

    /** The smallest body worth carrying out of band. */
    int threshold();

    /**
     * Copies {@code body}'s remaining bytes out of band (its position does not move) and writes their descriptor into
     * {@code dst} at {@code offset}, at most {@value #MAX_DESCRIPTOR} bytes. Returns the descriptor's length, or -1
     * when the body must go through the stream this time (the peer cannot take it, or no room is left beside the
     * stream). The writer role, on the thread that builds the send batch.
     */
    int put(ByteBuffer body, ByteBuffer dst, int offset);

    /**
     * The body the descriptor {@code src}[{@code offset}, + {@code length}) names, lent in place: a message whose
     * release gives its memory back to the sender. The reading role.
     *
     * @param maxLength the most bytes the body may have (the maximum message size, less the frame's metadata)
     * @throws IllegalArgumentException the descriptor is malformed or names what the peer may not name: the
     *                                  connection closes with a protocol error that says why
     */
    Message take(ByteBuffer src, int offset, int length, int maxLength);
}
