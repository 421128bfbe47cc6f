package dev.baton.internal.rpc;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A map from {@code long} to objects with open addressing (linear probing, backward-shift deletion): no
 * boxed key and no entry object per mapping, so putting and removing allocate nothing once the table has
 * grown to the connection's working set. Any key is allowed; an empty slot is a null value.
 *
 * <p>Thread-safe: every method holds this object's monitor, which callers may also hold to combine
 * operations (remove a call and take a reference to it, mark every call of a closed connection).
 */
final class LongMap<V> {

    private static final int MIN_CAPACITY = 16;

    private long[] keys = new long[MIN_CAPACITY];
    private Object[] values = new Object[MIN_CAPACITY];
    private int size;

    synchronized void put(long key, V value) {
        if (value == null) {
            throw new NullPointerException("value");
        }
        int mask = values.length - 1;
        int i = index(key, mask);
        while (values[i] != null) {
            if (keys[i] == key) {
                values[i] = value;
                return;
            }
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = value;
        if (++size > values.length >> 1) {
            grow();
        }
    }

    /**
     * Puts {@code value} unless the map already holds {@code limit} or more entries ({@code limit} 0: no limit);
     * false (nothing put) when it is full.
     */
    synchronized boolean putIfBelow(long key, V value, int limit) {
        if (limit > 0 && size >= limit) {
            return false;
        }
        put(key, value);
        return true;
    }

    @SuppressWarnings("unchecked")
    synchronized V get(long key) {
        int i = find(key);
        return i < 0 ? null : (V) values[i];
    }

    /** Removes and returns the value of {@code key}, or null. */
    @SuppressWarnings("unchecked")
    synchronized V remove(long key) {
        int i = find(key);
        if (i < 0) {
            return null;
        }
        V v = (V) values[i];
        delete(i);
        return v;
    }

    /** Removes {@code key} only while it maps to {@code value} (by identity). */
    synchronized boolean remove(long key, V value) {
        int i = find(key);
        if (i < 0 || values[i] != value) {
            return false;
        }
        delete(i);
        return true;
    }

    synchronized int size() {
        return size;
    }

    synchronized boolean isEmpty() {
        return size == 0;
    }

    /** Runs {@code action} on every value, under the monitor: it must be short and must not call back in. */
    @SuppressWarnings("unchecked")
    synchronized void forEach(Consumer<? super V> action) {
        for (Object v : values) {
            if (v != null) {
                action.accept((V) v);
            }
        }
    }

    /** A snapshot of the values. */
    @SuppressWarnings("unchecked")
    synchronized List<V> values() {
        List<V> out = new ArrayList<>(size);
        for (Object v : values) {
            if (v != null) {
                out.add((V) v);
            }
        }
        return out;
    }

    private int find(long key) {
        int mask = values.length - 1;
        int i = index(key, mask);
        while (values[i] != null) {
            if (keys[i] == key) {
                return i;
            }
            i = (i + 1) & mask;
        }
        return -1;
    }

    /** Empties slot {@code i}, then shifts later entries of the same probe run back so no lookup stops early. */
    private void delete(int i) {
        int mask = values.length - 1;
        values[i] = null;
        size--;
        int gap = i;
        int j = (i + 1) & mask;
        while (values[j] != null) {
            int home = index(keys[j], mask);
            // Move j into the gap unless its home lies cyclically in (gap, j].
            if (((j - home) & mask) >= ((j - gap) & mask)) {
                keys[gap] = keys[j];
                values[gap] = values[j];
                values[j] = null;
                gap = j;
            }
            j = (j + 1) & mask;
        }
    }

    private void grow() {
        long[] oldKeys = keys;
        Object[] oldValues = values;
        keys = new long[oldKeys.length << 1];
        values = new Object[oldValues.length << 1];
        int mask = values.length - 1;
        for (int k = 0; k < oldValues.length; k++) {
            if (oldValues[k] != null) {
                int i = index(oldKeys[k], mask);
                while (values[i] != null) {
                    i = (i + 1) & mask;
                }
                keys[i] = oldKeys[k];
                values[i] = oldValues[k];
            }
        }
    }

    private static int index(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;       // Fibonacci hashing: sequential ids spread over the table
        return (int) (h ^ (h >>> 32)) & mask;
    }
}
