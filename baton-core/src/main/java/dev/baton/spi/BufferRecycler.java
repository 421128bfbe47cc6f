package dev.baton.spi;

import java.nio.ByteBuffer;

/** Takes back a buffer lent out in a {@link dev.baton.Message}. Implementations are thread-safe. */
@FunctionalInterface
public interface BufferRecycler {
    /** Called at most once per lent buffer, from any thread. */
    void recycle(ByteBuffer buffer);
}
