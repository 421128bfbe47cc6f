package dev.baton.spi;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A bounded pool of reusable objects: the call records, message shells and buffers that keep the call path
 * free of garbage, for the runtime and for transports that want the same. {@link #poll()} returns null when the
 * pool has nothing at hand (the caller allocates); {@link #offer} drops the object (to the garbage collector)
 * when the pool is full, so the pool never holds more than its capacity.
 *
 * <p>Thread-safe. The pool is striped: each thread uses the stack its id hashes to ({@link #homeStripe()}),
 * under that stack's try-lock, so threads that call at once (four caller threads of one node, say) rarely meet
 * on one. An object that one thread takes and another gives back (a call record a caller takes and the I/O
 * thread releases after the response) goes back to the taker's stripe ({@link #offer(Object, int)}), where the
 * taker looks first; a thread whose stripe is empty (or full) tries the others before it gives up. Up to 8
 * stripes share the capacity (fewer for a small pool), so the pool never holds more than its capacity.
 *
 * <p>A pool made {@linkplain #ObjectPool(int, boolean) with thread slots} also keeps one object per platform thread
 * beside the stripes, which that thread takes and gives back with no atomic at all: what an I/O thread takes for a
 * message and gives back when the message is done (a lent message's shell, its buffer) then costs two plain field
 * writes instead of two compare-and-sets. Such a pool holds up to its capacity plus one object per thread that used
 * it (the object goes to the garbage collector with its thread), so it is for objects that refer to nothing that must
 * be let go: a thread slot outlives the pool's owner until the thread ends or the pool is collected.
 */
public final class ObjectPool<T> {

    private static final int MAX_STRIPES = 8;       // a power of two

    private final Stripe[] stripes;
    private final int mask;
    private final ThreadLocal<Slot> slots;     // null: no thread slots

    public ObjectPool(int capacity) {
        this(capacity, false);
    }

    /** A pool that also keeps one object per platform thread when {@code threadSlots} (see the class comment). */
    public ObjectPool(int capacity, boolean threadSlots) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be positive, was " + capacity);
        }
        int n = Math.min(MAX_STRIPES, Integer.highestOneBit(capacity));
        stripes = new Stripe[n];
        mask = n - 1;
        for (int i = 0; i < n; i++) {
            stripes[i] = new Stripe(capacity / n);
        }
        slots = threadSlots ? ThreadLocal.withInitial(Slot::new) : null;
    }

    /** A pooled object, or null when there is none at hand. Looks in the calling thread's stripe first. */
    @SuppressWarnings("unchecked")
    public T poll() {
        Slot slot = slot();
        if (slot != null && slot.item != null) {
            Object o = slot.item;
            slot.item = null;
            return (T) o;
        }
        int home = homeStripe();
        for (int k = 0; k <= mask; k++) {
            Object o = stripes[(home + k) & mask].poll();
            if (o != null) {
                return (T) o;
            }
        }
        return null;
    }

    /** Gives {@code item} back to the calling thread's stripe (or another with room). */
    public boolean offer(T item) {
        Slot slot = slot();
        if (slot != null && slot.item == null) {
            slot.item = item;
            return true;
        }
        return offer(item, homeStripe());
    }

    /** The calling thread's slot, or null (no thread slots, or a virtual thread: too many, too short-lived). */
    private Slot slot() {
        return slots == null || Thread.currentThread().isVirtual() ? null : slots.get();
    }

    /**
     * Gives {@code item} back to stripe {@code stripe} (the {@link #homeStripe()} of the thread that will take it
     * again), or another with room; false (and the item is left to the garbage collector) when the pool is full.
     */
    public boolean offer(T item, int stripe) {
        for (int k = 0; k <= mask; k++) {
            if (stripes[(stripe + k) & mask].offer(item)) {
                return true;
            }
        }
        return false;
    }

    /** How many objects the pool's stripes hold now (not the threads' slots). */
    public int size() {
        int n = 0;
        for (Stripe s : stripes) {
            n += s.size();
        }
        return n;
    }

    /** The stripe the calling thread takes from and gives back to. */
    public int homeStripe() {
        long id = Thread.currentThread().threadId();
        return (int) (id ^ (id >>> 3)) & mask;
    }

    /** One thread's object: only that thread reads or writes it. */
    private static final class Slot {
        Object item;
    }

    /**
     * One stack guarded by a try-lock: a thread that finds it taken does not wait but treats the stack as
     * empty (it allocates) or full (it drops the object), so taking and giving back never block and cost one
     * CAS and one release store. Padded so two stripes' flags share no cache line.
     */
    @SuppressWarnings("unused")
    private static final class Stripe {
        private static final VarHandle BUSY;

        static {
            try {
                BUSY = MethodHandles.lookup().findVarHandle(Stripe.class, "busy", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final Object[] items;
        private int count;              // guarded by busy
        private volatile int busy;
        private long p1, p2, p3, p4, p5, p6, p7;

        Stripe(int capacity) {
            items = new Object[capacity];
        }

        Object poll() {
            if (!BUSY.compareAndSet(this, 0, 1)) {
                return null;
            }
            try {
                if (count == 0) {
                    return null;
                }
                Object o = items[--count];
                items[count] = null;
                return o;
            } finally {
                BUSY.setRelease(this, 0);
            }
        }

        boolean offer(Object item) {
            if (!BUSY.compareAndSet(this, 0, 1)) {
                return false;
            }
            try {
                if (count == items.length) {
                    return false;
                }
                items[count++] = item;
                return true;
            } finally {
                BUSY.setRelease(this, 0);
            }
        }

        /** For diagnostics and tests: waits for the flag. */
        int size() {
            while (!BUSY.compareAndSet(this, 0, 1)) {
                Thread.onSpinWait();
            }
            try {
                return count;
            } finally {
                BUSY.setRelease(this, 0);
            }
        }
    }
}
