package dev.baton.internal.tcp;

import dev.baton.spi.ObjectPool;

import java.nio.ByteBuffer;

/**
 * The ciphertext buffers of the TLS connections of one transport: heap buffers of
 * {@value TlsConnection#NET_BUFFER_SIZE} bytes, held by a connection only while they hold bytes, and kept for reuse
 * up to {@value #RETAINED} of them. Heap, not direct: see {@link TlsConnection}. Thread-safe.
 */
final class CipherBuffers {

    /** Buffers kept idle at most (4 MiB): enough for the busy connections of a node, bounded for thousands. */
    static final int RETAINED = 64;

    private final ObjectPool<ByteBuffer> idle = new ObjectPool<>(RETAINED);

    /** An empty buffer (write mode) of {@value TlsConnection#NET_BUFFER_SIZE} bytes. */
    ByteBuffer acquire() {
        ByteBuffer b = idle.poll();
        return b != null ? b.clear() : ByteBuffer.allocate(TlsConnection.NET_BUFFER_SIZE);
    }

    void recycle(ByteBuffer b) {
        idle.offer(b);
    }
}
