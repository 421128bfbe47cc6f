package dev.baton.internal.buffer;

/**
 * A bounded stack of reusable objects: the call records and message shells that keep the call path free of
 * garbage. {@link #poll()} returns null when the pool is empty (the caller allocates); {@link #offer} drops
 * the object (to the garbage collector) when the pool is full, so the pool never holds more than its capacity.
 *
 * <p>Thread-safe: one monitor, held for a few instructions. Objects are mostly taken and given back by the
 * same I/O thread, so the monitor is uncontended in practice.
 */
public final class ObjectPool<T> {

    private final Object[] items;
    private int count;

    public ObjectPool(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be positive, was " + capacity);
        }
        this.items = new Object[capacity];
    }

    /** A pooled object, or null when there is none. */
    @SuppressWarnings("unchecked")
    public synchronized T poll() {
        if (count == 0) {
            return null;
        }
        T t = (T) items[--count];
        items[count] = null;
        return t;
    }

    /** Gives {@code item} back; false (and the item is left to the garbage collector) when the pool is full. */
    public synchronized boolean offer(T item) {
        if (count == items.length) {
            return false;
        }
        items[count++] = item;
        return true;
    }

    /** How many objects the pool holds now. */
    public synchronized int size() {
        return count;
    }
}
