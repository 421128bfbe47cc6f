package dev.baton.spi.connection;

import dev.baton.spi.BufferRecycler;
import dev.baton.spi.ObjectPool;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Direct buffers in power-of-two size classes, reused instead of allocated per message.
 *
 * <p>The pool's own footprint is bounded by {@code maxRetainedBytes}: half of it is split evenly among the
 * small classes (up to 64 KiB; each keeps {@code maxRetainedBytes / 2 / classCount / size} buffers, 2 to
 * 256), the other half is one budget that the large classes share as traffic needs it (a node echoing eight
 * 1 MiB messages at once keeps eight or more 1 MiB buffers, not the two an even split would allow: each miss
 * allocates and zeroes a fresh direct buffer). Buffers above {@link #MAX_POOLED_SIZE} are allocated fresh and
 * left to the garbage collector. A buffer that is never recycled is simply collected: forgetting to close a
 * {@link dev.baton.Message} costs a pool miss, never a leak.
 *
 * <p>Thread-safe. Each class is an {@link ObjectPool}: small array stacks, striped by thread, each under its
 * own lock (uncontended in practice: a buffer is mostly taken and given back by the same I/O thread). The small
 * classes also keep one buffer per platform thread (an {@link ObjectPool} thread slot: no atomic for the thread that
 * takes a message's buffer and gives it back); the large ones do not, so their byte budget counts every buffer.
 */
public final class BufferPool implements BufferRecycler {

    static final int MIN_SHIFT = 8;                       // 256 B
    static final int MAX_SHIFT = 24;                      // 16 MiB
    public static final int MAX_POOLED_SIZE = 1 << MAX_SHIFT;
    /** Classes from this size up share one byte budget. */
    static final int LARGE_CLASS_MIN = 128 * 1024;
    private static final int SMALL_CLASSES = Integer.numberOfTrailingZeros(LARGE_CLASS_MIN) - MIN_SHIFT;

    @SuppressWarnings("unchecked")
    private final ObjectPool<ByteBuffer>[] classes = new ObjectPool[MAX_SHIFT - MIN_SHIFT + 1];
    private final AtomicLong allocations = new AtomicLong();
    private final AtomicLong largeRetained = new AtomicLong();     // bytes held by the large classes
    private final long largeBudget;

    public BufferPool(long maxRetainedBytes) {
        this.largeBudget = maxRetainedBytes / 2;
        for (int i = 0; i < classes.length; i++) {
            long size = 1L << (i + MIN_SHIFT);
            int depth = size >= LARGE_CLASS_MIN
                    ? 64            // bounded by largeBudget rather than by count
                    : (int) Math.max(2, Math.min(256, maxRetainedBytes / 2 / SMALL_CLASSES / size));
            classes[i] = new ObjectPool<>(depth, size < LARGE_CLASS_MIN);     // thread slots: see below
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
        if (b != null && b.capacity() >= LARGE_CLASS_MIN) {
            largeRetained.addAndGet(-b.capacity());
        }
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
        ObjectPool<ByteBuffer> pool = classes[Integer.numberOfTrailingZeros(capacity) - MIN_SHIFT];
        if (capacity < LARGE_CLASS_MIN) {
            pool.offer(buffer);
            return;
        }
        if (largeRetained.addAndGet(capacity) > largeBudget || !pool.offer(buffer)) {
            largeRetained.addAndGet(-capacity);     // over budget (or that class is full): left to the GC
        }
    }

    /** How many buffers were newly allocated since start (a pool miss each). */
    public long allocations() {
        return allocations.get();
    }

    /** Bytes of the buffers the pool holds now, idle (a sum over the classes: for statistics, not hot paths). */
    public long retainedBytes() {
        long bytes = 0;
        for (int i = 0; i < classes.length; i++) {
            bytes += (long) classes[i].size() << (i + MIN_SHIFT);
        }
        return bytes;
    }

    static int classIndex(int size) {
        int shift = size <= (1 << MIN_SHIFT) ? MIN_SHIFT : 32 - Integer.numberOfLeadingZeros(size - 1);
        return shift - MIN_SHIFT;
    }
}
