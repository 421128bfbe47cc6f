package dev.baton.spi.connection;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Implemented by a {@link FramedConnection} whose input lies in memory its reader can parse where it is (the shared
 * memory of a same-host transport): the reader then parses the whole, plain frames it finds there (no metadata, no
 * encoding, a body of 1 KiB up to its read buffer's size) and copies each body once, into a pooled buffer of its
 * size, instead of copying the stream into its read buffer first and the body out of that. Whatever else comes (part
 * of a frame, one that wraps, metadata, a compressed or out-of-band body, small frames) is read through
 * {@link FramedConnection#readBytes} as usual. Both methods are called by the reading role only.
 *
 * <p>The bytes may be in memory another process can write. The reader reads each header field it checks once, and
 * a body once (its copy), so a peer that changes bytes it has published can make a frame wrong, never make this
 * process read outside the buffer or act on a value it did not check.
 */
public interface InPlaceInput {

    /**
     * The bytes that have arrived and lie contiguous from the read position, as the [position, limit) of a
     * little-endian buffer (the same object may come back from the next call), or null when none have. They stay
     * unread until {@link #consumeInPlace}.
     *
     * @throws IOException the input is corrupt, or the connection closed
     */
    ByteBuffer inputInPlace() throws IOException;

    /** The reader is done with the first {@code n} bytes of the last {@link #inputInPlace()}: they may be reused. */
    void consumeInPlace(int n) throws IOException;
}
