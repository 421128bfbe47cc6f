package dev.baton.internal.util;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A bounded, lock-free queue for many producers and one consumer at a time, allocation-free after
 * construction (Vyukov's sequence-per-slot design). Consumers must be serialised by the caller (the
 * combining writer is, through its work-in-progress counter).
 */
public final class MpscArrayQueue<E> {

    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(Object[].class);
    private static final VarHandle SEQS = MethodHandles.arrayElementVarHandle(long[].class);

    private final Object[] slots;
    private final long[] sequences;
    private final int mask;
    private final AtomicLong tail = new AtomicLong();   // next slot a producer claims
    private long head;                                  // consumer-only; published through sequences

    public MpscArrayQueue(int requestedCapacity) {
        int capacity = Integer.highestOneBit(Math.max(2, requestedCapacity - 1)) << 1;
        slots = new Object[capacity];
        sequences = new long[capacity];
        for (int i = 0; i < capacity; i++) {
            sequences[i] = i;
        }
        mask = capacity - 1;
    }

    public int capacity() {
        return slots.length;
    }

    /** Adds {@code e}; false when the queue is full. */
    public boolean offer(E e) {
        while (true) {
            long t = tail.get();
            int index = (int) t & mask;
            long seq = (long) SEQS.getAcquire(sequences, index);
            long diff = seq - t;
            if (diff == 0) {
                if (tail.compareAndSet(t, t + 1)) {
                    SLOTS.setRelease(slots, index, e);
                    SEQS.setRelease(sequences, index, t + 1);
                    return true;
                }
            } else if (diff < 0) {
                return false;
            } else {
                Thread.onSpinWait();
            }
        }
    }

    /** Removes the oldest element, or returns null when empty. Single consumer at a time. */
    @SuppressWarnings("unchecked")
    public E poll() {
        long h = head;
        int index = (int) h & mask;
        long seq = (long) SEQS.getAcquire(sequences, index);
        if (seq != h + 1) {
            return null;
        }
        E e = (E) SLOTS.getAcquire(slots, index);
        SLOTS.setRelease(slots, index, null);
        SEQS.setRelease(sequences, index, h + mask + 1);
        head = h + 1;
        return e;
    }
}
