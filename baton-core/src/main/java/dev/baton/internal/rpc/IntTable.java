package dev.baton.internal.rpc;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * A map from {@code int} to objects for tables read on every call and changed rarely (the peers by rank, the
 * local services by id): reads take no lock and box nothing (a {@code Map<Integer, V>} boxes every key above
 * 127 on every lookup), writes copy. Keys and values sit in two sorted arrays published together; a lookup is a
 * binary search.
 *
 * <p>Thread-safe: {@link #get} reads the current snapshot; changes are made under this object's monitor.
 */
final class IntTable<V> {

    private record Snapshot(int[] keys, Object[] values) {
    }

    private static final Snapshot EMPTY = new Snapshot(new int[0], new Object[0]);

    private volatile Snapshot snapshot = EMPTY;

    /** The value of {@code key}, or null. Lock-free and allocation-free. */
    @SuppressWarnings("unchecked")
    V get(int key) {
        Snapshot s = snapshot;
        int i = Arrays.binarySearch(s.keys, key);
        return i >= 0 ? (V) s.values[i] : null;
    }

    /** The value of {@code key}, made by {@code create} (under the monitor) if there is none. */
    synchronized V computeIfAbsent(int key, IntFunction<V> create) {
        V v = get(key);
        if (v == null) {
            v = create.apply(key);
            put(key, v);
        }
        return v;
    }

    /** Maps {@code key} to {@code value}, replacing any value it had. */
    synchronized void put(int key, V value) {
        Snapshot s = snapshot;
        int i = Arrays.binarySearch(s.keys, key);
        if (i >= 0) {
            Object[] values = s.values.clone();
            values[i] = value;
            snapshot = new Snapshot(s.keys, values);
            return;
        }
        int at = -i - 1;
        int n = s.keys.length;
        int[] keys = new int[n + 1];
        Object[] values = new Object[n + 1];
        System.arraycopy(s.keys, 0, keys, 0, at);
        System.arraycopy(s.values, 0, values, 0, at);
        keys[at] = key;
        values[at] = value;
        System.arraycopy(s.keys, at, keys, at + 1, n - at);
        System.arraycopy(s.values, at, values, at + 1, n - at);
        snapshot = new Snapshot(keys, values);
    }

    /** Removes {@code key}; returns its value, or null. */
    synchronized V remove(int key) {
        V v = get(key);
        if (v != null) {
            removeAt(Arrays.binarySearch(snapshot.keys, key));
        }
        return v;
    }

    /** Removes {@code key} only while it maps to {@code value} (by identity); true when it did. */
    synchronized boolean remove(int key, V value) {
        if (get(key) != value || value == null) {
            return false;
        }
        removeAt(Arrays.binarySearch(snapshot.keys, key));
        return true;
    }

    private void removeAt(int i) {
        Snapshot s = snapshot;
        int n = s.keys.length;
        int[] keys = new int[n - 1];
        Object[] values = new Object[n - 1];
        System.arraycopy(s.keys, 0, keys, 0, i);
        System.arraycopy(s.values, 0, values, 0, i);
        System.arraycopy(s.keys, i + 1, keys, i, n - i - 1);
        System.arraycopy(s.values, i + 1, values, i, n - i - 1);
        snapshot = new Snapshot(keys, values);
    }

    /** The values now, in key order. */
    @SuppressWarnings("unchecked")
    List<V> values() {
        List<V> out = new ArrayList<>();
        for (Object v : snapshot.values) {
            out.add((V) v);
        }
        return out;
    }

    synchronized void clear() {
        snapshot = EMPTY;
    }
}
