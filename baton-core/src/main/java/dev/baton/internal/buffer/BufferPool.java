package dev.baton.internal.buffer;

import dev.baton.spi.BufferRecycler;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Direct buffers in power-of-two size classes, reused instead of allocated per message.
 *
 * <p>Each class keeps at most {@code maxRetainedBytes / classCount}-ish buffers (and at least two) so the
 * pool's own footprint is bounded; buffers above {@link #MAX_POOLED_SIZE} are allocated fresh and left to
 * the garbage collector. A buffer that is never recycled is simply collected: forgetting to close a
 * {@link dev.baton.Message} costs a pool miss, never a leak.
 *
 * <p>Thread-safe. Each class is an {@link ObjectPool}: small array stacks, striped by thread, each under its
 * own lock (uncontended in practice: a buffer is mostly taken and given back by the same I/O thread).
 */
public final class BufferPool implements BufferRecycler {

    static final int MIN_SHIFT = 8;                       // 256 B
    static final int MAX_SHIFT = 24;                      // 16 MiB
    public static final int MAX_POOLED_SIZE = 1 << MAX_SHIFT;

    @SuppressWarnings("unchecked")
    private final ObjectPool<ByteBuffer>[] classes = new ObjectPool[MAX_SHIFT - MIN_SHIFT + 1];
    private final AtomicLong allocations = new AtomicLong();

    public BufferPool(long maxRetainedBytes) {
        for (int i = 0; i < classes.length; i++) {
            long size = 1L << (i + MIN_SHIFT);
            int depth = (int) Math.max(2, Math.min(256, maxRetainedBytes / classes.length / size));
            classes[i] = new ObjectPool<>(depth);
        }
    }

    /** A buffer with capacity at least {@code size}, cleared, little-endian. */
    public ByteBuffer acquire(int size) {
        if (size > MAX_POOLED_SIZE) {
            allocations.incrementAndGet();
            return ByteBuffer.allocateDirect(size).order(ByteOrder.LITTLE_ENDIAN);
        }
        int index = classIndex(size);
        ByteBuffer b = classes[index].poll();
        if (b == null) {
            allocations.incrementAndGet();
            b = ByteBuffer.allocateDirect(1 << (index + MIN_SHIFT)).order(ByteOrder.LITTLE_ENDIAN);
        }
        return b.clear();
    }

    @Override
    public void recycle(ByteBuffer buffer) {
        int capacity = buffer.capacity();
        if (!buffer.isDirect() || capacity > MAX_POOLED_SIZE || Integer.bitCount(capacity) != 1
                || capacity < (1 << MIN_SHIFT)) {
            return;
        }
        classes[Integer.numberOfTrailingZeros(capacity) - MIN_SHIFT].offer(buffer);
    }

    /** How many buffers were newly allocated since start (a pool miss each). */
    public long allocations() {
        return allocations.get();
    }

    static int classIndex(int size) {
        int shift = size <= (1 << MIN_SHIFT) ? MIN_SHIFT : 32 - Integer.numberOfLeadingZeros(size - 1);
        return shift - MIN_SHIFT;
    }
}
